/* SPDX-License-Identifier: ISC */
/*
 * policy_cmd: `weft-server policy check|compile`, the offline face of the
 * policy engine: validate a policy file and run its tests, or compile it for
 * a topology given as JSON (the interface the conformance suite drives).
 */
#ifndef WEFT_SERVER_POLICY_CMD_H
#define WEFT_SERVER_POLICY_CMD_H

/* argv[0] is "policy", argv[1] the verb. Returns the exit status (0, 1 refused, 2 usage). */
int policy_cmd_main(int argc, char **argv);

#endif
