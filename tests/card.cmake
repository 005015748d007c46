# zero-card, the lab's card, without its host: its API on its two sockets against its real engine
# (softcard.so, qemu-storage-daemon, bridges and taps in the test's namespace), a kill -9 survived.
# In both builds (the lab's tests, which boot the host, only in the plain one).
zero_integration_test(it_card_daemon ${CMAKE_CURRENT_SOURCE_DIR}/integration/card_daemon.sh TIMEOUT 300)
