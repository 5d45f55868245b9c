/* SPDX-License-Identifier: ISC */
/*
 * fuzz_offload: arbitrary TUN reads (virtio header + packet) through the
 * split planner and splitter, and arbitrary packets through the GRO parser
 * and merger. A plan that is accepted must split within the room it promised.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/offload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define STRIDE 65600

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[8 * STRIDE], merged[70000];
	struct offload_vnet_hdr h;
	struct offload_tcp a, b;
	size_t n, seg, lens[8];
	const char *why;

	if (size < OFFLOAD_VNET_HDR_LEN || size > 65600)
		return 0;
	offload_vnet_hdr_decode(data, &h);
	if (offload_split_plan(&h, data + 10, size - 10, &n, &seg, &why) == 0 && n <= 8 &&
	    seg <= STRIDE) {
		offload_split(&h, data + 10, size - 10, out, STRIDE, lens);
		for (size_t i = 0; i < n; i++)
			if (lens[i] > seg)
				abort();
	}
	/* GRO: the packet after the header, against itself shifted by one segment. */
	if (offload_tcp_parse(data + 10, size - 10, &a) == 0 && size - 10 <= sizeof(merged)) {
		memcpy(merged, data + 10, size - 10);
		if (offload_tcp_parse(merged, size - 10, &b) == 0 &&
		    offload_tcp_follows(merged, &a, data + 10, &b, a.seq + a.payload, size - 10))
			offload_tcp_merge_finish(merged, &a, size - 10, a.payload, false, &h);
	}
	return 0;
}
