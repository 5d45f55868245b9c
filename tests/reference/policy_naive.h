/* SPDX-License-Identifier: ISC */
/*
 * policy_naive: the obvious reading of a policy's acls and grants, straight
 * from the model, as the reference policy_compile is diffed against: may node
 * s open a flow to node d on this port and protocol? No reduction, no merging.
 */
#ifndef WEFT_REF_POLICY_NAIVE_H
#define WEFT_REF_POLICY_NAIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"

/* From address sa of node s to address da of node d. */
bool policy_naive_allows(const struct policy *p, const struct policy_topology *t, size_t s,
			 const struct netaddr *sa, size_t d, const struct netaddr *da,
			 uint16_t port, uint8_t proto);

#endif
