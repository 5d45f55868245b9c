/* SPDX-License-Identifier: ISC */
/*
 * filter_naive: the packet filter's rule stated directly, as the reference
 * for lib/filter: a tuple is accepted when some rule lists a source spec
 * containing its source, a destination spec containing its destination with
 * the port in range (ICMP: any port; other port-less protocols: all ports),
 * and its protocol.
 */
#ifndef WEFT_REF_FILTER_NAIVE_H
#define WEFT_REF_FILTER_NAIVE_H

#include <jansson.h>
#include <stdbool.h>

#include "filter/filter.h"

/* `rules` must be a filter filter_new accepted. */
bool filter_naive_match(const json_t *rules, const struct filter_tuple *t);

#endif
