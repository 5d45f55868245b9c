/* SPDX-License-Identifier: ISC */
/*
 * db_pg_absent: stands in for db_pg.c in a build without libpq
 * (-Dpostgresql=disabled, or no libpq-dev), so that database.type: postgres
 * stops start-up with the fix instead of failing to link.
 */
#include <errno.h>
#include <stdio.h>

#include "weft-server/db_backend.h"

int db_pg_open(const struct srv_config *cfg, struct db **out, char *err, size_t errlen)
{
	(void)cfg;
	*out = NULL;
	snprintf(err, errlen,
		 "this weft-server was built without PostgreSQL support: install "
		 "libpq-dev and rebuild, or use database.type: sqlite");
	return -ENOTSUP;
}
