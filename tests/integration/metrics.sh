#!/usr/bin/env bash
# GET /metrics as Prometheus meets it (issue 16, item 4): the text format passes
# `promtool check metrics`, holds what the node has (instances by mode and state, operations by
# kind and result, requests by route, the card's volumes, zerod's process), is refused without a
# token and served to a read token; then a real Prometheus (Debian's package, started here with a
# scrape configuration of its own) scrapes zerod over TLS with that token, and a PromQL query
# through its HTTP API answers the count of running instances, before and after a stop.
# Everything runs in the test's network namespace (its loopback: zerod on 8443, Prometheus on
# 9090), Prometheus' storage in the test's directory; both go with it.
. "$(dirname "$0")/lib.sh"

for tool in promtool prometheus; do
  if ! command -v "$tool" >/dev/null; then
    echo "SKIP: $tool is missing (Debian: apt-get install prometheus)"
    exit 77
  fi
done

PORT=8443
PROM_PORT=9090
start_zerod --listen "tcp:127.0.0.1:$PORT"
# A read token, in a file for Prometheus' credentials_file (as the README shows).
"$ZEROD" token create prometheus --role read --state-dir "$T/state" >"$T/prom.secret" 2>"$T/token.err" ||
  fail "zerod token create: $(cat "$T/token.err")"
grep -q '^zero_' "$T/prom.secret" || fail "zerod token create printed no secret: $(cat "$T/token.err")"
CA=$T/state/tls/server.crt

make_image busybox
for n in m1 m2 m3; do
  act POST /v1/instances "{\"name\":\"$n\",\"image\":\"busybox\",\"memory_mib\":16,\"command\":[\"/bin/sleep\",\"600\"]}"
done
act POST /v1/instances/m3/stop '{"timeout_s":0}'
# A QoS limit on m1's root volume (the card's QoS, issue 16 item 4), none on m2's.
vol1=$(inst m1 root_volume)
expect 200 PUT "/v1/volumes/$vol1/qos" '{"iops":500}'
expect 404 GET /v1/instances/nothere

# scrape [TOKEN]: GET /metrics over TLS as Prometheus makes it; the body in $SCRAPE.
SCRAPE=$T/metrics.txt
scrape() {
  STATUS=$(in_ns curl -sS -o "$SCRAPE" -w '%{http_code}' --cacert "$CA" ${1:+-H "Authorization: Bearer $1"} \
    "https://127.0.0.1:$PORT/metrics") || fail "curl /metrics failed"
}
scrape
[ "$STATUS" = 401 ] || fail "GET /metrics without a token: $STATUS, expected 401"
# Each scrape reads the card's counters of as many volumes as fit in 5 ms (on a loaded machine one
# or two): a few scrapes until both running containers' root volumes have theirs.
for _ in $(seq 1 20); do
  scrape "$(cat "$T/prom.secret")"
  [ "$STATUS" = 200 ] || fail "GET /metrics with a read token: $STATUS: $(head -c 300 "$SCRAPE")"
  [ "$(grep -c '^zero_card_volume_read_bytes_total{volume="m[12]-root"' "$SCRAPE")" = 2 ] && break
done

# promtool reads it as Prometheus does, and lints it (names, units, HELP and TYPE).
promtool check metrics <"$SCRAPE" >"$T/promtool.out" 2>&1 || fail "promtool check metrics: $(cat "$T/promtool.out")"
log "promtool check metrics: passed ($(grep -c -v '^#' "$SCRAPE") samples); its output: '$(cat "$T/promtool.out")'"

