/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Client side of zero-shim: start one, read its report, its exit record and talk to its control
 * socket. Library code: no logging, -errno returns, reasons in struct zero_error.
 */
#include "shim/client.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "common/macro.h"
#include "common/util.h"
#include "shim/proto.h"

static size_t strv_length(const char *const *l) {
        size_t n = 0;

        for (; l && l[n]; n++)
                ;
        return n;
}

/* Reads whatever the shim left in the (non-blocking) sync pipe, for an error message. */
static void read_sync_message(int fd, char *buf, size_t size) {
        size_t len = 0;

        while (len + 1 < size) {
                ssize_t n = read(fd, buf + len, size - 1 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                len += (size_t) n;
        }
        buf[len] = '\0';
}

/* vfork: the child borrows our memory until it execs, so starting a shim costs no copy of
 * zerod's page tables. The child only touches its own fd table and calls execve. Kept in a
 * function of its own so no caller variable lives across vfork(). */
static __attribute__((noinline)) pid_t spawn_exec(const char *path, char **argv, char **envp, int sync_w) {
        pid_t pid = vfork();

        if (pid < 0)
                return -errno;
        if (pid == 0) {
                /* Only the sync pipe's write end crosses exec; everything else is O_CLOEXEC. */
                if (fcntl(sync_w, F_SETFD, 0) == 0)
                        execve(path, argv, envp);
                _exit(127);
        }
        return pid;
}

/* Reaps the process zero_shim_spawn() started, waiting at most ZERO_SHIM_SPAWN_TIMEOUT_MS
 * (through a pidfd; without one, as kernels before 5.3, unbounded). */
static int wait_detached(pid_t pid, int *ret_status) {
        _cleanup_close_ int pidfd = (int) syscall(SYS_pidfd_open, pid, 0);

        if (pidfd >= 0) {
                uint64_t deadline = zero_monotonic_usec() + ZERO_SHIM_SPAWN_TIMEOUT_MS * USEC_PER_MSEC;

                if (zero_fd_wait(pidfd, POLLIN, deadline, NULL) == 0) {
                        (void) kill(pid, SIGKILL);
                        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                                ;
                        return -ETIMEDOUT;
                }
        }
        while (waitpid(pid, ret_status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        return 0;
}

int zero_shim_spawn(const struct zero_shim_spawn_args *a, int *ret_sync_fd, struct zero_error *err) {
        _cleanup_free_ char **argv = NULL, **envp = NULL;
        _cleanup_close_ int sync_r = -EBADF, sync_w = -EBADF;
        char fd_buf[16], max_buf[24];
        size_t n_start, n_cleanup, n_exec, n_sidecar, n_prepare, n_argv, i = 0;
        int pipefd[2], status, r;
        pid_t pid;

        assert_return(a, -EINVAL);
        assert_return(ret_sync_fd, -EINVAL);
        if (!a->shim_path || !a->id || !a->dir || !a->argv || !a->argv[0])
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID,
                                      "zero-shim needs a binary, an id, a directory and a command");
        if (a->id[0] == '\0' || strlen(a->id) > 255)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "invalid shim id");
        if (a->log_max != 0 && (a->log_max < ZERO_SHIM_LOG_MAX_MIN || a->log_max > ZERO_SHIM_LOG_MAX_MAX))
                return zero_error_set(err, -ERANGE, ZERO_E_INVALID,
                                      "console log cap %llu out of range [%llu, %llu]",
                                      (unsigned long long) a->log_max,
                                      (unsigned long long) ZERO_SHIM_LOG_MAX_MIN,
                                      (unsigned long long) ZERO_SHIM_LOG_MAX_MAX);

        n_start = strv_length(a->start_argv);
        n_cleanup = strv_length(a->cleanup_argv);
        n_exec = strv_length(a->exec_argv);
        n_argv = strv_length(a->argv);
        n_sidecar = strv_length(a->sidecar_argv);
        n_prepare = strv_length(a->prepare_argv);
        /* binary, 3 options with values, --log-max, --pid-file, --exec-target, --private-cgroup2,
         * --stdin-pipe, --sidecar-ready, "--", NULL */
        argv = calloc(7 + 7 + 1 + 2 + 2 * (n_start + n_cleanup + n_exec + n_sidecar + n_prepare) + 1 + n_argv + 1,
                      sizeof(char *));
        if (!argv)
                return zero_error_default(err, -ENOMEM, "Failed to start zero-shim");

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return zero_error_default(err, -errno, "Failed to create the shim's sync pipe");
        sync_r = pipefd[0];
        sync_w = pipefd[1];
        snprintf(fd_buf, sizeof(fd_buf), "%d", sync_w);

        argv[i++] = (char *) a->shim_path;
        argv[i++] = (char *) "--id";
        argv[i++] = (char *) a->id;
        argv[i++] = (char *) "--dir";
        argv[i++] = (char *) a->dir;
        argv[i++] = (char *) "--sync-fd";
        argv[i++] = fd_buf;
        if (a->log_max) {
                snprintf(max_buf, sizeof(max_buf), "%llu", (unsigned long long) a->log_max);
                argv[i++] = (char *) "--log-max";
                argv[i++] = max_buf;
        }
        if (a->pid_file) {
                argv[i++] = (char *) "--pid-file";
                argv[i++] = (char *) a->pid_file;
        }
        for (size_t k = 0; k < n_start; k++) {
                argv[i++] = (char *) "--start-arg";
                argv[i++] = (char *) a->start_argv[k];
        }
        for (size_t k = 0; k < n_cleanup; k++) {
                argv[i++] = (char *) "--cleanup-arg";
                argv[i++] = (char *) a->cleanup_argv[k];
        }
        for (size_t k = 0; k < n_exec; k++) {
                argv[i++] = (char *) "--exec-arg";
                argv[i++] = (char *) a->exec_argv[k];
        }
        if (n_exec > 0 && a->exec_target) {
                argv[i++] = (char *) "--exec-target";
                argv[i++] = (char *) a->exec_target;
        }
        if (a->private_cgroup2)
                argv[i++] = (char *) "--private-cgroup2";
        if (a->stdin_pipe)
                argv[i++] = (char *) "--stdin-pipe";
        for (size_t k = 0; k < n_sidecar; k++) {
                argv[i++] = (char *) "--sidecar-arg";
                argv[i++] = (char *) a->sidecar_argv[k];
        }
        if (n_sidecar > 0 && a->sidecar_ready) {
                argv[i++] = (char *) "--sidecar-ready";
                argv[i++] = (char *) a->sidecar_ready;
        }
        for (size_t k = 0; k < n_prepare; k++) {
                argv[i++] = (char *) "--prepare-arg";
                argv[i++] = (char *) a->prepare_argv[k];
        }
        argv[i++] = (char *) "--";
        for (size_t k = 0; k < n_argv; k++)
                argv[i++] = (char *) a->argv[k];
        argv[i] = NULL;

        envp = zero_service_free_environment();
        if (!envp)
                return zero_error_default(err, -ENOMEM, "Failed to start zero-shim");

        pid = spawn_exec(a->shim_path, argv, envp, sync_w);
        if (pid < 0)
                return zero_error_default(err, (int) pid, "Failed to fork zero-shim");
        sync_w = safe_close(sync_w);

        /* The process we started only forks the shim proper and waits for its setsid(): this
         * returns at once, and zerod never becomes the shim's parent. Bounded all the same (a
         * binary that is not a shim, a machine out of memory): killed and reaped after that. */
        r = wait_detached(pid, &status);
        if (r == -ETIMEDOUT)
                return zero_error_set(err, r, ZERO_E_TIMEOUT, "%s did not detach within %d ms", a->shim_path,
                                      ZERO_SHIM_SPAWN_TIMEOUT_MS);
        if (r < 0)
                return zero_error_default(err, r, "Failed to wait for zero-shim");
        if (fcntl(sync_r, F_SETFL, O_NONBLOCK) < 0)
                return zero_error_default(err, -errno, "Failed to set up the shim's sync pipe");
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                char msg[1024];
                pid_t dummy;

                read_sync_message(sync_r, msg, sizeof(msg));
                if (msg[0] == '\0' && WIFEXITED(status) && WEXITSTATUS(status) == 127)
                        zero_error_set(err, -ENOEXEC, ZERO_E_INTERNAL, "cannot execute %s", a->shim_path);
                else if (zero_shim_parse_sync(msg, &dummy, err) >= 0 || msg[0] == '\0')
                        zero_error_set(err, -EIO, ZERO_E_INTERNAL, "zero-shim failed (%s %d)",
                                       WIFEXITED(status) ? "exit" : "signal",
                                       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
                return -EIO;
        }
        *ret_sync_fd = TAKE_FD(sync_r);
        return 0;
}

int zero_shim_parse_sync(const char *line, pid_t *ret_pid, struct zero_error *err) {
        size_t len;
        int64_t v;

        assert_return(line, -EINVAL);
        assert_return(ret_pid, -EINVAL);

        len = strcspn(line, "\n");
        if (len > 3 && strncmp(line, "ok ", 3) == 0) {
                char buf[24];
                if (len - 3 >= sizeof(buf))
                        return zero_error_set(err, -EBADMSG, ZERO_E_INTERNAL, "bad pid from zero-shim");
                memcpy(buf, line + 3, len - 3);
                buf[len - 3] = '\0';
                if (zero_parse_int64(buf, 1, INT_MAX, &v) < 0)
                        return zero_error_set(err, -EBADMSG, ZERO_E_INTERNAL,
                                              "bad pid from zero-shim: %s", buf);
                *ret_pid = (pid_t) v;
                return 0;
        }
        if (len > 6 && strncmp(line, "error ", 6) == 0)
                return zero_error_set(err, -EIO, ZERO_E_RUNTIME, "%.*s", (int) (len - 6), line + 6);
        if (len == 6 && strncmp(line, "error ", 6) == 0) /* found by tests/fuzz (shim_client) */
                return zero_error_set(err, -EIO, ZERO_E_RUNTIME, "zero-shim reported an error without a reason");
        if (len == 0)
                return zero_error_set(err, -EBADMSG, ZERO_E_INTERNAL, "zero-shim exited without reporting");
        return zero_error_set(err, -EBADMSG, ZERO_E_INTERNAL, "unexpected report from zero-shim: %.*s",
                              (int) (len > 200 ? 200 : len), line);
}

/* Space- or newline-separated key=value fields; unknown keys are skipped so the record can grow. */
static int parse_exit_fields(const char *s, struct zero_shim_exit *ret) {
        struct zero_shim_exit e = {};
        bool have_pid = false, have_code = false;

        while (*s) {
                size_t len = strcspn(s, " \n");
                if (len > 0) {
                        char tok[64];
                        char *v;
                        int64_t x;

                        if (len >= sizeof(tok))
                                return -EBADMSG;
                        memcpy(tok, s, len);
                        tok[len] = '\0';
                        v = strchr(tok, '=');
                        if (!v)
                                return -EBADMSG;
                        *v++ = '\0';
                        if (streq(tok, "pid")) {
                                if (zero_parse_int64(v, 1, INT_MAX, &x) < 0)
                                        return -EBADMSG;
                                e.pid = (pid_t) x;
                                have_pid = true;
                        } else if (streq(tok, "code")) {
                                if (zero_parse_int64(v, 0, 255, &x) < 0)
                                        return -EBADMSG;
                                e.code = (int) x;
                                have_code = true;
                        } else if (streq(tok, "signal")) {
                                if (zero_parse_int64(v, 0, 64, &x) < 0)
                                        return -EBADMSG;
                                e.signal = (int) x;
                        } else if (streq(tok, "time")) {
                                if (zero_parse_int64(v, 0, INT64_MAX, &x) < 0)
                                        return -EBADMSG;
                                e.time = (uint64_t) x;
                        }
                }
                s += len;
                if (*s)
                        s++;
        }
        if (!have_pid || !have_code)
                return -EBADMSG;
        *ret = e;
        return 0;
}

/* DIR/NAME, one of the shim's small files. */
static int read_shim_file(const char *dir, const char *name, size_t max, char **ret) {
        _cleanup_free_ char *path = zero_strdup_printf("%s/%s", dir, name);

        if (!path)
                return -ENOMEM;
        return zero_read_file(path, max, ret, NULL);
}

int zero_shim_read_exit(const char *dir, struct zero_shim_exit *ret) {
        _cleanup_free_ char *text = NULL;
        int r;

        assert_return(dir, -EINVAL);
        assert_return(ret, -EINVAL);

        r = read_shim_file(dir, ZERO_SHIM_FILE_EXIT, 4096, &text);
        if (r < 0)
                return r;
        return parse_exit_fields(text, ret);
}

int zero_shim_read_pid(const char *dir, pid_t *ret) {
        _cleanup_free_ char *text = NULL;
        int64_t pid;
        int r;

        assert_return(dir, -EINVAL);
        assert_return(ret, -EINVAL);

        r = read_shim_file(dir, ZERO_SHIM_FILE_PID, 64, &text);
        if (r < 0)
                return r;
        text[strcspn(text, "\n")] = '\0';
        r = zero_parse_int64(text, 1, INT32_MAX, &pid);
        if (r < 0)
                return -EBADMSG;
        *ret = (pid_t) pid;
        return 0;
}

int zero_shim_parse_exited(const char *msg, struct zero_shim_exit *ret) {
        assert_return(msg, -EINVAL);
        assert_return(ret, -EINVAL);

        if (strncmp(msg, "exited ", 7) != 0)
                return -EBADMSG;
        return parse_exit_fields(msg + 7, ret);
}

int zero_shim_connect_timeout(const char *dir, int timeout_ms, int *ret_fd) {
        _cleanup_close_ int fd = -EBADF, dir_fd = -EBADF;
        struct sockaddr_un sa;
        uint64_t deadline;
        socklen_t len;

        assert_return(dir, -EINVAL);
        assert_return(timeout_ms >= 0, -EINVAL);
        assert_return(ret_fd, -EINVAL);

        fd = zero_shim_socket(dir, &sa, &len, &dir_fd);
        if (fd < 0)
                return fd;
        /* A blocking connect() to a unix socket whose backlog is full waits for the listener
         * for ever; a non-blocking one says EAGAIN and cannot be polled for, so it is retried
         * until the deadline. A shim accepts from its poll loop, so the backlog drains at once
         * unless the shim is stopped or starved. */
        deadline = zero_monotonic_usec() + (uint64_t) timeout_ms * USEC_PER_MSEC;
        while (connect(fd, (struct sockaddr *) &sa, len) < 0) {
                if (errno == EINTR)
                        continue;
                if (errno != EAGAIN)
                        return -errno;
                if (zero_monotonic_usec() >= deadline)
                        return timeout_ms == 0 ? -EAGAIN : -ETIMEDOUT;
                (void) poll(NULL, 0, 1);
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int zero_shim_connect(const char *dir, bool nonblock, int *ret_fd) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        assert_return(ret_fd, -EINVAL);

        r = zero_shim_connect_timeout(dir, nonblock ? 0 : ZERO_SHIM_TIMEOUT_MS, &fd);
        if (r < 0)
                return r;
        if (!nonblock && fcntl(fd, F_SETFL, 0) < 0)
                return -errno;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* Waits for events on fd until the deadline (CLOCK_MONOTONIC usec; 0 = none): -ETIMEDOUT after it. */
static int wait_fd(int fd, short events, uint64_t deadline, short *ret_revents) {
        int r = zero_fd_wait(fd, events, deadline, ret_revents);

        return r == 0 ? -ETIMEDOUT : r < 0 ? r : 0;
}

int zero_shim_request(int fd, const char *req, char **ret) {
        return zero_shim_request_timeout(fd, req, -1, ret);
}

static int read_reply(int fd, uint64_t deadline, char **ret);

int zero_shim_request_timeout(int fd, const char *req, int timeout_ms, char **ret) {
        uint64_t deadline = 0;
        size_t len;
        ssize_t n;
        int r;

        assert_return(fd >= 0, -EINVAL);
        assert_return(req, -EINVAL);
        assert_return(ret, -EINVAL);

        len = strlen(req);
        if (len > ZERO_SHIM_REQUEST_MAX)
                return -EMSGSIZE;
        if (timeout_ms >= 0)
                deadline = zero_monotonic_usec() + (uint64_t) timeout_ms * USEC_PER_MSEC + 1;
        for (;;) {
                n = send(fd, req, len, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n >= 0)
                        break;
                if (errno == EINTR)
                        continue;
                if (errno != EAGAIN)
                        return -errno;
                r = wait_fd(fd, POLLOUT, deadline, NULL);
                if (r < 0)
                        return r;
        }
        if ((size_t) n != len)
                return -EIO;
        return read_reply(fd, deadline, ret);
}

/* One reply packet on fd, waited for until the deadline (0: none). */
static int read_reply(int fd, uint64_t deadline, char **ret) {
        _cleanup_free_ char *buf = NULL;
        short revents;
        ssize_t n;
        int r;

        buf = malloc(ZERO_SHIM_MSG_MAX + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                r = wait_fd(fd, POLLIN, deadline, &revents);
                if (r < 0)
                        return r;
                /* MSG_TRUNC: learn the packet's real length, so an oversized reply is an error
                 * rather than silently cut. */
                n = recv(fd, buf, ZERO_SHIM_MSG_MAX + 1, MSG_TRUNC | MSG_DONTWAIT);
                if (n >= 0)
                        break;
                if (errno != EINTR && errno != EAGAIN)
                        return -errno;
        }
        if (n > ZERO_SHIM_MSG_MAX)
                return -EMSGSIZE;
        if (n == 0) {
                /* An empty packet (an empty console tail) and end-of-file both read as 0: tell
                 * them apart by the hang-up the shim's close leaves behind. */
                struct pollfd p = {.fd = fd, .events = POLLIN};
                if (poll(&p, 1, 0) > 0 && (p.revents & POLLHUP))
                        return -ECONNRESET;
        }
        buf[n] = '\0';
        if (n < 4096) {
                /* Callers may keep the reply: don't hold on to 64 KiB for "ok". */
                char *small = realloc(buf, (size_t) n + 1);
                if (small)
                        buf = small;
        }
        *ret = TAKE_PTR(buf);
        return 0;
}

int zero_shim_exec(const char *dir, const char *const *argv, const int fds[3], int *ret_fd, pid_t *ret_pid,
                   struct zero_error *err) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *req = NULL, *reply = NULL;
        union {
                char buf[CMSG_SPACE(3 * sizeof(int))];
                struct cmsghdr align;
        } control = {};
        struct iovec iov;
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                            .msg_controllen = sizeof(control.buf)};
        struct cmsghdr *cm;
        size_t len = 5, n_args = 0;
        uint64_t deadline = zero_monotonic_usec() + ZERO_SHIM_TIMEOUT_MS * USEC_PER_MSEC;
        int64_t pid;
        ssize_t n;
        int r;

        assert_return(dir && argv && argv[0] && fds && ret_fd && ret_pid, -EINVAL);
        for (const char *const *a = argv; *a; a++, n_args++) {
                if (!**a)
                        return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "an exec's argument is empty");
                len += strlen(*a) + 1;
        }
        if (len > ZERO_SHIM_EXEC_REQUEST_MAX || n_args > ZERO_SHIM_EXEC_ARGS_MAX)
                return zero_error_set(err, -E2BIG, ZERO_E_INVALID,
                                      "an exec's command takes at most %d arguments and %d bytes",
                                      ZERO_SHIM_EXEC_ARGS_MAX, ZERO_SHIM_EXEC_REQUEST_MAX - 5);
        req = malloc(len);
        if (!req)
                return -ENOMEM;
        memcpy(req, "exec", 5);
        len = 5;
        for (const char *const *a = argv; *a; a++) {
                size_t k = strlen(*a) + 1;

                memcpy(req + len, *a, k);
                len += k;
        }
        r = zero_shim_connect_timeout(dir, ZERO_SHIM_TIMEOUT_MS, &fd);
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_UNAVAILABLE, "cannot reach the instance's supervisor: %s",
                                      strerror(-r));
        iov = (struct iovec){.iov_base = req, .iov_len = len};
        cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(3 * sizeof(int));
        memcpy(CMSG_DATA(cm), fds, 3 * sizeof(int));
        for (;;) {
                n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n >= 0)
                        break;
                if (errno != EINTR && errno != EAGAIN)
                        return zero_error_set(err, -errno, ZERO_E_UNAVAILABLE, "cannot ask the supervisor: %s", strerror(errno));
                r = wait_fd(fd, POLLOUT, deadline, NULL);
                if (r < 0)
                        return zero_error_set(err, r, ZERO_E_TIMEOUT, "the supervisor does not take requests");
        }
        /* "ok PID" or "error ...": the same bounded read as any request's reply. */
        r = read_reply(fd, deadline, &reply);
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_UNAVAILABLE, "the supervisor did not answer the exec: %s",
                                      strerror(-r));
        if (strncmp(reply, "error ", 6) == 0)
                return zero_error_set(err, -EIO, ZERO_E_RUNTIME, "%s", reply + 6);
        if (strncmp(reply, "ok ", 3) != 0 || zero_parse_int64(reply + 3, 1, INT32_MAX, &pid) < 0)
                return zero_error_set(err, -EBADMSG, ZERO_E_INTERNAL, "the supervisor answered the exec with '%s'",
                                      reply);
        *ret_pid = (pid_t) pid;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int zero_shim_attach(const char *dir, int *ret_fd, struct zero_error *err) {
        _cleanup_close_ int fd = -EBADF;
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } control = {};
        char reply[256];
        struct iovec iov = {.iov_base = reply, .iov_len = sizeof(reply) - 1};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                            .msg_controllen = sizeof(control.buf)};
        uint64_t deadline = zero_monotonic_usec() + ZERO_SHIM_TIMEOUT_MS * USEC_PER_MSEC;
        int got = -EBADF, r;
        ssize_t n;

        assert_return(dir && ret_fd, -EINVAL);
        r = zero_shim_connect_timeout(dir, ZERO_SHIM_TIMEOUT_MS, &fd);
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_UNAVAILABLE, "cannot reach the instance's supervisor: %s",
                                      strerror(-r));
        if (send(fd, "attach", 6, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
                return zero_error_set(err, -errno, ZERO_E_UNAVAILABLE, "cannot ask the supervisor: %s", strerror(errno));
        for (;;) {
                n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
                if (n >= 0 || (errno != EAGAIN && errno != EINTR))
                        break;
                r = wait_fd(fd, POLLIN, deadline, NULL);
                if (r < 0)
                        return zero_error_set(err, r, ZERO_E_TIMEOUT, "the supervisor did not answer the attach");
        }
        if (n < 0)
                return zero_error_set(err, -errno, ZERO_E_UNAVAILABLE, "the supervisor did not answer the attach: %s",
                                      strerror(errno));
        reply[n] = '\0';
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
                if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS && cm->cmsg_len == CMSG_LEN(sizeof(int)))
                        memcpy(&got, CMSG_DATA(cm), sizeof(int));
        if (strncmp(reply, "error ", 6) == 0) {
                safe_close(got);
                return zero_error_set(err, streq(reply + 6, ZERO_SHIM_NO_STDIN) ? -ENXIO : -EIO, ZERO_E_RUNTIME, "%s",
                                      reply + 6);
        }
        if (!streq(reply, "ok") || got < 0) {
                safe_close(got);
                return zero_error_set(err, -EBADMSG, ZERO_E_INTERNAL, "the supervisor answered the attach with '%s'",
                                      reply);
        }
        *ret_fd = got;
        return 0;
}
