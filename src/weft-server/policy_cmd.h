/* SPDX-License-Identifier: ISC */
/*
 * policy_cmd: `weft-server policy get|set|check|compile`. get and set talk
 * to the running server (its admin socket, or cli.address with an API key);
 * check asks the running server too, which runs the tests against the live
 * tailnet, or works offline (against --topology, or parse only); compile
 * prints what every node of a topology file receives (the interface the
 * conformance suite drives).
 */
#ifndef WEFT_SERVER_POLICY_CMD_H
#define WEFT_SERVER_POLICY_CMD_H

/*
 * argv[0] is "policy", argv[1] the verb; config_path is the global --config
 * (NULL: defaults). Returns the exit status (0, 1 refused, 2 usage).
 */
int policy_cmd_main(const char *config_path, int argc, char **argv);

#endif
