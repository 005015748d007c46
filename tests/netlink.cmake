# io/softcard/netlink: rtnetlink against the real kernel, inside network namespaces that the test
# creates (it unshare()s its own first), never on the host's interfaces. Needs root.
# The guard keeps the build working until io/CMakeLists.txt adds the softcard directory.
if(TARGET zeronetlink)
  zero_unit_test(test_netlink SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_netlink.c
                 LIBS zeronetlink zerocommon)
endif()
