/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zero-shim's control socket (shim/control.c), reading a client's request: the input is one
 * SOCK_SEQPACKET packet from a client, served by control_dispatch() after poll() as the shim's
 * loop does. Each input is served twice: by a shim whose instance runs, and by one whose instance
 * has exited (exit record written). The running instance is a zombie child of the fuzzer, so
 * "signal N" reaches nothing; "console N" reads a console log with a rotated part.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/util.h"
#include "shim/shim.h"
#include "tests/fuzz/fuzz.h"

static struct shim shim;

static void setup(void) {
        const char *dir = fuzz_scratch_dir();
        char line[128];
        pid_t pid;

        shim.id = "fuzz";
        shim.dir = dir;
        shim.dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        FUZZ_ASSERT(shim.dir_fd >= 0, "open %s", dir);
        FUZZ_ASSERT(console_open(&shim.console, shim.dir_fd, 4096) >= 0, "console_open");
        /* Past the cap: console.log.1 and console.log both hold a part. */
        for (int i = 0; i < 100; i++) {
                int n = snprintf(line, sizeof(line), "line %d of the instance's console\n", i);
                console_write(&shim.console, line, (size_t) n);
        }
        shim.control.listen_fd = -EBADF;
        pid = fork();
        FUZZ_ASSERT(pid >= 0, "fork");
        if (pid == 0)
                _exit(0);
        shim.main_pid = pid; /* never reaped: a zombie, which signals cannot harm */
        shim.exit = (struct zero_shim_exit){.pid = pid, .code = 137, .signal = 9, .time = 1764600000000000};
}

static void serve(const uint8_t *data, size_t size, bool exited) {
        struct pollfd p[1 + SHIM_CLIENTS_MAX];
        char reply[ZERO_SHIM_MSG_MAX + 1];
        size_t n;
        int sv[2];

        shim.exited = shim.exit_recorded = exited;
        FUZZ_ASSERT(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) >= 0, "socketpair");
        shim.control.clients[0] = (struct client){.fd = sv[0]};
        shim.control.n_clients = 1;
        if (send(sv[1], data, size, MSG_NOSIGNAL) < 0) {
                FUZZ_ASSERT(errno == EMSGSIZE, "send: %s", strerror(errno));
        } else {
                n = control_pollfds(&shim.control, p);
                FUZZ_ASSERT(poll(p, n, 0) >= 0, "poll");
                control_dispatch(&shim, p, n);
        }
        while (recv(sv[1], reply, sizeof(reply), MSG_DONTWAIT) >= 0)
                ;
        control_close(&shim.control); /* closes sv[0] unless the shim dropped the client */
        close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static bool ready;

        if (!ready) {
                setup();
                ready = true;
        }
        serve(data, size, false);
        serve(data, size, true);
        return 0;
}
