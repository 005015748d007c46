#!/usr/bin/env bash
# A QoS limit of 200 IOPS on a volume, measured by fio inside a container, holds (at most 110 %
# of the limit); lifting it restores the speed. The limit is set and lifted while the volume is
# exported and in use: the card applies it live.
. "$(dirname "$0")/lib.sh"

command -v fio >/dev/null || fail "fio is not installed (deploy/check installs it)"
start_zerod

# An image with fio and the libraries it links.
"$ZERO_SOURCE_DIR/deploy/make-busybox-rootfs" "$T/rootfs-fio" >/dev/null
fio_bin=$(command -v fio)
mkdir -p "$T/rootfs-fio/usr/bin"
cp "$fio_bin" "$T/rootfs-fio/usr/bin/fio"
ldd "$fio_bin" | awk '/=>/ {print $3} $1 ~ /^\// {print $1}' | while read -r lib; do
  [ -f "$lib" ] || continue
  mkdir -p "$T/rootfs-fio$(dirname "$lib")"
  cp -L "$lib" "$T/rootfs-fio$lib"
done
act POST /v1/images "{\"name\":\"fio\",\"source\":\"$T/rootfs-fio\"}"
act POST /v1/volumes '{"name":"bench","size_bytes":268435456}'

# Lay out a file, then measure 4k random reads, queue depth 1, O_DIRECT, in 2 s runs, forever.
cmd='cd /data || exit 3; fio --name=lay --filename=f --size=64M --rw=write --bs=1M --direct=1 --output=/dev/null || exit 4; echo LAYOUT-DONE; i=0; while true; do i=$((i+1)); iops=$(fio --name=r --filename=f --size=64M --direct=1 --rw=randread --bs=4k --ioengine=psync --runtime=2 --time_based --minimal | awk -F";" "{print int(\$8)}"); echo "RUN $i IOPS $iops"; done'
expect 202 POST /v1/instances "{\"name\":\"f1\",\"image\":\"fio\",\"command\":[\"/bin/sh\",\"-c\",$(jq -Rn --arg c "$cmd" '$c')],\"volumes\":[{\"name\":\"bench\",\"path\":\"/data\"}]}"
wait_op "$(jbody .id)"
wait_console f1 LAYOUT-DONE

last_run() { api GET /v1/instances/f1/console; grep -o 'RUN [0-9]* IOPS [0-9]*' "$BODY" | tail -n1; }
# iops_after N: the IOPS of the second run that starts after now (the first may straddle a change).
iops_after() {
  local k want line
  k=$(last_run | awk '{print $2}'); k=${k:-0}
  want=$((k + 2))
  for _ in $(seq 1 200); do
    line=$(last_run)
    if [ -n "$line" ] && [ "$(echo "$line" | awk '{print $2}')" -ge "$want" ]; then
      grep -o "RUN $want IOPS [0-9]*" "$BODY" | awk '{print $4}'
      return 0
    fi
    sleep 0.1
  done
  fail "fio did not finish run $want: $(tail -c 400 "$BODY")"
}

free1=$(iops_after)
expect 200 PUT /v1/volumes/bench/qos '{"iops":200}'
[ "$(jbody .qos.iops)" = 200 ] || fail "qos not recorded: $(cat "$BODY")"
limited=$(iops_after)
expect 200 PUT /v1/volumes/bench/qos '{"iops":0}'
free2=$(iops_after)
log "4k random read IOPS: unlimited $free1, limited to 200: $limited, lifted: $free2"
[ "$limited" -le 220 ] || fail "with a 200 IOPS limit fio measured $limited (> 110 %)"
[ "$limited" -ge 100 ] || fail "with a 200 IOPS limit fio measured only $limited"
[ "$free2" -ge $((limited * 3)) ] || fail "lifting the limit did not restore the speed: $free2 vs $limited"
expect 422 PUT /v1/volumes/bench/qos '{"iops":-1}'
expect 422 PUT /v1/volumes/bench/qos '{}'
expect 404 PUT /v1/volumes/nope/qos '{"iops":5}'

act DELETE "/v1/instances/f1?force=true"
act DELETE /v1/volumes/bench
stop_zerod
[ -z "$(leftover_loops)" ] || fail "loop devices left: $(leftover_loops)"
[ -z "$(leftover_mounts)" ] || fail "mounts left: $(leftover_mounts)"
