/* SPDX-License-Identifier: ISC */
/*
 * weft: the weft command-line client. It talks to weftd over the local API
 * on a unix socket, with Tailscale's subcommands and flags: the table of
 * subcommands and the global flags (--socket) live here, each subcommand
 * in its cmd_*.c.
 */
#include <stdio.h>
#include <string.h>

#include "weft/cli.h"
#include "weft/client.h"
#include "weft/localapi.h"
#include "weft_config.h"

static const struct cli_command cli_debug_cmds[] = {
	{ "prefs", "", "print the current profile's preferences as JSON",
	  "Prints the current profile's preferences (GET /localapi/v0/prefs) as JSON.",
	  cli_cmd_debug_prefs, NULL },
	{ "netmap", "", "print the network map weftd holds, as JSON",
	  "Prints the network map as the server sent it, with its deltas applied\n"
	  "(GET /localapi/v0/netmap); {} when weftd has none.",
	  cli_cmd_debug_netmap, NULL },
	{ "filter", "[--json]", "print the packet filter in force",
	  "Prints the packet filter weftd applies to everything arriving from the tunnel:\n"
	  "a summary, then one line per rule the server sent (accept PROTOCOLS from\n"
	  "SOURCES to DESTINATION:PORTS). Replies to this node's own flows pass besides.",
	  cli_cmd_debug_filter, NULL },
	{ "counters", "[--json]", "print weftd's data-plane counters",
	  "Prints every data-plane counter, one `name value' line each, sorted by name\n"
	  "(docs/weftd.md lists what they count).",
	  cli_cmd_debug_counters, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};

static const struct cli_command cli_dns_cmds[] = {
	{ "status", "[--json]", "show what MagicDNS and the host's DNS are doing",
	  "Shows whether the host uses the tailnet's resolver (--accept-dns) and how\n"
	  "(/etc/resolv.conf managed directly), and the server's DNS configuration as\n"
	  "it is in force: MagicDNS and its suffix, the resolvers for other names, the\n"
	  "split-DNS routes and the search domains (GET /localapi/v0/dns-status).",
	  cli_cmd_dns_status, NULL },
	{ "query", "[--json] NAME [TYPE]", "ask the tailnet's resolver (100.100.100.100)",
	  "Asks the resolver at 100.100.100.100 about NAME (TYPE A unless given: AAAA,\n"
	  "PTR, MX, TXT, ... or a number; an IP address asks for its PTR) and prints\n"
	  "where the name went (MagicDNS, split DNS or the resolvers), the response\n"
	  "code and the records. A short name like `node-b' is a tailnet host.",
	  cli_cmd_dns_query, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};

static const struct cli_command cli_cmds[] = {
	{ "up", "[flags]", "connect to the tailnet, logging in if needed",
	  "Connects this node to its tailnet: sends the settings to weftd, logs in to\n"
	  "the server (with --auth-key, or by printing the URL where an admin approves\n"
	  "the node) and waits until the node is Running.\n"
	  "\n"
	  "The flags are the complete set of settings wanted: a setting not mentioned\n"
	  "goes back to its default. So that this never happens by accident, `up'\n"
	  "refuses when a setting that is not at its default is left out, and shows\n"
	  "the command that keeps it; --reset allows it. A bare `weft up' keeps every\n"
	  "setting and just connects. Use `weft set' to change one setting.",
	  cli_cmd_up, NULL },
	{ "down", "", "disconnect from the tailnet, keeping the login",
	  "Disconnects from the tailnet (WantRunning off): the tunnel's peers, addresses\n"
	  "and routes go away; the login stays, so `weft up' reconnects without one.",
	  cli_cmd_down, NULL },
	{ "set", "[flags]", "change settings, leaving the others as they are",
	  "Changes the settings mentioned and only those (masked prefs), at once.", cli_cmd_set,
	  NULL },
	{ "login", "[flags]", "log in to a tailnet, as a new profile if this one is logged in",
	  "Logs in. If the current profile is logged in already, a new profile is made\n"
	  "for this login (see weft switch); otherwise the current one is used. Without\n"
	  "--login-server, the current profile's server is used.",
	  cli_cmd_login, NULL },
	{ "logout", "", "log out and disconnect",
	  "Disconnects and logs out: the server expires this node's key (an ephemeral\n"
	  "node is deleted). `weft up' logs in again.",
	  cli_cmd_logout, NULL },
	{ "switch", "[--list] | NAME|ID | remove NAME|ID", "list or change profiles",
	  "Profiles are separate logins, each with its own node key and settings; one\n"
	  "is current. `weft switch NAME' makes the profile with that ID, nickname or\n"
	  "account current; `--list' shows them; `remove' deletes one that is not\n"
	  "current.",
	  cli_cmd_switch, NULL },
	{ "ip", "[-1|-4|-6] [PEER]", "print this node's or a peer's tailnet addresses",
	  "Prints this node's tailnet addresses, IPv4 first, or those of PEER (a\n"
	  "MagicDNS name, host name or address).",
	  cli_cmd_ip, NULL },
	{ "status", "[flags]", "show the state of the node and its peers",
	  "Shows this node and its peers, one line each: tailnet IP, MagicDNS name, owner,\n"
	  "OS, and the connection: `-' (no traffic yet), `idle', `active; direct\n"
	  "IP:PORT' or `active; relay \"REGION\"', `offline, last seen 3h ago', with the\n"
	  "bytes sent and received. Exits 1 unless the node is Running or Starting.",
	  cli_cmd_status, NULL },
	{ "ping", "[flags] PEER", "ping a peer through the tunnel, showing the path",
	  "Pings PEER (a MagicDNS name, host name or tailnet address) through weftd once\n"
	  "a second and prints `pong from NAME (IP) via ADDR in 23ms' for each answer,\n"
	  "where ADDR is the direct path or DERP(REGION) for a relay. It stops once a\n"
	  "direct path answers (--until-direct) or after -c pings.",
	  cli_cmd_ping, NULL },
	{ "whois", "[flags] IP[:PORT]", "show the node and user owning a tailnet address",
	  "Shows which node has the tailnet address IP and which user owns it.", cli_cmd_whois,
	  NULL },
	{ "dns", "SUBCOMMAND", "show MagicDNS's state, ask the tailnet's resolver",
	  "MagicDNS: `status' shows what is in force, `query' asks 100.100.100.100.", NULL,
	  cli_dns_cmds },
	{ "netcheck", "[--format json]", "describe this node's network: UDP, NAT, relays",
	  "Prints weftd's last network report: whether UDP works, the public addresses\n"
	  "STUN saw, whether the NAT maps each destination to another port (a hard NAT),\n"
	  "the preferred (home) relay region and the latency to each region.",
	  cli_cmd_netcheck, NULL },
	{ "version", "[flags]", "print the version",
	  "Prints weft's version; --daemon adds the running weftd's.", cli_cmd_version, NULL },
	{ "debug", "SUBCOMMAND", "show weftd's internals",
	  "Shows weftd's internals, for debugging.", NULL, cli_debug_cmds },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};

static void cli_main_usage(FILE *fp)
{
	fprintf(fp,
		"USAGE\n"
		"  weft [--socket PATH] SUBCOMMAND [flags] [args]\n"
		"\n"
		"weft is the command-line client of weft, a self-hosted mesh VPN: it talks to the\n"
		"node daemon weftd over its local API. `weft SUBCOMMAND --help' explains each one.\n"
		"\n"
		"SUBCOMMANDS\n");
	for (const struct cli_command *c = cli_cmds; c->name != NULL; c++)
		fprintf(fp, "  %-9s %s\n", c->name, c->summary);
	fprintf(fp,
		"\n"
		"FLAGS\n"
		"  --socket PATH\n"
		"        weftd's local API socket (default %s)\n"
		"  --version, -V\n"
		"        print the version (as `weft version')\n"
		"\n"
		"Exit status: 0 success, 1 failure, 2 usage error. See weft(1) in docs/weft.md.\n",
		LOCALAPI_DEFAULT_SOCKET);
}

static const struct cli_command *cli_find(const struct cli_command *table, const char *name)
{
	for (const struct cli_command *c = table; c->name != NULL; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

/* `weft debug`: a command made of subcommands. */
static int cli_run_group(struct cli_ctx *ctx, const struct cli_command *cmd, int argc, char **argv)
{
	const struct cli_command *sub;
	struct cli_command named;
	char name[64];

	if (argc == 0 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0 ||
	    strcmp(argv[0], "-help") == 0) {
		if (argc == 0) {
			fprintf(ctx->err, "weft %s: want a subcommand (see weft %s --help)\n",
				cmd->name, cmd->name);
			return CLI_EXIT_USAGE;
		}
		cli_usage(ctx, cmd, NULL, 0);
		return CLI_EXIT_OK;
	}
	sub = cli_find(cmd->subs, argv[0]);
	if (sub == NULL)
		return cli_usage_error(ctx, cmd, "unknown subcommand `%.40s'", argv[0]);
	/* Messages and help name the pair: "weft debug prefs". */
	named = *sub;
	snprintf(name, sizeof(name), "%s %s", cmd->name, sub->name);
	named.name = name;
	return sub->run(ctx, &named, argc - 1, argv + 1);
}

int main(int argc, char **argv)
{
	struct cli_ctx ctx = { .socket = LOCALAPI_DEFAULT_SOCKET, .out = stdout, .err = stderr };
	bool version = false, version2 = false;
	const char *socket = NULL;
	struct cli_flag gflags[] = {
		{ .name = "socket", .kind = CLI_FLAG_STRING, .value = &socket, .arg = "PATH" },
		{ .name = "version", .kind = CLI_FLAG_BOOL, .value = &version },
		{ .name = "V", .kind = CLI_FLAG_BOOL, .value = &version2 },
	};
	const struct cli_command *cmd;
	char err[CLI_FLAGS_ERR_MAX];
	size_t used;
	int r, rc;

	r = cli_flags_parse_head(gflags, 3, argc - 1, argv + 1, &used, err, sizeof(err));
	if (r == CLI_FLAGS_HELP) {
		cli_main_usage(stdout);
		return CLI_EXIT_OK;
	}
	if (r != CLI_FLAGS_OK) {
		fprintf(stderr, "weft: %s (see weft --help)\n", err);
		return CLI_EXIT_USAGE;
	}
	if (socket != NULL) {
		if (socket[0] == '\0') {
			fprintf(stderr, "weft: --socket wants a path (see weft --help)\n");
			return CLI_EXIT_USAGE;
		}
		ctx.socket = socket;
	}
	argc -= 1 + (int)used;
	argv += 1 + used;
	if (version || version2) {
		printf("%s\n", WEFT_VERSION);
		return CLI_EXIT_OK;
	}
	if (argc == 0) {
		cli_main_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[0], "help") == 0) {
		if (argc == 1) {
			cli_main_usage(stdout);
			return CLI_EXIT_OK;
		}
		argv[0] = argv[1];
		argv[1] = (char *)"--help";
		argc = 2;
	}
	cmd = cli_find(cli_cmds, argv[0]);
	if (cmd == NULL) {
		fprintf(stderr, "weft: unknown subcommand `%.40s' (see weft --help)\n", argv[0]);
		return CLI_EXIT_USAGE;
	}
	if (cli_client_global_init() < 0) {
		fprintf(stderr, "weft: cannot initialise libcurl\n");
		return CLI_EXIT_FAIL;
	}
	if (cmd->subs != NULL)
		rc = cli_run_group(&ctx, cmd, argc - 1, argv + 1);
	else
		rc = cmd->run(&ctx, cmd, argc - 1, argv + 1);
	cli_client_free(ctx.client);
	cli_client_global_cleanup();
	if (fflush(stdout) != 0 && rc == CLI_EXIT_OK)
		rc = CLI_EXIT_FAIL;
	return rc;
}
