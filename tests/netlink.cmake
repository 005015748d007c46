# io/netlink: rtnetlink against the real kernel, inside network namespaces that the test creates
# (it unshare()s its own first), never on the host's interfaces. Needs root.
zero_unit_test(test_netlink SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_netlink.c LIBS zeronetlink zerocommon)

# io/softcard/net.c (networks, NICs, their sync) on top of zeronetlink, in namespaces of the
# test's own like test_netlink. net.c is compiled in directly, without the rest of the driver.
zero_unit_test(test_softcard_net SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_softcard_net.c
               ${CMAKE_SOURCE_DIR}/io/softcard/net.c LIBS zeronetlink zerocommon)
