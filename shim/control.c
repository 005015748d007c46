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
#include <sys/wait.h>
#include <unistd.h>

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

/* "exec\0ARG\0...ARG\0" with the exec's stdin, stdout and stderr (fds: the shim's now, closed
 * here whatever happens). The exec prefix and the arguments run as a child of the shim (as the
 * runtime's commands do: crun exec sees the instance as crun run made it); "ok PID" now, and
 * "exited pid=P code=C signal=S" on the same connection when it ends. */
static void request_exec(struct shim *s, struct client *c, const char *args, size_t len, int *fds, size_t n_fds) {
        char *argv[ZERO_SHIM_EXEC_ARGS_MAX + 64];
        size_t n = 0, n_execs = 0;
        char buf[64];
        pid_t pid;
        int r;

        if (!s->exec_argv)
                return reply_str(c, "error exec is not supported by this instance's runtime");
        if (n_fds != 3)
                return reply_str(c, "error exec needs its stdin, stdout and stderr");
        if (s->exited || s->main_pid <= 0)
                return reply_str(c, "error the instance is not running");
        if (c->exec_pid > 0)
                return reply_str(c, "error an exec runs on this connection already");
        for (size_t i = 0; i < s->control.n_clients; i++)
                n_execs += s->control.clients[i].exec_pid > 0;
        if (n_execs >= SHIM_EXECS_MAX)
                return reply_str(c, "error too many execs");
        if (len == 0 || args[len - 1] != '\0')
                return reply_str(c, "error usage: exec\\0ARG\\0...");
        for (char **p = s->exec_argv; *p && n < 63; p++)
                argv[n++] = *p;
        /* The exec's options, then the target (crun's container ID), then the command. */
        bool options = true;
        for (const char *a = args; a < args + len; a += strlen(a) + 1) {
                if (n >= ZERO_SHIM_EXEC_ARGS_MAX + 62 || !*a)
                        return reply_str(c, "error exec: too many or empty arguments");
                if (options && a[0] != '-') {
                        options = false;
                        if (s->exec_target)
                                argv[n++] = (char *) s->exec_target;
                }
                argv[n++] = (char *) a;
        }
        if (options)
                return reply_str(c, "error exec: no command");
        argv[n] = NULL;
        r = process_spawn_stdio(s, argv, fds, &pid);
        if (r < 0) {
                snprintf(buf, sizeof(buf), "error cannot run %s: %s", argv[0], strerror(-r));
                return reply_str(c, buf);
        }
        c->exec_pid = pid;
        snprintf(buf, sizeof(buf), "ok %d", (int) pid);
        reply_str(c, buf);
}

/* "attach": the write end of the instance's stdin (--stdin-pipe), sent with "ok" (SCM_RIGHTS),
 * for an interactive console. The shim keeps its own, so a console that closes its copy does not
 * end the instance's stdin. */
static void request_attach(struct shim *s, struct client *c) {
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } control = {};
        struct iovec iov = {.iov_base = (void *) "ok", .iov_len = 2};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                            .msg_controllen = sizeof(control.buf)};
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

        if (s->stdin_w < 0)
                return reply_str(c, "error " ZERO_SHIM_NO_STDIN);
        if (s->exited || s->main_pid <= 0)
                return reply_str(c, "error the instance is not running");
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &s->stdin_w, sizeof(int));
        if (c->fd >= 0 && sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
                drop(c);
}

void control_exec_ended(struct shim *s, pid_t pid, int status) {
        struct control *ctl = &s->control;

        for (size_t i = 0; i < ctl->n_clients; i++) {
                struct client *c = &ctl->clients[i];
                struct zero_shim_exit e;
                char buf[128];
                int n;

                if (c->exec_pid != pid)
                        continue;
                e = (struct zero_shim_exit){
                        .pid = pid,
                        .code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status),
                        .signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0,
                };
                n = zero_shim_format_exited(&e, buf, sizeof(buf));
                if (n >= 0)
                        reply(c, buf, (size_t) n);
                c->exec_pid = 0;
                drop(c); /* its one exec has ended: control_dispatch() forgets it */
                return;
        }
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
        if (streq(req, "attach")) {
                if (arg)
                        return reply_str(c, "error usage: attach");
                return request_attach(s, c);
        }
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

/* The fds a packet carried (SCM_RIGHTS): into fds, at most 3 kept; *ret_n = how many came. */
static void take_fds(struct msghdr *mh, int fds[3], size_t *ret_n) {
        size_t n = 0;

        for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
                if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
                        continue;
                size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                int *p = (int *) CMSG_DATA(cm);

                for (size_t i = 0; i < k; i++, n++) {
                        if (n < 3)
                                fds[n] = p[i];
                        else
                                close(p[i]);
                }
        }
        *ret_n = n;
}

static void serve(struct shim *s, struct client *c, short revents) {
        /* Big enough for an exec's arguments: on the stack for this call only. */
        char req[ZERO_SHIM_EXEC_REQUEST_MAX + 1];
        union {
                char buf[CMSG_SPACE(4 * sizeof(int))];
                struct cmsghdr align;
        } control;
        struct iovec iov = {.iov_base = req, .iov_len = sizeof(req)};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                            .msg_controllen = sizeof(control.buf)};
        int fds[3] = {-EBADF, -EBADF, -EBADF};
        size_t n_fds = 0;
        ssize_t n;

        if (revents & (POLLHUP | POLLERR | POLLNVAL))
                return drop(c); /* gone: nobody would read a reply */
        if (c->eof || !(revents & (POLLIN | POLLRDHUP)))
                return;
        /* MSG_TRUNC returns the packet's real length: too long is an answer, not a cut. */
        n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC);
        if (n < 0) {
                if (errno != EAGAIN && errno != EINTR)
                        drop(c);
                return;
        }
        take_fds(&mh, fds, &n_fds);
        if ((mh.msg_flags & MSG_CTRUNC) && n_fds <= 3)
                n_fds = 4; /* some were cut: not the three an exec sends */
        if (n >= 5 && memcmp(req, "exec", 5) == 0) {
                if ((size_t) n > ZERO_SHIM_EXEC_REQUEST_MAX)
                        reply_str(c, "error request too long");
                else
                        request_exec(s, c, req + 5, (size_t) n - 5, fds, n_fds);
                for (size_t i = 0; i < 3; i++)
                        safe_close(fds[i]);
                return;
        }
        for (size_t i = 0; i < 3; i++)
                safe_close(fds[i]); /* no other request takes fds */
        if (n == 0 && (revents & POLLRDHUP)) {
                /* It will send no more; keep it only if it waits for the exit or an exec's end. */
                c->eof = true;
                if (!c->waiting && c->exec_pid <= 0)
                        drop(c);
                return;
        }
        request(s, c, req, (size_t) n > ZERO_SHIM_REQUEST_MAX ? ZERO_SHIM_REQUEST_MAX + 1 : (size_t) n);
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
