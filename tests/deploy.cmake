# deploy/: the systemd units pass `systemd-analyze verify` (Debian: systemd) and agree with the
# default configuration.
zero_integration_test(systemd_units ${CMAKE_CURRENT_SOURCE_DIR}/integration/systemd_units.sh TIMEOUT 60)
# ./deploy/quickstart configures once and builds only the node (issue 16), recorded, not run.
zero_integration_test(it_quickstart_steps ${CMAKE_CURRENT_SOURCE_DIR}/integration/quickstart_steps.sh TIMEOUT 60)
