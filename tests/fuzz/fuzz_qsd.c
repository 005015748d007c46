/* SPDX-License-Identifier: Apache-2.0 */
/*
 * io/softcard/qsd.c's calls (the softcard's monitor of qemu-storage-daemon: zero_qmp_call() on
 * an io/qmp.c connection), reading what the daemon would send: the input is written into the
 * other end of a socketpair and the socket shut down; qsd_open_monitor() takes the greeting and
 * negotiates capabilities (zero-1), then the client makes the calls softcard makes (zero-2 ...)
 * until one fails. Events and replies to other ids are dropped by the client, as with the
 * daemon; a timeout makes the next calls short (the daemon counts as stalled).
 */
#include <sys/socket.h>
#include <unistd.h>

#include "common/util.h"
#include "io/softcard/storage.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char *const calls[] = {"query-block-exports", "query-named-block-nodes", "block-export-del",
                                            "query-block-exports"};
        _cleanup_(qsd_closep) struct qsd *q = NULL;
        struct zero_error err = {};
        int sv[2];

        (void) fuzz_scratch_dir(); /* logs off */
        FUZZ_ASSERT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) >= 0, "socketpair");
        /* max_len keeps the input within the socket's buffer: written before anybody reads. */
        FUZZ_ASSERT(zero_write_all(sv[1], data, size) >= 0, "write");
        (void) shutdown(sv[1], SHUT_WR);
        if (qsd_open_monitor(sv[0], &q, &err) >= 0)
                for (size_t i = 0; i < ELEMENTSOF(calls); i++) {
                        json_t *ret = NULL;
                        json_t *args = i == 2 ? json_pack("{s:s}", "id", "e0123456789abcdef") : NULL;
                        int r = qsd_call(q, calls[i], args, &ret, &err);

                        FUZZ_ASSERT(r >= 0 || err.message[0], "%s failed (%d) without a reason", calls[i], r);
                        json_decref(ret);
                        if (r < 0)
                                break;
                }
        close(sv[1]);
        return 0;
}
