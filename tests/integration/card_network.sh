#!/usr/bin/env bash
# Two containers on one card network reach each other by IP, and each keeps its MAC and IP across
# stop/start. zerod runs in a network namespace of the test's own: bridges and veths never touch
# the host's interfaces.
. "$(dirname "$0")/lib.sh"

use_netns
start_zerod
make_image busybox

expect 201 POST /v1/networks '{"name":"net1","subnet":"10.77.0.0/24"}'
[ "$(jbody .gateway)" = 10.77.0.1 ] || fail "gateway $(jbody .gateway), expected 10.77.0.1"
bridge=$(jbody .bridge)
in_ns ip -4 -o addr show dev "$bridge" | grep -q '10.77.0.1/24' || fail "bridge $bridge lacks 10.77.0.1/24"
expect 409 POST /v1/networks '{"name":"net2","subnet":"10.77.0.128/25"}'
expect 422 POST /v1/networks '{"name":"net2","subnet":"10.77.0.5/24"}'
log "network net1 is bridge $bridge with 10.77.0.1/24"

# Issue 10, row 12. Blocks no network may use are 422; a subnet that an address or a route of
# zerod's namespace already covers is 409 naming it. Neither changes the node: no network row,
# no bridge, no route more.
for s in 0.0.0.0/8 127.0.0.0/8 169.254.0.0/16 224.0.0.0/8 239.1.0.0/16 240.0.0.0/8 255.255.255.0/24; do
  expect 422 POST /v1/networks "{\"name\":\"bad\",\"subnet\":\"$s\"}"
  [[ "$(jbody .error.code)/$(jbody .error.message)" == "invalid/subnet: $s overlaps "*", which no network may use" ]] ||
    fail "$s: $(cat "$BODY")"
done
log "reserved: $(jbody .error.message)"
in_ns ip link add lab0 type veth peer name lab1
in_ns ip link set lab0 up
in_ns ip link set lab1 up
in_ns ip addr add 10.88.1.1/24 dev lab0
in_ns ip route add 10.89.0.0/16 via 10.88.1.254 dev lab0
in_ns ip route add blackhole 10.90.0.0/16
node_net() { # what a refused network must not change
  curl -sf --unix-socket "$SOCK" http://zero/v1/networks | jq -c '[.networks[].name]'
  in_ns ip -o link show | awk '{print $2}' | sort
  in_ns ip -4 route show table main
}
before=$(node_net)
overlap() { # overlap SUBNET MESSAGE
  expect 409 POST /v1/networks "{\"name\":\"over\",\"subnet\":\"$1\"}"
  [ "$(jbody .error.code)" = conflict ] && [ "$(jbody .error.message)" = "subnet $1 overlaps $2 in the card's network namespace" ] ||
    fail "$1: $(cat "$BODY")"
  log "$1: $(jbody .error.message)"
}
overlap 10.88.0.0/16 "the address 10.88.1.1/24 on lab0"
overlap 10.88.1.128/25 "the address 10.88.1.1/24 on lab0"
overlap 10.89.5.0/24 "the route to 10.89.0.0/16 via 10.88.1.254 dev lab0"
overlap 10.90.0.0/24 "the route to 10.90.0.0/16"
[ "$(node_net)" = "$before" ] || fail "a refused network changed the node: $(diff <(echo "$before") <(node_net))"
in_ns ip link del lab0
in_ns ip route del blackhole 10.90.0.0/16
expect 201 POST /v1/networks '{"name":"free","subnet":"10.88.0.0/16"}'
[ "$(in_ns ip -4 route show 10.88.0.0/16 | grep -c .)" = 1 ] || fail "10.88.0.0/16 has not one route: $(in_ns ip -4 route)"
expect 204 DELETE /v1/networks/free
log "a subnet freed again is taken, with one route"

