# Tests of plugins/container.
zero_unit_test(test_oci SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_oci.c
               LIBS zerooci zerocommon PkgConfig::JANSSON)
zero_unit_test(test_seccomp SKIPS SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_seccomp.c
               LIBS zerooci zerocommon PkgConfig::JANSSON)

# The card under containers (volumes, networks, crash recovery); each makes its own network
# namespace where it needs one.
zero_integration_test(it_card_volumes ${CMAKE_CURRENT_SOURCE_DIR}/integration/card_volumes.sh)
zero_integration_test(it_card_network ${CMAKE_CURRENT_SOURCE_DIR}/integration/card_network.sh)
zero_integration_test(it_card_crash ${CMAKE_CURRENT_SOURCE_DIR}/integration/card_crash.sh)
zero_integration_test(it_card_qos ${CMAKE_CURRENT_SOURCE_DIR}/integration/card_qos.sh)

# Docker's isolation defaults inside a real container: seccomp, masked paths, no user
# namespaces, the pids limit as the node reports it, and the userns option.
zero_integration_test(it_container_isolation ${CMAKE_CURRENT_SOURCE_DIR}/integration/container_isolation.sh TIMEOUT 180)
