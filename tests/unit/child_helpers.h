/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Helpers for unit tests that fork children (network namespace tests): reap with a deadline,
 * kill, parse an IPv4 address, leave a test namespace with only lo. Include after cmocka.h; define TIMEOUT_MS first to change the
 * deadline.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "io/netlink/netlink.h"

#ifndef TIMEOUT_MS
#define TIMEOUT_MS 5000
#endif
#ifndef PORT
#define PORT 7777 /* the TCP exchange's, inside the tests' own namespaces */
#endif

static inline struct in_addr ip(const char *s) {
        struct in_addr a;
        assert_int_equal(inet_pton(AF_INET, s, &a), 1);
        return a;
}

static inline bool deadline_passed(uint64_t start) {
        return zero_monotonic_usec() - start > TIMEOUT_MS * USEC_PER_MSEC;
}

/* Deletes every link of nl's namespace but lo: a namespace shared by the tests left as found. */
static inline void flush_links(struct zero_nl *nl) {
        struct zero_nl_link *links = NULL;
        size_t n = 0;

        if (zero_nl_link_list(nl, NULL, &links, &n) >= 0)
                for (size_t i = 0; i < n; i++)
                        if (!streq(links[i].name, "lo"))
                                (void) zero_nl_link_delete(nl, links[i].name);
        free(links);
}

static inline void kill_and_reap(pid_t *pid) {
        if (*pid > 0) {
                (void) kill(*pid, SIGKILL);
                while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
                        ;
        }
        *pid = 0;
}

/* The exit status of a child, or -ETIMEDOUT after killing it. */
static inline int wait_exit(pid_t *pid) {
        uint64_t start = zero_monotonic_usec();
        int status;

        while (!deadline_passed(start)) {
                pid_t r = waitpid(*pid, &status, WNOHANG);
                if (r == *pid) {
                        *pid = 0;
                        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                }
                (void) poll(NULL, 0, 10);
        }
        kill_and_reap(pid);
        return -ETIMEDOUT;
}

/* In a forked child: enter a namespace, then serve or call one TCP exchange on addr. Exit 0 on
 * success. No cmocka in a child: its assertions would longjmp into the parent's copy of the test. */
_Noreturn static inline void tcp_child(int netns_fd, const char *addr, bool serve, int ready_fd) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(PORT)};
        uint64_t start = zero_monotonic_usec();
        struct timeval tv = {.tv_sec = 5};
        char buf[8] = {};
        int s;

        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (setns(netns_fd, CLONE_NEWNET) < 0 || inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
                _exit(10);
        if (serve) {
                int c, one = 1;
                struct pollfd p;

                s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
                    bind(s, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(s, 1) < 0)
                        _exit(11);
                if (write(ready_fd, "x", 1) != 1)
                        _exit(12);
                p = (struct pollfd) {.fd = s, .events = POLLIN};
                if (poll(&p, 1, TIMEOUT_MS) != 1)
                        _exit(13);
                c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
                if (c < 0 || setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
                        _exit(14);
                if (recv(c, buf, 4, MSG_WAITALL) != 4 || memcmp(buf, "ping", 4) != 0)
                        _exit(15);
                _exit(send(c, "pong", 4, MSG_NOSIGNAL) == 4 ? 0 : 16);
        }
        /* The first connect may race the carrier and the neighbour lookup: retry, bounded. */
        for (;;) {
                s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (s < 0 || setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
                    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
                        _exit(20);
                if (connect(s, (struct sockaddr *) &sa, sizeof(sa)) == 0)
                        break;
                close(s);
                if (deadline_passed(start))
                        _exit(21);
                (void) poll(NULL, 0, 50);
        }
        if (send(s, "ping", 4, MSG_NOSIGNAL) != 4)
                _exit(22);
        if (recv(s, buf, 4, MSG_WAITALL) != 4 || memcmp(buf, "pong", 4) != 0)
                _exit(23);
        _exit(0);
}
