/* SPDX-License-Identifier: Apache-2.0 */
/*
 * POST /v1/instances/{name}/exec {"cmd": [...], "tty": false, "env": ["K=V"], "cwd": "/"}: a
 * command run beside a running instance (crun exec, under the instance's shim: shim/client.h),
 * its stdin, stdout, stderr and exit code carried over the request's own connection, upgraded
 * (101, "Upgrade: zero-stream") to the framed stream of common/frame.h. Everything that can be
 * refused is refused before the upgrade, with a JSON error; the command is started before it
 * too, so that a command that cannot start is an error reply, not a stream.
 * The client's hang-up (or a broken stream, or zerod's stop) kills the exec: SIGKILL to its
 * session (the shim runs it as a session leader).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/api.h"
#include "agent/relay.h"
#include "common/frame.h"
#include "common/log.h"
#include "common/text.h"
#include "common/util.h"
#include "shim/client.h"

#define EXEC_DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct exec {
        sd_event *event;
        char *name;             /* the instance's, for log lines */
        pid_t pid;              /* crun exec's, a session leader */
        int shim_fd;            /* where the shim says "exited ..." */
        sd_event_source *shim_src;
        struct zero_relay_fds f; /* until the upgrade hands them to the relay */
        struct zero_relay *relay;
        bool exited;
        int code, signal;
        /* With a TTY: where crun exec hands the pty master over (--console-socket), listening
         * until it came, then the accepted connection it comes on. */
        char *console_path;
        int console_fd;
        sd_event_source *console_src;
};

static void console_done(struct exec *x) {
        x->console_src = sd_event_source_disable_unref(x->console_src);
        x->console_fd = safe_close(x->console_fd);
        if (x->console_path)
                (void) unlink(x->console_path);
        x->console_path = mfree(x->console_path);
}

/* SIGKILL to the exec and what it runs. crun exec's child in the container is a session (and
 * process group) of its own, made by an intermediate that is gone by then: it is found as
 * crun's child, whose group is killed. */
static void exec_kill(pid_t pid) {
        DIR *d = opendir("/proc");
        struct dirent *de;

        (void) kill(-pid, SIGSTOP); /* crun forks nothing more meanwhile */
        while (d && (de = readdir(d))) {
                char path[300], buf[512], *p;
                int ppid, pgid;
                ssize_t n;

                if (de->d_name[0] < '1' || de->d_name[0] > '9')
                        continue;
                snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
                _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
                        continue;
                buf[n] = '\0';
                /* "PID (COMM) STATE PPID PGRP ...": COMM may hold anything, up to the last ')'. */
                p = strrchr(buf, ')');
                if (p && sscanf(p + 1, " %*c %d %d", &ppid, &pgid) == 2 && ppid == pid && pgid > 1)
                        (void) kill(-pgid, SIGKILL);
        }
        if (d)
                closedir(d);
        (void) kill(-pid, SIGKILL);
}

static void exec_free(struct exec *x) {
        if (!x)
                return;
        x->relay = zero_relay_free(x->relay);
        if (x->pid > 0 && !x->exited) {
                /* The client is gone: so is its command. Its pid cannot have been reused, as
                 * the shim, which reaps it, has not reported it. */
                log_info("exec %d in %s: killed, its client went away", (int) x->pid, x->name);
                exec_kill(x->pid);
        }
        x->shim_src = sd_event_source_disable_unref(x->shim_src);
        safe_close(x->shim_fd);
        console_done(x);
        safe_close(x->f.in);
        safe_close(x->f.out);
        safe_close(x->f.err);
        free(x->name);
        free(x);
}

static void exec_ended(struct exec *x, int code, int signal) {
        x->exited = true;
        x->code = code;
        x->signal = signal;
        x->shim_src = sd_event_source_disable_unref(x->shim_src);
        x->shim_fd = safe_close(x->shim_fd);
        log_info("exec %d in %s: ended with code %d", (int) x->pid, x->name, code);
        zero_relay_exited(x->relay, code, signal);
}

static int on_shim(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct exec *x = userdata;
        struct zero_shim_exit e = {};
        char buf[256];
        ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n > 0) {
                buf[n] = '\0';
                if (zero_shim_parse_exited(buf, &e) >= 0) {
                        exec_ended(x, e.code, e.signal);
                        return 0;
                }
        }
        /* The shim hung up without a word (it ended with its instance): the end is unknown. */
        log_warning("exec %d in %s: its supervisor went away without its exit status", (int) x->pid, x->name);
        exec_ended(x, 255, 0);
        return 0;
}

