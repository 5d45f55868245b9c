/* SPDX-License-Identifier: ISC */
/* ctrlclient: placeholder until lib/ctrl lands (see ctrlclient.h). */
#include <errno.h>

#include "weftd/ctrlclient.h"

int ctrlclient_new(struct event_base *base, const struct ctrlclient_config *cfg,
		   const struct ctrlclient_callbacks *cb, void *arg, struct ctrlclient **out)
{
	(void)base;
	(void)cfg;
	(void)cb;
	(void)arg;
	*out = NULL;
	return -ENOSYS;
}

void ctrlclient_free(struct ctrlclient *cc)
{
	(void)cc;
}

void ctrlclient_logout_and_free(struct ctrlclient *cc)
{
	(void)cc;
}
