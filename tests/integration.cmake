# Integration tests: the real zerod, zero-shim, crun and container plugin, driven over HTTP.
set(ZERO_IT ${CMAKE_CURRENT_SOURCE_DIR}/integration)
zero_integration_test(it_container_lifecycle ${ZERO_IT}/container_lifecycle.sh TIMEOUT 180)
zero_integration_test(it_crash_recovery ${ZERO_IT}/crash_recovery.sh TIMEOUT 180)
zero_integration_test(it_bad_input ${ZERO_IT}/bad_input.sh TIMEOUT 180)
zero_integration_test(it_events_stream ${ZERO_IT}/events_stream.sh TIMEOUT 180)
zero_integration_test(it_systemd ${ZERO_IT}/systemd_integration.sh TIMEOUT 120)
zero_integration_test(it_install_layout ${ZERO_IT}/install_layout.sh TIMEOUT 120)
zero_integration_test(it_api_security ${ZERO_IT}/api_security.sh TIMEOUT 240)
