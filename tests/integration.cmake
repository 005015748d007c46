# Integration tests: the real zerod, zero-shim, crun and container plugin, driven over HTTP.
set(ZERO_IT ${CMAKE_CURRENT_SOURCE_DIR}/integration)
zero_integration_test(it_container_lifecycle ${ZERO_IT}/container_lifecycle.sh TIMEOUT 180)
zero_integration_test(it_crash_recovery ${ZERO_IT}/crash_recovery.sh TIMEOUT 180)
zero_integration_test(it_bad_input ${ZERO_IT}/bad_input.sh TIMEOUT 180)
# ETags and 304 on every GET, pages and filters of the lists, across a restart (issue 12).
zero_integration_test(it_api_reads ${ZERO_IT}/api_reads.sh TIMEOUT 240)
# An operation's 202 waits for its row's sync, and only it; the sync child stopped, then killed.
zero_integration_test(it_durable_reply ${ZERO_IT}/durable_reply.sh TIMEOUT 120)
# A console followed: every byte once across the log's rotations, across a stop and a start, and
# the stream's end with the instance (issue 16 item 3).
zero_integration_test(it_console_follow ${ZERO_IT}/console_follow.sh TIMEOUT 240)
# zeroctl exec: a command in a running container, its streams and exit code over an upgraded
# connection (unix socket and TLS), a killed client kills it, the refusals (issue 16 item 2).
zero_integration_test(it_exec ${ZERO_IT}/exec.sh TIMEOUT 240)
# zerod --stop-card: refused under a running zerod or instance; else nothing of the node is left,
# and the next zerod starts the card again (issue 16 item 5).
zero_integration_test(it_stop_card ${ZERO_IT}/stop_card.sh TIMEOUT 180)
zero_integration_test(it_events_stream ${ZERO_IT}/events_stream.sh TIMEOUT 180)
zero_integration_test(it_systemd ${ZERO_IT}/systemd_integration.sh TIMEOUT 120)
zero_integration_test(it_install_layout ${ZERO_IT}/install_layout.sh TIMEOUT 120)
zero_integration_test(it_api_security ${ZERO_IT}/api_security.sh TIMEOUT 240)
zero_integration_test(it_service_hardening ${ZERO_IT}/service_hardening.sh TIMEOUT 400)
# An idle zerod: no wakeup and no timer armed after its start, requests and operations; its trim
# ran; libcurl, OpenSSL and the lab's card driver not loaded (issue 12).
zero_integration_test(it_idle ${ZERO_IT}/idle.sh TIMEOUT 180)
# One zerod per state and run directory: a second one exits at once and touches nothing.
zero_integration_test(it_single_owner ${ZERO_IT}/single_owner.sh TIMEOUT 180)
# Volume create and delete as operations off the loop: a large volume made and deleted while
# GET /v1/node keeps answering; the pool's size limit is a 422; crashes in the middle finish.
zero_integration_test(it_card_volume_ops ${ZERO_IT}/card_volume_ops.sh TIMEOUT 600)
# A runtime command that hangs (crun run, the shim's crun delete) blocks nothing: GET /v1/node
# answers within 50 ms while create, stop and delete wait; each ends once the hang is released.
zero_integration_test(it_shim_responsive ${ZERO_IT}/shim_responsive.sh TIMEOUT 300)
# A stopped qemu-storage-daemon blocks nothing: GET /v1/node and /v1/instances answer within
# 50 ms while a resize (the first change after the stop), volume GETs, a QoS change, a
# container's stop and another's start and a hot-plug into a VM need the daemon, each ending with
# timeout/unavailable (or after SIGCONT); after SIGCONT all works again. It holds only with the
# softcard's storage ops on the loop (card ABI 4 and the softcard's asynchronous QMP).
zero_integration_test(it_card_stalled ${ZERO_IT}/card_stalled.sh TIMEOUT 300)
# The bms plugin on the softcard: loaded, listed unavailable with its probe's reason, a bms
# instance (create, switch) refused with 422 and that reason.
zero_integration_test(it_bms_softcard ${ZERO_IT}/bms_softcard.sh TIMEOUT 180)
# GET /metrics: promtool check metrics, the samples, and a real Prometheus scraping it (issue 16).
zero_integration_test(it_metrics ${ZERO_IT}/metrics.sh TIMEOUT 240 SKIPS)
