/* SPDX-License-Identifier: ISC */
/*
 * localapi: what the weft CLI and weftd agree on for the local API: the
 * default socket, the paths, and the names of the backend states. The JSON
 * shapes are in docs/LOCALAPI.md; they follow Tailscale's LocalAPI.
 */
#ifndef WEFT_LOCALAPI_H
#define WEFT_LOCALAPI_H

#define LOCALAPI_DEFAULT_SOCKET "/run/weft/weftd.sock"
#define LOCALAPI_DEFAULT_STATEDIR "/var/lib/weft"
#define LOCALAPI_DEFAULT_TUN "weft0"
#define LOCALAPI_DEFAULT_PORT 41641
#define LOCALAPI_DEFAULT_MTU 1280

#define LOCALAPI_PREFIX "/localapi/v0/"
#define LOCALAPI_STATUS LOCALAPI_PREFIX "status"
#define LOCALAPI_PREFS LOCALAPI_PREFIX "prefs"
#define LOCALAPI_START LOCALAPI_PREFIX "start"
#define LOCALAPI_LOGIN_INTERACTIVE LOCALAPI_PREFIX "login-interactive"
#define LOCALAPI_LOGOUT LOCALAPI_PREFIX "logout"
#define LOCALAPI_WATCH LOCALAPI_PREFIX "watch-ipn-bus"
#define LOCALAPI_WHOIS LOCALAPI_PREFIX "whois"
#define LOCALAPI_PING LOCALAPI_PREFIX "ping"
#define LOCALAPI_PROFILES LOCALAPI_PREFIX "profiles/"
#define LOCALAPI_NETMAP LOCALAPI_PREFIX "netmap"
#define LOCALAPI_COUNTERS LOCALAPI_PREFIX "counters"
#define LOCALAPI_DNS_STATUS LOCALAPI_PREFIX "dns-status"
#define LOCALAPI_DNS_QUERY LOCALAPI_PREFIX "dns-query"
#define LOCALAPI_NETCHECK LOCALAPI_PREFIX "netcheck"
#define LOCALAPI_FILTER LOCALAPI_PREFIX "filter"

/* BackendState values, as Tailscale names them. */
#define LOCALAPI_STATE_NOSTATE "NoState"
#define LOCALAPI_STATE_NEEDS_LOGIN "NeedsLogin"
#define LOCALAPI_STATE_NEEDS_MACHINE_AUTH "NeedsMachineAuth"
#define LOCALAPI_STATE_STOPPED "Stopped"
#define LOCALAPI_STATE_STARTING "Starting"
#define LOCALAPI_STATE_RUNNING "Running"

#endif
