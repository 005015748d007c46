# io/netlink: rtnetlink against the real kernel, inside network namespaces that the test creates
# (it unshare()s its own first), never on the host's interfaces. Needs root.
zero_unit_test(test_netlink SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_netlink.c LIBS zeronetlink zerocommon)

# io/softcard/net.c (networks, NICs, their sync) and ifname.c (their links' names) on top of
# zeronetlink, in namespaces of the test's own like test_netlink; compiled in directly, without
# the rest of the driver.
zero_unit_test(test_softcard_net SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_softcard_net.c
               ${CMAKE_SOURCE_DIR}/io/softcard/net.c ${CMAKE_SOURCE_DIR}/io/softcard/ifname.c
               LIBS zeronetlink zerocommon)
