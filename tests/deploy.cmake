# deploy/: the systemd units pass `systemd-analyze verify` (Debian: systemd) and agree with the
# default configuration.
zero_integration_test(systemd_units ${CMAKE_CURRENT_SOURCE_DIR}/integration/systemd_units.sh TIMEOUT 60)