# metric SELECTOR: the value of the one sample whose line starts with SELECTOR and a space.
metric() { awk -v s="$1" 'index($0, s " ") == 1 { print $2; n++ } END { exit n == 1 ? 0 : 1 }' "$SCRAPE" ||
  fail "not one sample '$1' in /metrics: $(grep -F "${1%%\{*}" "$SCRAPE" | head -5)"; }
want() { # want SELECTOR VALUE
  local v
  v=$(metric "$1")
  [ "$v" = "$2" ] || fail "$1 is $v, expected $2"
}
want 'zero_instances{mode="container",state="running"}' 2
want 'zero_instances{mode="container",state="stopped"}' 1
want 'zero_instances{mode="vm",state="running"}' 0
want 'zero_operation_duration_seconds_count{kind="create",result="succeeded"}' 3
want 'zero_operation_duration_seconds_bucket{kind="create",result="succeeded",le="+Inf"}' 3
want 'zero_operation_duration_seconds_count{kind="stop",result="succeeded"}' 1
want 'zero_http_requests_total{method="POST",route="/v1/instances",code="202"}' 3
want 'zero_http_requests_total{method="GET",route="/v1/instances/{}",code="404"}' 1
want 'zero_http_requests_total{method="any",route="unmatched",code="401"}' 1
! grep -q nothere "$SCRAPE" || fail "a raw URL became a label: $(grep nothere "$SCRAPE")"
want 'zero_shims_connected' 2
grep -q '^zero_plugin_available{mode="container",runtime="[^"]*"} 1$' "$SCRAPE" ||
  fail "the container plugin is not available: $(grep zero_plugin_available "$SCRAPE")"
want 'zero_card_info{driver="softcard"}' 1
awk 'BEGIN { n = 0 } /^zero_card_volume_stats_oldest_seconds / { n++; if ($2 >= 0 && $2 < 60) ok++ } END { exit !(n == 1 && ok == 1) }' \
  "$SCRAPE" || fail "zero_card_volume_stats_oldest_seconds: $(grep stats_oldest "$SCRAPE")"
want 'zero_card_volume_stats_errors_total' 0
# The running containers' root volumes were read from their block devices (their rootfs).
for n in m1 m2; do
  vol=$(inst "$n" root_volume)
  [ "$(metric "zero_card_volume_read_bytes_total{volume=\"$vol\",instance=\"$n\"}")" -gt 0 ] ||
    fail "the card counted no bytes read from $n's root volume $vol"
done
want "zero_card_volume_qos_iops_limit{volume=\"$vol1\",instance=\"m1\"}" 500
want "zero_card_volume_qos_iops_limit{volume=\"$(inst m2 root_volume)\",instance=\"m2\"}" 0
# The requests' latency histogram: the three creates' POSTs, each in the +Inf bucket.
want 'zero_http_request_duration_seconds_count{method="POST",route="/v1/instances"}' 3
want 'zero_http_request_duration_seconds_bucket{method="POST",route="/v1/instances",le="+Inf"}' 3
[ "$(metric process_open_fds)" -gt 3 ] || fail "process_open_fds: $(metric process_open_fds)"
rss=$(metric process_resident_memory_bytes)
[ "$rss" -eq "$(($(awk '/^VmRSS/ {print $2}' "/proc/$ZEROD_PID/status") * 1024))" ] ||
  [ "$rss" -gt 1000000 ] || fail "process_resident_memory_bytes: $rss"
start=$(metric process_start_time_seconds)
now=$(date +%s)
awk -v s="$start" -v n="$now" 'BEGIN { exit !(s > n - 600 && s <= n + 1) }' ||
  fail "process_start_time_seconds $start is not within the last 10 minutes (now $now)"
log "the samples hold what the node has"

# --- a real Prometheus scrapes zerod, and answers a query
mkdir -p "$T/prom"
cat >"$T/prom/prometheus.yml" <<CONF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: zerod
    scheme: https
    authorization:
      credentials_file: $T/prom.secret
    tls_config:
      ca_file: $CA
    static_configs:
      - targets: ['127.0.0.1:$PORT']
CONF
promtool check config "$T/prom/prometheus.yml" >"$T/promtool.out" 2>&1 ||
  fail "promtool check config: $(cat "$T/promtool.out")"
# nsenter execs prometheus: $! is its pid, which the kill below ends and the wait reaps.
nsenter --net="/run/netns/$NETNS" prometheus --config.file="$T/prom/prometheus.yml" --storage.tsdb.path="$T/prom/data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn >"$T/prometheus.log" 2>&1 &
PROM_PID=$!

# promql QUERY: the value of the query's first sample ("" while there is none).
promql() {
  in_ns curl -sS -G "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1" 2>/dev/null |
    jq -r '.data.result[0].value[1] // ""' 2>/dev/null || true
}
# wait_promql QUERY VALUE: until Prometheus answers VALUE (20 s at most).
wait_promql() {
  local v=
  for _ in $(seq 1 100); do
    v=$(promql "$1")
    [ "$v" = "$2" ] && return 0
    kill -0 "$PROM_PID" 2>/dev/null || fail "prometheus exited: $(tail -5 "$T/prometheus.log")"
    sleep 0.2
  done
  fail "Prometheus answers '$v' to $1, expected $2; targets: $(in_ns curl -sS "http://127.0.0.1:$PROM_PORT/api/v1/targets" |
    jq -c '.data.activeTargets[] | {health, lastError}')"
}
wait_promql 'up{job="zerod"}' 1
wait_promql 'sum(zero_instances{state="running"})' 2
log "Prometheus scraped zerod: 2 instances running"
act POST /v1/instances/m2/stop '{"timeout_s":0}'
wait_promql 'sum(zero_instances{state="running"})' 1
wait_promql 'zero_operation_duration_seconds_count{kind="stop",result="succeeded"}' 2
log "Prometheus saw the stop: 1 instance running, 2 stops"
kill "$PROM_PID"
wait "$PROM_PID" 2>/dev/null || true

# zeroctl's habits against the real zerod (issue 16): global options after the verb, list, and
# rm --force, which does not wait out the grace period of a sleep that ignores SIGTERM (pid 1).
: "${ZEROCTL:?ZEROCTL must point at the zeroctl binary (set by ctest)}"
[ "$("$ZEROCTL" list --json --url "unix:$SOCK" | jq '.instances | length')" = 3 ] || fail "zeroctl list --json"
began=$(date +%s%N)
for n in m1 m2 m3; do
  "$ZEROCTL" rm --force "$n" --url "unix:$SOCK" >"$T/zeroctl.out" 2>&1 || fail "zeroctl rm --force $n: $(cat "$T/zeroctl.out")"
done
took=$((($(date +%s%N) - began) / 1000000))
[ "$took" -lt 9000 ] || fail "zeroctl rm --force of m1 (running) took $took ms: the grace period"
expect 200 GET /v1/instances
[ "$(jbody '.instances | length')" = 0 ] || fail "instances left: $(cat "$BODY")"
log "zeroctl list --json, rm --force: $took ms for three"
stop_zerod
assert_nothing_left
echo "PASS: metrics"