/* The pty master, on the connection crun exec made to the console socket. */
static int on_console_conn(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct exec *x = userdata;
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } control = {};
        char byte[256];
        struct iovec iov = {.iov_base = byte, .iov_len = sizeof(byte)};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                            .msg_controllen = sizeof(control.buf)};
        struct cmsghdr *cm;
        int master = -EBADF, dup, r;
        ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        for (cm = n >= 0 ? CMSG_FIRSTHDR(&mh) : NULL; cm; cm = CMSG_NXTHDR(&mh, cm))
                if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
                    cm->cmsg_len == CMSG_LEN(sizeof(int)))
                        memcpy(&master, CMSG_DATA(cm), sizeof(int));
        console_done(x);
        if (master < 0) {
                log_warning("exec %d in %s: crun sent no terminal", (int) x->pid, x->name);
                return 0;
        }
        dup = fcntl(master, F_DUPFD_CLOEXEC, 3);
        if (dup < 0 || fcntl(master, F_SETFL, O_NONBLOCK) < 0) {
                log_warning_errno(errno, "exec %d in %s: cannot take its terminal: %m", (int) x->pid, x->name);
                safe_close(master);
                safe_close(dup);
                return 0;
        }
        if (!x->relay) { /* before the upgrade: the relay begins with it */
                x->f.out = master;
                x->f.in = dup;
                return 0;
        }
        r = zero_relay_set_tty(x->relay, master, dup);
        if (r < 0)
                log_warning_errno(r, "exec %d in %s: cannot relay its terminal: %m", (int) x->pid, x->name);
        return 0;
}

static int on_console_listen(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct exec *x = userdata;
        int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK), r;

        if (c < 0)
                return 0;
        x->console_src = sd_event_source_disable_unref(x->console_src);
        safe_close(x->console_fd);
        x->console_fd = c;
        r = sd_event_add_io(x->event, &x->console_src, c, EPOLLIN, on_console_conn, x);
        if (r < 0)
                log_warning_errno(r, "exec %d in %s: cannot watch its console socket: %m", (int) x->pid, x->name);
        return 0;
}

