#!/usr/bin/env bash
# t_netcfg.sh: weftd's rtnetlink layer (src/weftd/netcfg.c) on a veth interface in a
# namespace of its own: addresses and routes converge to exactly what is asked, in both
# directions, leaving the kernel's link-local address and foreign routes alone.
#
#   ns N: veth d0 <-> d1 (both ends in N)
source "$(dirname "$0")/lib.sh"
net_init netcfg
PROBE=$WEFT_BUILD/tests/tools/netcfg_probe
ns_add N
nsx N ip link add d0 type veth peer name d1 || fail "veth"
nsx N ip link set d1 up
nsx N ip route add 203.0.113.0/24 dev lo   # someone else's route: must survive

expect "link up, mtu 1280" nsx N "$PROBE" d0 link 1280 up
nsx N ip link show d0 | grep -q "mtu 1280" || fail "mtu not set"
nsx N ip link show d0 | grep -q "UP" || fail "link not up"

expect "add addresses" nsx N "$PROBE" d0 addrs 100.64.0.5/32 fd7a:115c:a1e0::5/128
out=$(nsx N "$PROBE" d0 list)
echo "$out" | grep -qx "addr 100.64.0.5/32" || fail "v4 address missing: $out"
echo "$out" | grep -qx "addr fd7a:115c:a1e0::5/128" || fail "v6 address missing: $out"
nsx N ip -6 addr show dev d0 | grep -q "fe80::" || skip "kernel gave no link-local address"

expect "replace one address" nsx N "$PROBE" d0 addrs 100.64.0.6/32 fd7a:115c:a1e0::5/128
out=$(nsx N "$PROBE" d0 list)
echo "$out" | grep -q "100.64.0.5" && fail "old address kept: $out"
echo "$out" | grep -qx "addr 100.64.0.6/32" || fail "new address missing: $out"
nsx N ip -6 addr show dev d0 | grep -q "fe80::" || fail "link-local address removed"

expect "routes" nsx N "$PROBE" d0 routes 100.64.0.0/10 fd7a:115c:a1e0::/48 10.1.0.0/24
out=$(nsx N ip route show dev d0)
echo "$out" | grep -q "^100.64.0.0/10" || fail "route missing: $out"
echo "$out" | grep -q "^10.1.0.0/24" || fail "route missing: $out"
nsx N ip -6 route show dev d0 | grep -q "^fd7a:115c:a1e0::/48" || fail "v6 route missing"

expect "drop a route" nsx N "$PROBE" d0 routes 100.64.0.0/10 fd7a:115c:a1e0::/48
nsx N ip route show dev d0 | grep -q "10.1.0.0/24" && fail "route not removed"
nsx N ip route show | grep -q "203.0.113.0/24" || fail "foreign route removed"

expect "idempotent" nsx N "$PROBE" d0 routes 100.64.0.0/10 fd7a:115c:a1e0::/48
expect "clear" nsx N "$PROBE" d0 addrs
nsx N "$PROBE" d0 list | grep -q "^addr" && fail "addresses not cleared"
pass