# c2 listens; c1 pings c2 and talks to it over TCP. Each prints what its eth0 looks like inside.
show='echo "ETH0 $(cat /sys/class/net/eth0/address) $(ip -4 -o addr show eth0 | awk "{print \$4}")"'
c2cmd=$(jq -cn --arg c "$show; nc -ll -p 7000 -e /bin/cat & while true; do sleep 1; done" '["/bin/sh","-c",$c]')
c1cmd=$(jq -cn --arg c "$show; until ping -c1 -W1 10.77.0.50 >/dev/null; do sleep 0.2; done; echo PING-OK; echo hello-tcp | nc -w 2 10.77.0.50 7000; while true; do sleep 1; done" '["/bin/sh","-c",$c]')
expect 202 POST /v1/instances "{\"name\":\"c2\",\"image\":\"busybox\",\"command\":$c2cmd,\"nics\":[{\"network\":\"net1\",\"ip\":\"10.77.0.50\"}]}"
wait_op "$(jbody .id)"
expect 202 POST /v1/instances "{\"name\":\"c1\",\"image\":\"busybox\",\"command\":$c1cmd,\"nics\":[{\"network\":\"net1\"}]}"
wait_op "$(jbody .id)"
mac1=$(inst c1 'nics[0].mac'); ip1=$(inst c1 'nics[0].ip')
mac2=$(inst c2 'nics[0].mac'); ip2=$(inst c2 'nics[0].ip')
[ "$ip2" = 10.77.0.50 ] || fail "c2 got $ip2, asked for 10.77.0.50"
[ "$ip1" = 10.77.0.2 ] || fail "c1 got $ip1, expected the first free address 10.77.0.2"
[ "$mac1" != "$mac2" ] || fail "c1 and c2 share MAC $mac1"
wait_console c1 "ETH0 $mac1 $ip1/24"
wait_console c2 "ETH0 $mac2 $ip2/24"
wait_console c1 PING-OK
wait_console c1 hello-tcp
log "c1 ($ip1, $mac1) pings c2 ($ip2, $mac2) and gets its TCP echo"

# The same address twice is refused, and changes nothing.
expect 409 POST /v1/instances '{"name":"c3","image":"busybox","command":["true"],"nics":[{"network":"net1","ip":"10.77.0.50"}]}'
expect 404 GET /v1/instances/c3
expect 422 POST /v1/instances '{"name":"c3","image":"busybox","command":["true"],"nics":[{"network":"nope"}]}'
expect 422 POST /v1/instances '{"name":"c3","image":"busybox","command":["true"],"nics":[{"network":"net1","ip":"10.78.0.5"}]}'
expect 409 DELETE /v1/networks/net1
log "a taken address is 409, an unknown network or a foreign address 422, a used network cannot go"

act POST /v1/instances/c1/stop '{"timeout_s":0}'
[ -z "$(leftover_links | grep "zv-$(inst c1 'nics[0].id' | cut -c1-12)")" ] || fail "c1's veth is left after stop"
act POST /v1/instances/c1/start
[ "$(inst c1 'nics[0].mac')" = "$mac1" ] || fail "c1's MAC changed across stop/start"
[ "$(inst c1 'nics[0].ip')" = "$ip1" ] || fail "c1's IP changed across stop/start"
expect 200 GET /v1/instances/c1/console
[ "$(grep -c PING-OK "$BODY")" -ge 1 ] || fail "no ping before restart"
for _ in $(seq 1 100); do
  api GET /v1/instances/c1/console
  [ "$(grep -c PING-OK "$BODY")" -ge 2 ] && break
  sleep 0.1
done
[ "$(grep -c PING-OK "$BODY")" -ge 2 ] || fail "c1 does not reach c2 after stop/start"
[ "$(grep -c "ETH0 $mac1 $ip1/24" "$BODY")" -ge 2 ] || fail "c1's eth0 differs after stop/start"
log "c1 keeps MAC and IP across stop/start and reaches c2 again"

act DELETE "/v1/instances/c1?force=true"
act DELETE "/v1/instances/c2?force=true"
expect 204 DELETE /v1/networks/net1
in_ns ip link show "$bridge" >/dev/null 2>&1 && fail "bridge $bridge is left"
[ -z "$(leftover_links)" ] || fail "links left: $(leftover_links)"
[ -z "$(leftover_loops)" ] || fail "loop devices left: $(leftover_loops)"
[ -z "$(leftover_mounts)" ] || fail "mounts left: $(leftover_mounts)"
stop_zerod
log "nothing is left"