/* The console socket crun exec --tty connects to: in the instance's run directory, zerod's. */
static int console_listen(struct exec *x, const char *run_dir) {
        static unsigned counter;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int r;

        x->console_path = zero_strdup_printf("%s/exec-%u.sock", run_dir, ++counter);
        if (!x->console_path)
                return -ENOMEM;
        if (strlen(x->console_path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, x->console_path);
        x->console_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (x->console_fd < 0)
                return -errno;
        (void) unlink(x->console_path);
        if (bind(x->console_fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(x->console_fd, 1) < 0)
                return -errno;
        r = sd_event_add_io(x->event, &x->console_src, x->console_fd, EPOLLIN, on_console_listen, x);
        return r < 0 ? r : 0;
}

static void relay_over(struct zero_relay *r, bool gone, void *userdata) {
        exec_free(userdata);
}

static const struct zero_relay_ops exec_relay_ops = {.over = relay_over};

static void on_upgraded(struct zero_upgrade *u, int fd, const char *extra, size_t n_extra, void *userdata) {
        struct exec *x = userdata;
        int r = zero_relay_start(x->event, u, fd, extra, n_extra, &x->f, &exec_relay_ops, x, &x->relay);

        if (r < 0) {
                log_error_errno(r, "exec %d in %s: cannot relay its streams: %m", (int) x->pid, x->name);
                exec_free(x);
                return;
        }
        if (x->exited)
                zero_relay_exited(x->relay, x->code, x->signal);
}

static void exec_free_userdata(void *userdata) {
        exec_free(userdata);
}

static void exec_stop(void *userdata) {
        exec_free(userdata);
}

static const struct zero_upgrade_ops exec_upgrade_ops = {
        .upgraded = on_upgraded,
        .free_userdata = exec_free_userdata,
        .stop = exec_stop,
};

/* The body's command as the shim's arguments: the options crun exec takes, then cmd. Replies
 * and returns < 0 when the body is not one. */
static int exec_args(struct zero_request *req, json_t *body, const char *console, char ***ret) {
        json_t *cmd = json_object_get(body, "cmd"), *tty = json_object_get(body, "tty");
        json_t *env = json_object_get(body, "env"), *cwd = json_object_get(body, "cwd"), *v;
        const char *key;
        size_t i, n = 0;
        char **argv;

        json_object_foreach(body, key, v)
                if (!streq(key, "cmd") && !streq(key, "tty") && !streq(key, "env") && !streq(key, "cwd")) {
                        zero_reply_error(req, 422, "invalid", "unknown field '%s' (cmd, tty, env, cwd)", ZERO_QUOTE(key));
                        return -EINVAL;
                }
        if (!json_is_array(cmd) || json_array_size(cmd) == 0 || json_array_size(cmd) > ZERO_SHIM_EXEC_ARGS_MAX / 2) {
                zero_reply_error(req, 422, "invalid", "cmd: expected an array of 1 to %d strings",
                                 ZERO_SHIM_EXEC_ARGS_MAX / 2);
                return -EINVAL;
        }
        if (tty && !json_is_boolean(tty)) {
                zero_reply_error(req, 422, "invalid", "tty: expected true or false");
                return -EINVAL;
        }
        if (env && (!json_is_array(env) || json_array_size(env) > ZERO_SHIM_EXEC_ARGS_MAX / 4)) {
                zero_reply_error(req, 422, "invalid", "env: expected an array of at most %d \"KEY=VALUE\" strings",
                                 ZERO_SHIM_EXEC_ARGS_MAX / 4);
                return -EINVAL;
        }
        if (cwd && (!json_is_string(cwd) || json_string_value(cwd)[0] != '/' ||
                    strlen(json_string_value(cwd)) != json_string_length(cwd))) {
                zero_reply_error(req, 422, "invalid", "cwd: expected an absolute path");
                return -EINVAL;
        }
        argv = calloc(json_array_size(cmd) + json_array_size(env) + 7, sizeof(char *));
        if (!argv) {
                zero_reply_error(req, 500, "internal", "out of memory");
                return -ENOMEM;
        }
        if (console && (!(argv[n++] = strdup("--tty")) ||
                        !(argv[n++] = zero_strdup_printf("--console-socket=%s", console))))
                goto oom;
        json_array_foreach(env, i, v) {
                const char *s = json_string_value(v);
                if (!s || !strchr(s, '=') || s[0] == '=' || strlen(s) != json_string_length(v)) {
                        zero_reply_error(req, 422, "invalid", "env[%zu]: expected a \"KEY=VALUE\" string", i);
                        goto fail;
                }
                if (!(argv[n++] = zero_strdup_printf("--env=%s", s)))
                        goto oom;
        }
        /* crun exec's --env replaces the process's environment rather than adding to it: without
         * a PATH of the user's, the usual one (as the container's own process gets). */
        bool has_path = false;
        json_array_foreach(env, i, v)
                has_path |= strncmp(json_string_value(v), "PATH=", 5) == 0;
        if (json_array_size(env) > 0 && !has_path && !(argv[n++] = strdup("--env=" EXEC_DEFAULT_PATH)))
                goto oom;
        if (cwd && !(argv[n++] = zero_strdup_printf("--cwd=%s", json_string_value(cwd))))
                goto oom;
        json_array_foreach(cmd, i, v) {
                const char *s = json_string_value(v);
                /* The shim takes leading "-" arguments for options: a command never begins so. */
                if (!s || !*s || strlen(s) != json_string_length(v) || (i == 0 && s[0] == '-')) {
                        zero_reply_error(req, 422, "invalid",
                                         "cmd[%zu]: expected a non-empty string without NUL%s", i,
                                         i == 0 ? ", not beginning with '-'" : "");
                        goto fail;
                }
                if (!(argv[n++] = strdup(s)))
                        goto oom;
        }
        *ret = argv;
        return 0;
oom:
        zero_reply_error(req, 500, "internal", "out of memory");
fail:
        strv_free(argv);
        return -EINVAL;
}

/* A pipe whose zerod end (ours: 0 to read, 1 to write) is non-blocking, the other blocking as
 * a command's stdio is. */
static int stdio_pipe(int fds[2], int ours) {
        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        if (fcntl(fds[ours], F_SETFL, O_NONBLOCK) < 0) {
                int r = -errno;
                fds[0] = safe_close(fds[0]);
                fds[1] = safe_close(fds[1]);
                return r;
        }
        return 0;
}

static void close_pair(int fds[2]) {
        fds[0] = safe_close(fds[0]);
        fds[1] = safe_close(fds[1]);
}

int zero_api_stream_instance(struct zero_request *req, const char *what, struct zero_inst **ret) {
        struct zero_instance_row row = {};
        int r;

        if (!zero_request_wants_upgrade(req, ZERO_FRAME_PROTOCOL)) {
                zero_reply_error(req, 426, "upgrade_required",
                                 "%s streams over the connection: send Connection: Upgrade and Upgrade: " ZERO_FRAME_PROTOCOL,
                                 what);
                return -EINVAL;
        }
        if (!zero_http_upgrade_room(zero_request_server(req))) {
                zero_reply_error(req, 503, "busy", "too many execs and consoles at once (at most %d)", ZERO_UPGRADES_MAX);
                return -EBUSY;
        }
        r = zero_api_load_instance(req, &row);
        if (r < 0)
                return r;
        if (zero_inst_state_of(&row) != ZERO_INST_RUNNING) {
                zero_reply_error(req, 409, "wrong_state", "instance %s is %s: %s needs it running", row.name, row.state,
                                 what);
                zero_instance_row_done(&row);
                return -EBUSY;
        }
        r = zero_inst_get(zero_request_agent(req), row.id, row.name, ret);
        zero_instance_row_done(&row);
        if (r < 0)
                zero_reply_error(req, 500, "internal", "out of memory");
        return r;
}

void zero_api_exec_instance(struct zero_request *req) {
        struct zero_agent *a = zero_request_agent(req);
        struct zero_inst *inst;
        _cleanup_strv_free_ char **argv = NULL;
        int in[2] = {-EBADF, -EBADF}, out[2] = {-EBADF, -EBADF}, err_[2] = {-EBADF, -EBADF};
        struct zero_error err = {};
        struct exec *x;
        bool tty;
        int r;

        if (!json_is_object(zero_request_body(req)))
                return zero_reply_error(req, 422, "invalid", "a JSON object is expected: {\"cmd\": [...]}");
        if (exec_args(req, zero_request_body(req), NULL, &argv) < 0)
                return;
        tty = json_is_true(json_object_get(zero_request_body(req), "tty"));
        if (zero_api_stream_instance(req, "exec", &inst) < 0)
                return;
        x = calloc(1, sizeof(*x));
        if (!x || !(x->name = strdup(inst->name))) {
                free(x);
                return zero_reply_error(req, 500, "internal", "out of memory");
        }
        x->event = a->event;
        x->shim_fd = x->console_fd = -EBADF;
        x->f = (struct zero_relay_fds){.in = -EBADF, .out = -EBADF, .err = -EBADF};
        if (tty) {
                /* The command's stdio is the terminal crun makes; its own messages (a command
                 * not found) come on the stderr pipe. */
                r = console_listen(x, inst->run_dir);
                if (r < 0) {
                        zero_reply_error(req, 500, "internal", "cannot make the exec's console socket: %s", strerror(-r));
                        goto fail;
                }
                strv_free(TAKE_PTR(argv));
                if (exec_args(req, zero_request_body(req), x->console_path, &argv) < 0)
                        goto fail;
        }
        if ((r = stdio_pipe(in, 1)) < 0 || (r = stdio_pipe(out, 0)) < 0 || (r = stdio_pipe(err_, 0)) < 0) {
                zero_reply_error(req, 500, "internal", "cannot make the exec's pipes: %s", strerror(-r));
                goto fail;
        }
        r = zero_shim_exec(inst->run_dir, (const char *const *) argv, (int[]){in[0], tty ? err_[1] : out[1], err_[1]},
                           &x->shim_fd, &x->pid, &err);
        if (r < 0) {
                /* The shim's refusals: no exec for this runtime (a VM), too many, not running. */
                if (err.code == ZERO_E_RUNTIME && strstr(err.message, "too many"))
                        zero_reply_error(req, 503, "busy", "%s: %s", inst->name, err.message);
                else if (err.code == ZERO_E_RUNTIME)
                        zero_reply_error(req, 409, "conflict", "%s: %s", inst->name, err.message);
                else
                        zero_reply_zero_error(req, r, &err);
                goto fail;
        }
        log_info("exec %d in %s: %s (for %s)", (int) x->pid, inst->name,
                 json_string_value(json_array_get(json_object_get(zero_request_body(req), "cmd"), 0)),
                 zero_request_actor(req));
        if (tty)
                x->f = (struct zero_relay_fds){.in = -EBADF, .out = -EBADF, .err = TAKE_FD(err_[0]), .tty = true};
        else
                x->f = (struct zero_relay_fds){.in = TAKE_FD(in[1]), .out = TAKE_FD(out[0]), .err = TAKE_FD(err_[0])};
        r = sd_event_add_io(a->event, &x->shim_src, x->shim_fd, EPOLLIN, on_shim, x);
        if (r < 0) {
                zero_reply_error(req, 500, "internal", "cannot watch the exec: %s", strerror(-r));
                goto fail;
        }
        close_pair(in);
        close_pair(out);
        close_pair(err_);
        return zero_reply_upgrade(req, ZERO_FRAME_PROTOCOL, &exec_upgrade_ops, x);
fail:
        close_pair(in);
        close_pair(out);
        close_pair(err_);
        exec_free(x);
}
