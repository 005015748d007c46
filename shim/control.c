/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The control socket DIR/shim.sock: SOCK_SEQPACKET, one request and one reply per packet, so
 * no framing and no partial reads. Every client is non-blocking; a client that does not read
 * its replies, or hangs up, is dropped, and nothing a client sends can stop the shim.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "common/util.h"
#include "shim/shim.h"

/* Rounds of queued requests served after the exit, so a chatty client cannot keep us alive. */
#define FINISH_ROUNDS_MAX 16

int control_probe(const char *dir) {
        _cleanup_close_ int fd = -EBADF, dir_fd = -EBADF;
        struct sockaddr_un sa;
        socklen_t len;

        fd = zero_shim_socket(dir, &sa, &len, &dir_fd);
        if (fd < 0)
                return fd;
        /* EAGAIN: a full backlog, which only a live listener has. */
        if (connect(fd, (struct sockaddr *) &sa, len) >= 0 || errno == EAGAIN)
                return -EADDRINUSE;
        return 0;
}

int control_listen(struct control *ctl, const char *dir) {
        _cleanup_close_ int fd = -EBADF, dir_fd = -EBADF;
        struct sockaddr_un sa;
        socklen_t len;

        fd = zero_shim_socket(dir, &sa, &len, &dir_fd);
        if (fd < 0)
                return fd;
        /* A socket left by a shim that died (control_probe() found nobody listening). */
        if (unlink(sa.sun_path) < 0 && errno != ENOENT)
                return -errno;
        if (bind(fd, (struct sockaddr *) &sa, len) < 0)
                return -errno;
        if (listen(fd, 16) < 0)
                return -errno;
        ctl->listen_fd = TAKE_FD(fd);
        return 0;
}

static void drop(struct client *c) {
        c->fd = safe_close(c->fd);
}

