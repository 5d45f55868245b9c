/* SPDX-License-Identifier: ISC */
/*
 * admin_cmd: the admin CLI groups (users, preauthkeys, nodes, apikeys),
 * each command one REST call to the server named by --config.
 */
#ifndef WEFT_SERVER_ADMIN_CMD_H
#define WEFT_SERVER_ADMIN_CMD_H

#include <stdbool.h>
#include <stdio.h>

bool admin_cmd_is_group(const char *name);
/* The groups' one-line summaries for `weft-server --help`. */
void admin_cmd_usage(FILE *fp);
/* argv[0] is the group; config_path from the global --config (or NULL). Returns the exit code. */
int admin_cmd_main(const char *config_path, int argc, char **argv);

#endif
