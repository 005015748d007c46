/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What zerod reads from zero-shim (shim/client.c): the sync report "ok PID" / "error MESSAGE"
 * (zero_shim_parse_sync(), as agent/instance.c reads the pipe: up to 1023 bytes), the reply to a
 * request (zero_shim_request_timeout() receiving the input as the shim's packet, then
 * zero_shim_parse_exited() as agent/instance.c does with a wait's reply), and the exit record
 * DIR/exit (zero_shim_read_exit()).
 */
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/util.h"
#include "shim/client.h"
#include "tests/fuzz/fuzz.h"

static void check_exit(int r, const struct zero_shim_exit *e) {
        if (r < 0)
                return;
        FUZZ_ASSERT(e->pid > 0 && e->code >= 0 && e->code <= 255 && e->signal >= 0 && e->signal <= 64,
                    "exit pid=%d code=%d signal=%d", (int) e->pid, e->code, e->signal);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static int exit_fd = -EBADF;
        const char *dir = fuzz_scratch_dir();
        struct zero_error err = {};
        struct zero_shim_exit e = {};
        _cleanup_free_ char *reply = NULL;
        char sink[512];
        pid_t pid = 0;
        int sv[2], r;

        r = zero_shim_parse_sync(fuzz_string(data, size < 1023 ? size : 1023), &pid, &err);
        FUZZ_ASSERT(r < 0 ? err.message[0] != '\0' : pid > 0, "sync r=%d pid=%d", r, (int) pid);

        FUZZ_ASSERT(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) >= 0, "socketpair");
        if (send(sv[1], data, size, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0 &&
            zero_shim_request_timeout(sv[0], "wait", 1000, &reply) >= 0) {
                r = zero_shim_parse_exited(reply, &e);
                check_exit(r, &e);
        }
        while (recv(sv[1], sink, sizeof(sink), MSG_DONTWAIT) >= 0)
                ; /* the request */
        close(sv[0]);
        close(sv[1]);

        if (exit_fd < 0) {
                _cleanup_free_ char *path = zero_strdup_printf("%s/exit", dir);
                exit_fd = path ? open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600) : -ENOMEM;
                FUZZ_ASSERT(exit_fd >= 0, "cannot make %s/exit", dir);
        }
        FUZZ_ASSERT(ftruncate(exit_fd, 0) >= 0 && pwrite(exit_fd, data, size, 0) == (ssize_t) size, "write exit");
        r = zero_shim_read_exit(dir, &e);
        check_exit(r, &e);
        return 0;
}