static void reply(struct client *c, const void *buf, size_t len) {
        if (c->fd < 0)
                return;
        /* Never block: the socket buffer holds several full replies, so EAGAIN means a client
         * that does not read. */
        if (send(c->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
                drop(c);
}

static void reply_str(struct client *c, const char *s) {
        reply(c, s, strlen(s));
}

static void reply_exited(struct shim *s, struct client *c) {
        char buf[128];
        int n = zero_shim_format_exited(&s->exit, buf, sizeof(buf));

        if (n >= 0)
                reply(c, buf, (size_t) n);
        c->waiting = false;
}

static void request_signal(struct shim *s, struct client *c, const char *arg) {
        char buf[128];
        int64_t sig;

        if (!arg || zero_parse_int64(arg, 1, 64, &sig) < 0)
                return reply_str(c, "error usage: signal N (1-64)");
        if (s->exited)
                return reply_str(c, "error the instance has exited");
        /* While the create command runs there is no main process yet: kill(0) would signal
         * the shim's own process group. */
        if (s->main_pid <= 0)
                return reply_str(c, "error the instance is starting");
        if (kill(s->main_pid, (int) sig) < 0) {
                snprintf(buf, sizeof(buf), "error kill %d: %s", (int) s->main_pid, strerror(errno));
                return reply_str(c, buf);
        }
        reply_str(c, "ok");
}

static void request_console(struct shim *s, struct client *c, const char *arg) {
        size_t want, len = 0;
        int64_t n;
        char *buf;

        if (!arg || zero_parse_int64(arg, 0, INT64_MAX, &n) < 0)
                return reply_str(c, "error usage: console N");
        want = n > ZERO_SHIM_CONSOLE_TAIL_MAX ? ZERO_SHIM_CONSOLE_TAIL_MAX : (size_t) n;
        if (want == 0)
                return reply(c, "", 0);
        /* Mapped for this one reply and returned at once: the 64 KiB would otherwise stay in
         * the heap and in the shim's resident set for the instance's lifetime. */
        buf = mmap(NULL, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (buf == MAP_FAILED)
                return reply_str(c, "error out of memory");
        if (console_tail(&s->console, want, buf, &len) < 0)
                reply_str(c, "error cannot read the console log");
        else
                reply(c, buf, len);
        munmap(buf, want);
}

static void request(struct shim *s, struct client *c, char *req, size_t len) {
        char buf[64];
        char *arg;

        if (len > ZERO_SHIM_REQUEST_MAX)
                return reply_str(c, "error request too long");
        /* Be kind to hand-typed requests (socat): one trailing newline is allowed. */
        if (len > 0 && req[len - 1] == '\n')
                len--;
        if (len == 0)
                return reply_str(c, "error empty request");
        if (memchr(req, '\0', len))
                return reply_str(c, "error malformed request");
        req[len] = '\0';

        arg = strchr(req, ' ');
        if (arg)
                *arg++ = '\0';
        if (streq(req, "status")) {
                if (arg)
                        return reply_str(c, "error usage: status");
                if (s->exited)
                        return reply_exited(s, c);
                if (s->main_pid <= 0)
                        return reply_str(c, "starting");
                snprintf(buf, sizeof(buf), "running pid=%d", (int) s->main_pid);
                return reply_str(c, buf);
        }
        if (streq(req, "signal"))
                return request_signal(s, c, arg);
        if (streq(req, "console"))
                return request_console(s, c, arg);
        if (streq(req, "wait")) {
                if (arg)
                        return reply_str(c, "error usage: wait");
                c->waiting = true;
                if (s->exit_recorded)
                        reply_exited(s, c);
                return;
        }
        reply_str(c, "error unknown request");
}

static void serve(struct shim *s, struct client *c, short revents) {
        char req[ZERO_SHIM_REQUEST_MAX + 1];
        ssize_t n;

        if (revents & (POLLHUP | POLLERR | POLLNVAL))
                return drop(c); /* gone: nobody would read a reply */
        if (c->eof || !(revents & (POLLIN | POLLRDHUP)))
                return;
        /* MSG_TRUNC returns the packet's real length: too long is an answer, not a cut. */
        n = recv(c->fd, req, sizeof(req), MSG_DONTWAIT | MSG_TRUNC);
        if (n < 0) {
                if (errno != EAGAIN && errno != EINTR)
                        drop(c);
                return;
        }
        if (n == 0 && (revents & POLLRDHUP)) {
                /* It will send no more; keep it only if it waits for the exit. */
                c->eof = true;
                if (!c->waiting)
                        drop(c);
                return;
        }
        request(s, c, req, (size_t) n > sizeof(req) - 1 ? sizeof(req) : (size_t) n);
}

static void accept_clients(struct control *ctl) {
        for (;;) {
                int fd = accept4(ctl->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (fd < 0)
                        return; /* EAGAIN; or a client that already left */
                if (ctl->n_clients >= SHIM_CLIENTS_MAX) {
                        struct client c = {.fd = fd};
                        reply_str(&c, "error too many clients");
                        drop(&c);
                        continue;
                }
                ctl->clients[ctl->n_clients++] = (struct client){.fd = fd};
        }
}

size_t control_pollfds(struct control *ctl, struct pollfd *p) {
        size_t n = 0;

        /* Always first, even when closed: poll() skips negative fds. */
        p[n++] = (struct pollfd){.fd = ctl->listen_fd, .events = POLLIN};
        for (size_t i = 0; i < ctl->n_clients; i++)
                p[n++] = (struct pollfd){.fd = ctl->clients[i].fd,
                                         .events = ctl->clients[i].eof ? 0 : POLLIN | POLLRDHUP};
        return n;
}

void control_dispatch(struct shim *s, const struct pollfd *p, size_t n) {
        struct control *ctl = &s->control;
        size_t k = 0;

        for (size_t i = 0; i < ctl->n_clients && i + 1 < n; i++)
                if (p[i + 1].revents)
                        serve(s, &ctl->clients[i], p[i + 1].revents);
        for (size_t i = 0; i < ctl->n_clients; i++)
                if (ctl->clients[i].fd >= 0)
                        ctl->clients[k++] = ctl->clients[i];
        ctl->n_clients = k;
        if (n > 0 && (p[0].revents & POLLIN))
                accept_clients(ctl);
}

void control_finish(struct shim *s) {
        struct control *ctl = &s->control;

        /* First the name, so that from now on a client finds no socket and reads DIR/exit. */
        (void) unlinkat(s->dir_fd, ZERO_SHIM_FILE_SOCKET, 0);
        for (size_t i = 0; i < ctl->n_clients; i++)
                if (ctl->clients[i].waiting)
                        reply_exited(s, &ctl->clients[i]);
        /* Connections already queued and requests already sent get their answer too. */
        for (int round = 0; round < FINISH_ROUNDS_MAX; round++) {
                struct pollfd p[1 + SHIM_CLIENTS_MAX];
                size_t n = control_pollfds(ctl, p);

                if (poll(p, n, 0) <= 0)
                        break;
                control_dispatch(s, p, n);
        }
        control_close(ctl);
}

void control_abandon(struct shim *s) {
        (void) unlinkat(s->dir_fd, ZERO_SHIM_FILE_SOCKET, 0);
        control_close(&s->control);
}

void control_close(struct control *ctl) {
        for (size_t i = 0; i < ctl->n_clients; i++)
                drop(&ctl->clients[i]);
        ctl->n_clients = 0;
        ctl->listen_fd = safe_close(ctl->listen_fd);
}
