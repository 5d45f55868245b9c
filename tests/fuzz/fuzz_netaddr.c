/* SPDX-License-Identifier: ISC */
/* fuzz_netaddr: address, prefix and endpoint parsers on arbitrary strings; round trips must agree. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/netaddr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[128], buf[NETENDPOINT_STRLEN];
	struct netaddr a, b;
	struct netprefix p, q;
	struct netendpoint e, f;

	if (size >= sizeof(s))
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (netaddr_parse(s, &a) == 0) {
		netaddr_format(&a, buf, sizeof(buf));
		if (netaddr_parse(buf, &b) != 0 || !netaddr_eq(&a, &b))
			abort();
	}
	if (netprefix_parse_loose(s, &p) == 0) {
		netprefix_format(&p, buf, sizeof(buf));
		if (netprefix_parse(buf, &q) != 0 || !netprefix_eq(&p, &q))
			abort();
		if (!netprefix_contains(&p, &p.addr))
			abort();
	}
	if (netendpoint_parse(s, &e) == 0) {
		netendpoint_format(&e, buf, sizeof(buf));
		if (netendpoint_parse(buf, &f) != 0 || !netendpoint_eq(&e, &f))
			abort();
	}
	return 0;
}
