/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zero-shim, run for real ($ZERO_SHIM) through the client library. Each test has its own
 * directory under /tmp. The test process is child subreaper, so the detached shims (and what
 * they leave behind) come back to it: it checks the shims' own exit status, and the teardown
 * kills and reaps everything a test started, found by a marker in the environment.
 * Every wait is bounded (TIMEOUT_MS) and done with poll().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common/util.h"
#include "shim/client.h"

#define TIMEOUT_MS 10000
#define MARK_ENV "ZERO_SHIM_TEST_MARK"

struct fx {
        char dir[PATH_MAX];
        int sync_fd;
        pid_t shim_pid;
};

static const char *shim_binary(void) {
        return getenv("ZERO_SHIM");
}

static void nap(void) {
        (void) poll(NULL, 0, 10);
}

static bool deadline_passed(uint64_t start) {
        return zero_monotonic_usec() - start > TIMEOUT_MS * USEC_PER_MSEC;
}

static char *path_in(const struct fx *f, const char *name) {
        char *p = zero_strdup_printf("%s/%s", f->dir, name);
        assert_non_null(p);
        return p;
}

static char *read_text(const char *path) {
        char *text = NULL;
        int r = zero_read_file(path, 8 << 20, &text, NULL);
        if (r < 0)
                fail_msg("cannot read %s: %s", path, strerror(-r));
        return text;
}

static bool exists_in(const struct fx *f, const char *name) {
        _cleanup_free_ char *p = path_in(f, name);
        return access(p, F_OK) == 0;
}

/* "pid (comm) S ppid ...": comm may hold spaces and parentheses, so parse from the last ')'. */
static int proc_stat(pid_t pid, char *ret_state, pid_t *ret_ppid, char comm[static 32]) {
        char path[64], buf[1024], *open_paren, *close_paren;
        int ppid = 0;
        ssize_t n;
        int fd;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                return -EIO;
        buf[n] = '\0';
        open_paren = strchr(buf, '(');
        close_paren = strrchr(buf, ')');
        if (!open_paren || !close_paren || sscanf(close_paren + 1, " %c %d", ret_state, &ppid) != 2)
                return -EIO;
        snprintf(comm, 32, "%.*s", (int) (close_paren - open_paren - 1), open_paren + 1);
        *ret_ppid = ppid;
        return 0;
}

static bool proc_alive(pid_t pid) {
        char state, comm[32];
        pid_t ppid;

        return proc_stat(pid, &state, &ppid, comm) >= 0 && state != 'Z' && state != 'X';
}

static bool has_mark(pid_t pid, const char *mark) {
        char path[64], buf[16384];
        size_t len = 0, mlen = strlen(mark);
        ssize_t n;
        int fd;

        snprintf(path, sizeof(path), "/proc/%d/environ", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
                len += (size_t) n;
        close(fd);
        for (size_t i = 0; i < len; i += strlen(buf + i) + 1) {
                buf[len] = '\0';
                if (strncmp(buf + i, MARK_ENV "=", sizeof(MARK_ENV)) == 0 &&
                    strncmp(buf + i + sizeof(MARK_ENV), mark, mlen + 1) == 0)
                        return true;
        }
        return false;
}

/* Calls fn for every process but ourselves. */
static void for_each_process(void (*fn)(pid_t pid, void *userdata), void *userdata) {
        DIR *d = opendir("/proc");
        struct dirent *de;

        assert_non_null(d);
        while ((de = readdir(d))) {
                int64_t pid;
                if (zero_parse_int64(de->d_name, 1, INT_MAX, &pid) < 0 || pid == getpid())
                        continue;
                fn((pid_t) pid, userdata);
        }
        closedir(d);
}

static void kill_if_marked(pid_t pid, void *userdata) {
        if (has_mark(pid, userdata))
                (void) kill(pid, SIGKILL);
}

struct find_shim {
        pid_t exclude, found;
};

static void find_shim_child(pid_t pid, void *userdata) {
        struct find_shim *fs = userdata;
        char state, comm[32];
        pid_t ppid;

        if (pid != fs->exclude && proc_stat(pid, &state, &ppid, comm) >= 0 && ppid == getpid() &&
            streq(comm, "zero-shim"))
                fs->found = pid;
}

static int setup(void **state) {
        struct fx *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        snprintf(f->dir, sizeof(f->dir), "/tmp/zero-shim-test.XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        f->sync_fd = -EBADF;
        /* Everything the shims start inherits it: the teardown finds them all by it. */
        assert_int_equal(setenv(MARK_ENV, f->dir, 1), 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fx *f = *state;
        uint64_t start = zero_monotonic_usec();

        for (;;) {
                pid_t pid;

                for_each_process(kill_if_marked, f->dir);
                while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
                        ;
                if (pid < 0 && errno == ECHILD)
                        break; /* we are subreaper: no child left means nothing left */
                if (deadline_passed(start)) {
                        fprintf(stderr, "teardown: children left behind\n");
                        break;
                }
                nap();
        }
        f->sync_fd = safe_close(f->sync_fd);
        (void) zero_rm_rf(f->dir);
        unsetenv(MARK_ENV);
        free(f);
        return 0;
}

static int spawn(struct fx *f, struct zero_shim_spawn_args *a, struct zero_error *err) {
        struct find_shim fs = {.exclude = f->shim_pid};
        int r, fd = -EBADF;

        a->shim_path = shim_binary();
        if (!a->id)
                a->id = "test-instance";
        if (!a->dir)
                a->dir = f->dir;
        r = zero_shim_spawn(a, &fd, err);
        if (r < 0)
                return r;
        f->sync_fd = safe_close(f->sync_fd);
        f->sync_fd = fd;
        /* The shim's first process was reaped by zero_shim_spawn(); the shim proper came to us. */
        for_each_process(find_shim_child, &fs);
        assert_true(fs.found > 0);
        f->shim_pid = fs.found;
        return 0;
}

/* The one line the shim writes on the sync pipe, without the newline. */
static void read_sync(struct fx *f, char *buf, size_t size) {
        uint64_t start = zero_monotonic_usec();
        size_t len = 0;

        while (len + 1 < size && !memchr(buf, '\n', len)) {
                struct pollfd p = {.fd = f->sync_fd, .events = POLLIN};
                ssize_t n;

                if (deadline_passed(start))
                        fail_msg("no report from zero-shim in time");
                if (poll(&p, 1, 100) <= 0)
                        continue;
                n = read(f->sync_fd, buf + len, size - 1 - len);
                if (n < 0 && errno == EAGAIN)
                        continue;
                if (n <= 0)
                        break;
                len += (size_t) n;
                buf[len] = '\0';
        }
        buf[len] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
}

static pid_t expect_ok(struct fx *f) {
        char line[1024];
        struct zero_error err = {};
        pid_t pid = 0;

        read_sync(f, line, sizeof(line));
        if (zero_shim_parse_sync(line, &pid, &err) < 0)
                fail_msg("zero-shim reported: %s", line);
        return pid;
}

/* Reaps the shim (it came to us, the subreaper); its exit code, or 128+signal. */
static int wait_shim_status(struct fx *f) {
        uint64_t start = zero_monotonic_usec();
        int status;

        for (;;) {
                pid_t r = waitpid(f->shim_pid, &status, WNOHANG);
                if (r == f->shim_pid)
                        break;
                assert_int_equal(r, 0);
                if (deadline_passed(start))
                        fail_msg("zero-shim %d did not exit", (int) f->shim_pid);
                nap();
        }
        assert_int_equal(kill(f->shim_pid, 0), -1);
        assert_int_equal(errno, ESRCH);
        return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

static int wait_shim(struct fx *f) {
        uint64_t start = zero_monotonic_usec();
        int status;

        for (;;) {
                pid_t r = waitpid(f->shim_pid, &status, WNOHANG);
                if (r == f->shim_pid)
                        break;
                assert_int_equal(r, 0);
                if (deadline_passed(start))
                        fail_msg("zero-shim %d did not exit", (int) f->shim_pid);
                nap();
        }
        assert_int_equal(kill(f->shim_pid, 0), -1);
        assert_int_equal(errno, ESRCH);
        assert_true(WIFEXITED(status));
        return WEXITSTATUS(status);
}

static int connect_to(struct fx *f) {
        int fd = -EBADF;
        assert_int_equal(zero_shim_connect(f->dir, false, &fd), 0);
        return fd;
}

/* One request on a connection of its own. */
static char *ask(struct fx *f, const char *req) {
        char *reply = NULL;
        int fd = connect_to(f), r;

        r = zero_shim_request_timeout(fd, req, TIMEOUT_MS, &reply);
        close(fd);
        if (r < 0)
                fail_msg("request \"%s\": %s", req, strerror(-r));
        return reply;
}

static void expect_reply(struct fx *f, const char *req, const char *want) {
        _cleanup_free_ char *reply = ask(f, req);
        if (!streq(reply, want))
                fail_msg("request \"%s\": got \"%s\", want \"%s\"", req, reply, want);
}

static char *recv_reply(int fd) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        char *buf = calloc(1, ZERO_SHIM_MSG_MAX + 1);
        ssize_t n;

        assert_non_null(buf);
        assert_int_equal(poll(&p, 1, TIMEOUT_MS), 1);
        n = recv(fd, buf, ZERO_SHIM_MSG_MAX, MSG_DONTWAIT);
        assert_true(n >= 0);
        buf[n] = '\0';
        return buf;
}

static void write_file(const char *path, const char *text, mode_t mode) {
        assert_int_equal(zero_write_file_atomic(path, text, strlen(text), mode), 0);
}

static void test_client_arguments(void **state) {
        struct fx *f = *state;
        struct zero_shim_spawn_args a = {};
        struct zero_shim_exit e = {};
        struct zero_error err = {};
        const char *argv[] = {"true", NULL};
        char *reply = NULL;
        pid_t pid = 0;
        int fd = -EBADF;

        assert_int_equal(zero_shim_spawn(NULL, &fd, NULL), -EINVAL);
        assert_int_equal(zero_shim_spawn(&a, NULL, NULL), -EINVAL);
        assert_int_equal(zero_shim_spawn(&a, &fd, &err), -EINVAL);
        assert_int_equal(zero_shim_parse_sync(NULL, &pid, NULL), -EINVAL);
        assert_int_equal(zero_shim_parse_sync("ok 1", NULL, NULL), -EINVAL);
        assert_int_equal(zero_shim_read_exit(NULL, &e), -EINVAL);
        assert_int_equal(zero_shim_read_exit(f->dir, NULL), -EINVAL);
        assert_int_equal(zero_shim_parse_exited(NULL, &e), -EINVAL);
        assert_int_equal(zero_shim_connect(NULL, false, &fd), -EINVAL);
        assert_int_equal(zero_shim_request(-1, "status", &reply), -EINVAL);
        assert_int_equal(zero_shim_request(0, NULL, &reply), -EINVAL);

        assert_int_equal(zero_shim_parse_sync("ok 1234\n", &pid, NULL), 0);
        assert_int_equal(pid, 1234);
        assert_int_equal(zero_shim_parse_sync("error crun failed (exit 1): boom\n", &pid, &err), -EIO);
        assert_string_equal(err.message, "crun failed (exit 1): boom");
        assert_int_equal(zero_shim_parse_sync("error \n", &pid, &err), -EIO);
        assert_string_equal(err.message, "zero-shim reported an error without a reason");
        assert_int_equal(zero_shim_parse_sync("", &pid, NULL), -EBADMSG);
        assert_int_equal(zero_shim_parse_sync("ok -3", &pid, NULL), -EBADMSG);
        assert_int_equal(zero_shim_parse_sync("ok 12x", &pid, NULL), -EBADMSG);
        assert_int_equal(zero_shim_parse_sync("hello", &pid, NULL), -EBADMSG);
        assert_int_equal(pid, 1234); /* untouched on failure */

        assert_int_equal(zero_shim_parse_exited("exited pid=7 code=143 signal=15", &e), 0);
        assert_int_equal(e.pid, 7);
        assert_int_equal(e.code, 143);
        assert_int_equal(e.signal, 15);
        assert_int_equal(zero_shim_parse_exited("exited pid=7", &e), -EBADMSG);
        assert_int_equal(zero_shim_parse_exited("exited pid=x code=1 signal=0", &e), -EBADMSG);
        assert_int_equal(zero_shim_parse_exited("running pid=7", &e), -EBADMSG);
        assert_int_equal(zero_shim_parse_exited("exited pid=7 code=999 signal=0", &e), -EBADMSG);
        assert_int_equal(e.pid, 7);

        assert_int_equal(zero_shim_read_exit(f->dir, &e), -ENOENT);
        assert_int_equal(zero_shim_read_pid(NULL, &pid), -EINVAL);
        assert_int_equal(zero_shim_read_pid(f->dir, &pid), -ENOENT);
        {
                _cleanup_free_ char *p = path_in(f, "pid");
                write_file(p, "4321\n", 0644);
                assert_int_equal(zero_shim_read_pid(f->dir, &pid), 0);
                assert_int_equal(pid, 4321);
                write_file(p, "0\n", 0644);
                assert_int_equal(zero_shim_read_pid(f->dir, &pid), -EBADMSG);
                write_file(p, "12x", 0644);
                assert_int_equal(zero_shim_read_pid(f->dir, &pid), -EBADMSG);
                assert_int_equal(pid, 4321); /* untouched on failure */
                (void) unlink(p);
        }
        {
                _cleanup_free_ char *p = path_in(f, "exit");
                write_file(p, "pid=9\ncode=3\nsignal=0\ntime=42\nfuture=1\n", 0644);
                assert_int_equal(zero_shim_read_exit(f->dir, &e), 0);
                assert_int_equal(e.pid, 9);
                assert_int_equal(e.code, 3);
                assert_int_equal(e.time, 42);
                write_file(p, "garbage", 0644);
                assert_int_equal(zero_shim_read_exit(f->dir, &e), -EBADMSG);
        }

        fd = -EBADF;
        assert_int_equal(zero_shim_connect(f->dir, false, &fd), -ENOENT);
        assert_int_equal(fd, -EBADF);

        /* Refused before anything runs, with a reason. */
        a = (struct zero_shim_spawn_args){.shim_path = "/nonexistent/zero-shim", .id = "x", .dir = f->dir, .argv = argv};
        memset(&err, 0, sizeof(err));
        assert_int_equal(zero_shim_spawn(&a, &fd, &err), -EIO);
        assert_non_null(strstr(err.message, "cannot execute /nonexistent/zero-shim"));
        a.shim_path = shim_binary();
        a.log_max = 10;
        assert_int_equal(zero_shim_spawn(&a, &fd, &err), -ERANGE);
        a.log_max = 0;
        a.dir = "/nonexistent/dir";
        memset(&err, 0, sizeof(err));
        assert_int_equal(zero_shim_spawn(&a, &fd, &err), -EIO);
        assert_non_null(strstr(err.message, "cannot open /nonexistent/dir"));
}

static void test_exit_code(void **state) {
        struct fx *f = *state;
        const char *argv[] = {"sh", "-c", "echo hello; exit 3", NULL};
        struct zero_shim_spawn_args a = {.argv = argv};
        struct zero_shim_exit e = {};
        _cleanup_free_ char *log = NULL, *log_path = path_in(f, "console.log");
        pid_t pid;

        assert_int_equal(spawn(f, &a, NULL), 0);
        pid = expect_ok(f);
        assert_int_equal(wait_shim(f), 0);

        log = read_text(log_path);
        assert_string_equal(log, "hello\n");
        assert_int_equal(zero_shim_read_exit(f->dir, &e), 0);
        assert_int_equal(e.pid, pid);
        assert_int_equal(e.code, 3);
        assert_int_equal(e.signal, 0);
        assert_true(e.time > 0 && e.time <= zero_now_usec());
        /* Only the record and the log stay behind. */
        assert_false(exists_in(f, "shim.sock"));
        assert_false(exists_in(f, "shim.pid"));
        assert_false(exists_in(f, "pid"));
        assert_false(exists_in(f, "exit.tmp"));
}

/* The first fd beyond stdio that pid holds, or -1; its target in ret. */
static int extra_fd(pid_t pid, char ret[static PATH_MAX]) {
        char path[384];
        struct dirent *de;
        int found = -1;
        DIR *d;

        snprintf(path, sizeof(path), "/proc/%d/fd", (int) pid);
        d = opendir(path);
        assert_non_null(d);
        while ((de = readdir(d)) && found < 0) {
                ssize_t n;
                if (de->d_name[0] == '.' || atoi(de->d_name) < 3)
                        continue;
                found = atoi(de->d_name);
                snprintf(path, sizeof(path), "/proc/%d/fd/%s", (int) pid, de->d_name);
                n = readlink(path, ret, PATH_MAX - 1);
                ret[n > 0 ? n : 0] = '\0';
        }
        closedir(d);
        return found;
}

static void expect_only_stdio(pid_t pid) {
        char path[64], target[PATH_MAX];
        uint64_t start = zero_monotonic_usec();
        ssize_t n;
        int fd;

        /* The program may hold a file for a moment as it starts (sleep reads the locale): what
         * counts is that nothing stays open. */
        while ((fd = extra_fd(pid, target)) >= 0) {
                if (deadline_passed(start))
                        fail_msg("process %d inherited fd %d -> %s", (int) pid, fd, target);
                nap();
        }
        snprintf(path, sizeof(path), "/proc/%d/fd/0", (int) pid);
        n = readlink(path, target, sizeof(target) - 1);
        assert_true(n > 0);
        target[n] = '\0';
        assert_string_equal(target, "/dev/null");
}

static void expect_status_field(pid_t pid, const char *field, const char *want) {
        char path[64];
        _cleanup_free_ char *text = NULL;
        const char *p;

        snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
        text = read_text(path);
        p = strstr(text, field);
        assert_non_null(p);
        p += strlen(field);
        p += strspn(p, " \t");
        assert_int_equal(strncmp(p, want, strlen(want)), 0);
}

static void test_signal_and_wait(void **state) {
        struct fx *f = *state;
        const char *argv[] = {"sleep", "1000", NULL};
        struct zero_shim_spawn_args a = {.argv = argv};
        struct zero_shim_exit e = {}, w = {};
        _cleanup_free_ char *running = NULL, *reply = NULL, *reply2 = NULL, *pid_text = NULL,
                            *shim_pid_text = NULL, *p1 = path_in(f, "pid"), *p2 = path_in(f, "shim.pid");
        int wait_fd, wait_fd2;
        pid_t pid;

        assert_int_equal(spawn(f, &a, NULL), 0);
        pid = expect_ok(f);
        assert_true(proc_alive(pid));
        /* Its own session: it outlives whoever started it. */
        assert_int_equal(getsid(f->shim_pid), f->shim_pid);

        running = zero_strdup_printf("running pid=%d", (int) pid);
        expect_reply(f, "status", running);
        pid_text = read_text(p1);
        shim_pid_text = read_text(p2);
        assert_int_equal(atoi(pid_text), pid);
        {
                pid_t from_file = 0;
                /* What a zerod that missed the report reads (agent: zero_inst_record_pid). */
                assert_int_equal(zero_shim_read_pid(f->dir, &from_file), 0);
                assert_int_equal(from_file, pid);
        }
        assert_int_equal(atoi(shim_pid_text), f->shim_pid);

        /* Hygiene of what it runs: stdio only, no blocked or ignored signals. */
        expect_only_stdio(pid);
        expect_status_field(pid, "SigBlk:", "0000000000000000");
        expect_status_field(pid, "SigIgn:", "0000000000000000");
        {
                char path[64], target[PATH_MAX];
                ssize_t n;
                for (int i = 0; i < 3; i++) {
                        snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int) f->shim_pid, i);
                        n = readlink(path, target, sizeof(target) - 1);
                        assert_true(n > 0);
                        target[n] = '\0';
                        assert_string_equal(target, "/dev/null");
                }
        }

        /* The shim lives as long as its instance. */
        assert_int_equal(kill(f->shim_pid, SIGTERM), 0);
        assert_int_equal(kill(f->shim_pid, SIGHUP), 0);
        expect_reply(f, "status", running);

        wait_fd = connect_to(f);
        wait_fd2 = connect_to(f);
        assert_int_equal(send(wait_fd, "wait", 4, 0), 4);
        assert_int_equal(send(wait_fd2, "wait", 4, 0), 4);
        expect_reply(f, "signal 15", "ok");

        reply = recv_reply(wait_fd);
        reply2 = recv_reply(wait_fd2);
        close(wait_fd);
        close(wait_fd2);
        assert_string_equal(reply, reply2);
        assert_int_equal(zero_shim_parse_exited(reply, &w), 0);
        assert_int_equal(w.pid, pid);
        assert_int_equal(w.signal, 15);
        assert_int_equal(w.code, 143);

        assert_int_equal(wait_shim(f), 0);
        assert_int_equal(zero_shim_read_exit(f->dir, &e), 0);
        assert_int_equal(e.pid, pid);
        assert_int_equal(e.signal, 15);
        assert_int_equal(e.code, 143);
        assert_false(proc_alive(pid));
        assert_false(exists_in(f, "shim.sock"));
        assert_false(exists_in(f, "shim.pid"));
}

static void test_bad_requests(void **state) {
        struct fx *f = *state;
        const char *argv[] = {"sleep", "1000", NULL};
        struct zero_shim_spawn_args a = {.argv = argv};
        const char *bad[] = {"signal 999", "signal 0", "signal -1", "signal", "signal x", "signal 9 9",
                             "bogus", "", "status now", "wait please", "console -1", "console x",
                             "console", "STATUS", " status"};
        _cleanup_free_ char *running = NULL, *reply = NULL;
        char big[ZERO_SHIM_REQUEST_MAX * 2];
        int fd, r;
        pid_t pid;

        assert_int_equal(spawn(f, &a, NULL), 0);
        pid = expect_ok(f);
        running = zero_strdup_printf("running pid=%d", (int) pid);

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *rep = ask(f, bad[i]);
                if (strncmp(rep, "error ", 6) != 0)
                        fail_msg("request \"%s\": got \"%s\"", bad[i], rep);
        }
        expect_reply(f, "bogus", "error unknown request");

        /* Longer than the shim reads, and with a NUL inside: raw packets. */
        fd = connect_to(f);
        memset(big, 'x', sizeof(big));
        assert_int_equal(send(fd, big, sizeof(big), 0), (ssize_t) sizeof(big));
        reply = recv_reply(fd);
        assert_string_equal(reply, "error request too long");
        free(reply);
        assert_int_equal(send(fd, "sta\0tus", 7, 0), 7);
        reply = recv_reply(fd);
        assert_string_equal(reply, "error malformed request");
        free(reply);
        reply = NULL;
        /* Several requests on one connection. */
        r = zero_shim_request_timeout(fd, "status", TIMEOUT_MS, &reply);
        assert_int_equal(r, 0);
        assert_string_equal(reply, running);
        close(fd);

        /* Clients that leave: before asking, without reading the answer, after a shutdown. */
        close(connect_to(f));
        fd = connect_to(f);
        assert_int_equal(send(fd, "console 65536", 13, 0), 13);
        close(fd);
        fd = connect_to(f);
        assert_int_equal(send(fd, "status", 6, 0), 6);
        assert_int_equal(shutdown(fd, SHUT_WR), 0);
        free(reply);
        reply = recv_reply(fd);
        assert_string_equal(reply, running);
        close(fd);

        /* Still serving. */
        expect_reply(f, "status", running);
        expect_reply(f, "signal 9", "ok");
        assert_int_equal(wait_shim(f), 0);
}

static void test_many_clients(void **state) {
        struct fx *f = *state;
        const char *argv[] = {"sleep", "1000", NULL};
        struct zero_shim_spawn_args a = {.argv = argv};
        _cleanup_free_ char *running = NULL, *reply = NULL;
        int fds[80];
        pid_t pid;

        assert_int_equal(spawn(f, &a, NULL), 0);
        pid = expect_ok(f);
        running = zero_strdup_printf("running pid=%d", (int) pid);
        /* More than the shim serves at once: the extra ones are told so, the others work. */
        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                fds[i] = connect_to(f);
        for (size_t i = 0; i < ELEMENTSOF(fds); i++) {
                char *rep = NULL;
                int r = zero_shim_request_timeout(fds[i], "status", TIMEOUT_MS, &rep);
                if (r == 0 && !streq(rep, running) && !streq(rep, "error too many clients"))
                        fail_msg("client %zu: %s", i, rep);
                free(rep);
        }
        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                close(fds[i]);
        expect_reply(f, "status", running);
        expect_reply(f, "signal 9", "ok");
        assert_int_equal(wait_shim(f), 0);
}

/* console.log.1 then console.log, as the shim's tail sees them. */
static char *read_both_logs(struct fx *f, size_t *ret_len) {
        _cleanup_free_ char *p_old = path_in(f, "console.log.1"), *p_cur = path_in(f, "console.log");
        _cleanup_free_ char *old = NULL, *cur = read_text(p_cur);
        char *all;

        if (access(p_old, F_OK) == 0)
                old = read_text(p_old);
        all = zero_strdup_printf("%s%s", strempty(old), cur);
        assert_non_null(all);
        *ret_len = strlen(all);
        return all;
}

static void test_console_tail(void **state) {
        struct fx *f = *state;
        const char *argv[] = {"sh", "-c", "seq 1 3000; exec sleep 1000", NULL};
        struct zero_shim_spawn_args a = {.argv = argv, .log_max = 4096};
        _cleanup_free_ char *all = NULL;
        uint64_t start = zero_monotonic_usec();
        size_t len;

        assert_int_equal(spawn(f, &a, NULL), 0);
        (void) expect_ok(f);
        for (;;) {
                _cleanup_free_ char *t = ask(f, "console 6");
                if (streq(t, "\n3000\n"))
                        break;
                if (deadline_passed(start))
                        fail_msg("console output incomplete: \"%s\"", t);
                nap();
        }
        all = read_both_logs(f, &len);
        assert_true(len > 5000); /* so the tail below spans both files */
        {
                _cleanup_free_ char *t = ask(f, "console 5000");
                assert_int_equal(strlen(t), 5000);
                assert_memory_equal(t, all + len - 5000, 5000);
        }
        {
                _cleanup_free_ char *t = ask(f, "console 3");
                assert_string_equal(t, "00\n");
        }
        {
                /* More than both files hold (and more than the cap): all there is. */
                _cleanup_free_ char *t = ask(f, "console 10000000");
                assert_string_equal(t, all);
        }
        {
                _cleanup_free_ char *t = ask(f, "console 0");
                assert_string_equal(t, "");
        }
        expect_reply(f, "signal 9", "ok");
        assert_int_equal(wait_shim(f), 0);
}

/* Every fd the shim holds beyond stdio is O_CLOEXEC and none was inherited. */
static void expect_shim_fds_clean(pid_t shim) {
        char path[384], target[PATH_MAX];
        struct dirent *de;
        DIR *d;

        snprintf(path, sizeof(path), "/proc/%d/fd", (int) shim);
        d = opendir(path);
        assert_non_null(d);
        while ((de = readdir(d))) {
                _cleanup_free_ char *info = NULL;
                unsigned long flags = 0;
                const char *p;
                ssize_t n;

                if (de->d_name[0] == '.' || atoi(de->d_name) < 3)
                        continue;
                snprintf(path, sizeof(path), "/proc/%d/fd/%s", (int) shim, de->d_name);
                n = readlink(path, target, sizeof(target) - 1);
                if (n < 0 && errno == ENOENT)
                        continue; /* closed meanwhile (the sync fd, right after "ok") */
                assert_true(n > 0);
                target[n] = '\0';
                if (streq(target, "/dev/null"))
                        fail_msg("zero-shim kept an inherited fd %s -> %s", de->d_name, target);
                snprintf(path, sizeof(path), "/proc/%d/fdinfo/%s", (int) shim, de->d_name);
                if (zero_read_file(path, 4096, &info, NULL) < 0)
                        continue;
                p = strstr(info, "flags:");
                assert_non_null(p);
                flags = strtoul(p + 6, NULL, 8);
                if (!(flags & O_CLOEXEC))
                        fail_msg("zero-shim fd %s (%s) is not O_CLOEXEC", de->d_name, target);
        }
        closedir(d);
}

static void test_shim_killed(void **state) {
        struct fx *f = *state;
        const char *argv[] = {"sleep", "1000", NULL};
        struct zero_shim_spawn_args a = {.argv = argv};
        uint64_t start = zero_monotonic_usec();
        int leak, status;
        pid_t pid, r;

        /* Not O_CLOEXEC on purpose: the shim must close what it inherits. */
        leak = open("/dev/null", O_RDONLY);
        assert_true(leak >= 0);
        assert_int_equal(spawn(f, &a, NULL), 0);
        close(leak);
        pid = expect_ok(f);
        expect_shim_fds_clean(f->shim_pid);

        /* The main process must not outlive its supervisor (PR_SET_PDEATHSIG): it is killed,
         * and comes to us, the test's subreaper, to be reaped. */
        assert_int_equal(kill(f->shim_pid, SIGKILL), 0);
        assert_int_equal(wait_shim_status(f), SIGKILL);
        while ((r = waitpid(pid, &status, WNOHANG)) == 0) {
                if (deadline_passed(start))
                        fail_msg("main process survived its shim");
                nap();
        }
        assert_int_equal(r, pid);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGKILL);
        /* No exit record: nobody saw the end. zerod finds the socket dead and no record. */
        assert_false(exists_in(f, "exit"));
        assert_int_equal(zero_shim_connect(f->dir, false, &(int){-EBADF}), -ECONNREFUSED);
}

static void test_console_tail_max(void **state) {
        struct fx *f = *state;
        const char *argv[] = {"sh", "-c", "seq 1 20000; exec sleep 1000", NULL};
        struct zero_shim_spawn_args a = {.argv = argv};
        _cleanup_free_ char *expected = NULL;
        uint64_t start = zero_monotonic_usec();
        size_t elen = 0;

        expected = malloc(20000 * 6 + 1);
        assert_non_null(expected);
        for (int i = 1; i <= 20000; i++)
                elen += (size_t) sprintf(expected + elen, "%d\n", i);
        assert_true(elen > ZERO_SHIM_CONSOLE_TAIL_MAX);

        assert_int_equal(spawn(f, &a, NULL), 0);
        (void) expect_ok(f);
        for (;;) {
                _cleanup_free_ char *t = ask(f, "console 7");
                if (streq(t, "\n20000\n"))
                        break;
                if (deadline_passed(start))
                        fail_msg("console output incomplete: \"%s\"", t);
                nap();
        }
        {
                /* Asking for more gets the cap: the newest 64 KiB. */
                _cleanup_free_ char *t = ask(f, "console 1000000");
                assert_int_equal(strlen(t), ZERO_SHIM_CONSOLE_TAIL_MAX);
                assert_memory_equal(t, expected + elen - ZERO_SHIM_CONSOLE_TAIL_MAX, ZERO_SHIM_CONSOLE_TAIL_MAX);
        }
        expect_reply(f, "signal 9", "ok");
        assert_int_equal(wait_shim(f), 0);
}

static void test_console_cap(void **state) {
        struct fx *f = *state;
        const char *argv[] = {"seq", "1", "20000", NULL};
        const uint64_t cap = 4096;
        struct zero_shim_spawn_args a = {.argv = argv, .log_max = cap};
        _cleanup_free_ char *all = NULL, *expected = NULL, *p_old = path_in(f, "console.log.1"),
                            *p_cur = path_in(f, "console.log");
        struct stat st_old, st_cur;
        size_t len, elen = 0;

        assert_int_equal(spawn(f, &a, NULL), 0);
        (void) expect_ok(f);
        assert_int_equal(wait_shim(f), 0);

        expected = malloc(20000 * 6 + 1);
        assert_non_null(expected);
        for (int i = 1; i <= 20000; i++)
                elen += (size_t) sprintf(expected + elen, "%d\n", i);
        assert_true(elen > 3 * cap);

        assert_int_equal(stat(p_old, &st_old), 0);
        assert_int_equal(stat(p_cur, &st_cur), 0);
        assert_true((uint64_t) st_old.st_size <= cap);
        assert_true((uint64_t) st_cur.st_size <= cap);
        /* Nothing lost at the end: the two files are the newest output, in order. */
        all = read_both_logs(f, &len);
        assert_true(len >= cap);
        assert_memory_equal(all, expected + elen - len, len);
}

static void write_runtime(struct fx *f, char **ret_script, char **ret_pid_file) {
        *ret_script = path_in(f, "runtime.sh");
        *ret_pid_file = path_in(f, "ctr.pid");
        /* Like `crun create`: leaves the instance running, writes its pid, exits 0. */
        write_file(*ret_script,
                   "#!/bin/sh\n"
                   "sleep 1000 &\n"
                   "echo $! > \"$1\"\n"
                   "echo created\n"
                   "exit 0\n",
                   0755);
}

static void test_pid_file(void **state) {
        struct fx *f = *state;
        _cleanup_free_ char *script = NULL, *pid_file = NULL, *start_cmd = NULL, *cleanup_cmd = NULL,
                            *reply = NULL, *pid_text = NULL, *cleaned = NULL, *p_cleaned = path_in(f, "cleaned"),
                            *running = NULL;
        struct zero_shim_exit e = {}, w = {};
        pid_t pid;
        int wait_fd;

        write_runtime(f, &script, &pid_file);
        start_cmd = zero_strdup_printf("echo started > '%s/started'", f->dir);
        cleanup_cmd = zero_strdup_printf("test -e '%s/started' && echo cleaned > '%s/cleaned'", f->dir, f->dir);
        {
                const char *argv[] = {script, pid_file, NULL};
                const char *start[] = {"sh", "-c", start_cmd, NULL};
                const char *cleanup[] = {"sh", "-c", cleanup_cmd, NULL};
                struct zero_shim_spawn_args a = {
                        .argv = argv, .pid_file = pid_file, .start_argv = start, .cleanup_argv = cleanup};
                assert_int_equal(spawn(f, &a, NULL), 0);
        }
        pid = expect_ok(f);
        pid_text = read_text(pid_file);
        assert_int_equal(atoi(pid_text), pid);
        assert_true(proc_alive(pid));
        /* Started before the report, cleaned only after the exit. */
        assert_true(exists_in(f, "started"));
        assert_false(exists_in(f, "cleaned"));
        running = zero_strdup_printf("running pid=%d", (int) pid);
        expect_reply(f, "status", running);
        {
                uint64_t start = zero_monotonic_usec();
                for (;;) {
                        char state_c, comm[32];
                        pid_t ppid;
                        assert_int_equal(proc_stat(pid, &state_c, &ppid, comm), 0);
                        /* Reparented to the shim, its subreaper, when the runtime exited. */
                        assert_int_equal(ppid, f->shim_pid);
                        if (streq(comm, "sleep"))
                                break;
                        if (deadline_passed(start))
                                fail_msg("main process is %s, not sleep", comm);
                        nap();
                }
        }

        wait_fd = connect_to(f);
        assert_int_equal(send(wait_fd, "wait", 4, 0), 4);
        expect_reply(f, "signal 9", "ok");
        reply = recv_reply(wait_fd);
        close(wait_fd);
        assert_int_equal(zero_shim_parse_exited(reply, &w), 0);
        assert_int_equal(w.pid, pid);
        assert_int_equal(w.signal, 9);
        assert_int_equal(w.code, 137);
        /* The exit record is written after the cleanup ran. */
        cleaned = read_text(p_cleaned);
        assert_string_equal(cleaned, "cleaned\n");
        assert_int_equal(wait_shim(f), 0);
        assert_int_equal(zero_shim_read_exit(f->dir, &e), 0);
        assert_int_equal(e.pid, pid);
        assert_int_equal(e.signal, 9);
        assert_int_equal(e.code, 137);
}

/* Waits (bounded) until the file NAME appears in the test's directory. */
static void wait_for_file(struct fx *f, const char *name) {
        uint64_t start = zero_monotonic_usec();

        while (!exists_in(f, name)) {
                if (deadline_passed(start))
                        fail_msg("%s did not appear", name);
                nap();
        }
}

/* A request answered within QUICK_MS: the shim serves its socket from its poll loop, never
 * waiting for a command. Generous against a loaded machine, far below the command's wait. */
#define QUICK_MS 1000
static void expect_quick_reply(struct fx *f, const char *req, const char *want) {
        uint64_t start = zero_monotonic_usec(), ms;
        _cleanup_free_ char *reply = NULL;
        int fd = -EBADF, r;

        assert_int_equal(zero_shim_connect_timeout(f->dir, QUICK_MS, &fd), 0);
        r = zero_shim_request_timeout(fd, req, QUICK_MS, &reply);
        close(fd);
        ms = (zero_monotonic_usec() - start) / USEC_PER_MSEC;
        if (r < 0)
                fail_msg("request \"%s\" while a command runs: %s after %llu ms", req, strerror(-r),
                         (unsigned long long) ms);
        if (!streq(reply, want))
                fail_msg("request \"%s\": got \"%s\", want \"%s\"", req, reply, want);
}

/* The create command (crun run --detach) may take long or hang: meanwhile the socket answers,
 * the instance is "starting", a signal is refused (there is no main pid to send it to), and a
 * second shim in the same directory is refused. */
static void test_serves_while_create_runs(void **state) {
        struct fx *f = *state;
        _cleanup_free_ char *script = path_in(f, "slow-create.sh"), *pid_file = path_in(f, "ctr.pid"),
                            *body = NULL, *running = NULL, *go = path_in(f, "go");
        struct pollfd p = {.fd = -EBADF, .events = POLLIN};
        struct zero_error err = {};
        pid_t pid;

        body = zero_strdup_printf("#!/bin/sh\n"
                                  "touch '%s/creating'\n"
                                  "while ! test -e '%s/go'; do sleep 0.02; done\n"
                                  "sleep 1000 &\n"
                                  "echo $! > \"$1\"\n",
                                  f->dir, f->dir);
        write_file(script, body, 0755);
        {
                const char *argv[] = {script, pid_file, NULL};
                struct zero_shim_spawn_args a = {.argv = argv, .pid_file = pid_file};
                assert_int_equal(spawn(f, &a, NULL), 0);
        }
        wait_for_file(f, "creating");
        for (int i = 0; i < 5; i++)
                expect_quick_reply(f, "status", "starting");
        expect_quick_reply(f, "signal 9", "error the instance is starting");
        expect_quick_reply(f, "console 100", "");
        /* No report yet: the create command still runs. */
        p.fd = f->sync_fd;
        assert_int_equal(poll(&p, 1, 0), 0);
        {
                const char *argv[] = {"sleep", "1000", NULL};
                struct zero_shim_spawn_args a = {.argv = argv, .id = "second"};
                int sync_fd = -EBADF;

                a.shim_path = shim_binary();
                a.dir = f->dir;
                assert_int_equal(zero_shim_spawn(&a, &sync_fd, &err), -EIO);
                assert_non_null(strstr(err.message, "another zero-shim is running"));
                safe_close(sync_fd);
        }

        write_file(go, "", 0644);
        pid = expect_ok(f);
        running = zero_strdup_printf("running pid=%d", (int) pid);
        expect_reply(f, "status", running);
        expect_reply(f, "signal 9", "ok");
        assert_int_equal(wait_shim(f), 0);
}

/* The cleanup command (crun delete -f) may hang: meanwhile the socket answers (the instance has
 * exited, signals are refused), a wait is answered only once the exit record is written, and
 * the shim goes only after that. */
static void test_serves_while_cleanup_runs(void **state) {
        struct fx *f = *state;
        _cleanup_free_ char *cleanup_cmd = NULL, *exited = NULL, *reply = NULL, *go = path_in(f, "go");
        const char *argv[] = {"sleep", "1000", NULL};
        struct pollfd p = {.events = POLLIN};
        struct zero_shim_exit e = {};
        pid_t pid;
        int wait_fd;

        cleanup_cmd = zero_strdup_printf("touch '%s/cleaning'; while ! test -e '%s/go'; do sleep 0.02; done",
                                         f->dir, f->dir);
        {
                const char *cleanup[] = {"sh", "-c", cleanup_cmd, NULL};
                struct zero_shim_spawn_args a = {.argv = argv, .cleanup_argv = cleanup};
                assert_int_equal(spawn(f, &a, NULL), 0);
        }
        pid = expect_ok(f);
        wait_fd = connect_to(f);
        assert_int_equal(send(wait_fd, "wait", 4, 0), 4);
        expect_reply(f, "signal 9", "ok");
        wait_for_file(f, "cleaning");

        exited = zero_strdup_printf("exited pid=%d code=137 signal=9", (int) pid);
        for (int i = 0; i < 5; i++)
                expect_quick_reply(f, "status", exited);
        expect_quick_reply(f, "signal 15", "error the instance has exited");
        /* Waiters wait for the exit record, which comes after the cleanup. */
        p.fd = wait_fd;
        assert_int_equal(poll(&p, 1, 200), 0);
        assert_false(exists_in(f, "exit"));
        assert_true(proc_alive(f->shim_pid));

        write_file(go, "", 0644);
        reply = recv_reply(wait_fd);
        close(wait_fd);
        assert_string_equal(reply, exited);
        assert_int_equal(wait_shim(f), 0);
        assert_int_equal(zero_shim_read_exit(f->dir, &e), 0);
        assert_int_equal(e.code, 137);
}

/* A "shim" that never detaches (here: not a shim at all) does not hold the spawner: killed
 * after ZERO_SHIM_SPAWN_TIMEOUT_MS, with a timeout error. */
static void test_spawn_bounded(void **state) {
        struct fx *f = *state;
        _cleanup_free_ char *fake = path_in(f, "fake-shim");
        const char *argv[] = {"sleep", "1000", NULL};
        struct zero_shim_spawn_args a = {.argv = argv, .id = "x", .dir = f->dir};
        struct zero_error err = {};
        uint64_t start, ms;
        int fd = -EBADF;

        write_file(fake, "#!/bin/sh\nexec sleep 1000\n", 0755);
        a.shim_path = fake;
        start = zero_monotonic_usec();
        assert_int_equal(zero_shim_spawn(&a, &fd, &err), -ETIMEDOUT);
        ms = (zero_monotonic_usec() - start) / USEC_PER_MSEC;
        assert_int_equal(err.code, ZERO_E_TIMEOUT);
        assert_non_null(strstr(err.message, "did not detach within"));
        assert_true(ms >= ZERO_SHIM_SPAWN_TIMEOUT_MS && ms < ZERO_SHIM_SPAWN_TIMEOUT_MS + TIMEOUT_MS);
        assert_int_equal(fd, -EBADF);
        /* Killed and reaped: no child is left (the teardown checks that too). */
        assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
        assert_int_equal(errno, ECHILD);
}

static void test_create_fails(void **state) {
        struct fx *f = *state;
        _cleanup_free_ char *pid_file = path_in(f, "ctr.pid"), *cleanup_cmd = NULL, *log = NULL,
                            *log_path = path_in(f, "console.log");
        const char *argv[] = {"sh", "-c", "echo first line; echo boom >&2; exit 2", NULL};
        struct zero_error err = {};
        char line[1024];
        pid_t pid = 0;

        cleanup_cmd = zero_strdup_printf("echo cleaned > '%s/cleaned'", f->dir);
        {
                const char *cleanup[] = {"sh", "-c", cleanup_cmd, NULL};
                struct zero_shim_spawn_args a = {.argv = argv, .pid_file = pid_file, .cleanup_argv = cleanup};
                assert_int_equal(spawn(f, &a, NULL), 0);
        }
        read_sync(f, line, sizeof(line));
        assert_int_equal(zero_shim_parse_sync(line, &pid, &err), -EIO);
        assert_non_null(strstr(err.message, "boom"));
        assert_non_null(strstr(err.message, "sh failed (exit 2)"));
        /* The cleanup ran before the report. */
        assert_true(exists_in(f, "cleaned"));
        assert_int_equal(wait_shim(f), 1);
        assert_false(exists_in(f, "shim.sock"));
        assert_false(exists_in(f, "shim.pid"));
        assert_false(exists_in(f, "exit"));
        log = read_text(log_path);
        assert_non_null(strstr(log, "boom\n"));
        assert_non_null(strstr(log, "zero-shim: sh failed"));
}

static void test_start_fails(void **state) {
        struct fx *f = *state;
        _cleanup_free_ char *script = NULL, *pid_file = NULL, *cleanup_cmd = NULL, *pid_text = NULL;
        const char *start[] = {"sh", "-c", "echo not today; exit 1", NULL};
        struct zero_error err = {};
        char line[1024];
        pid_t pid = 0;

        write_runtime(f, &script, &pid_file);
        cleanup_cmd = zero_strdup_printf("echo cleaned > '%s/cleaned'", f->dir);
        {
                const char *argv[] = {script, pid_file, NULL};
                const char *cleanup[] = {"sh", "-c", cleanup_cmd, NULL};
                struct zero_shim_spawn_args a = {
                        .argv = argv, .pid_file = pid_file, .start_argv = start, .cleanup_argv = cleanup};
                assert_int_equal(spawn(f, &a, NULL), 0);
        }
        read_sync(f, line, sizeof(line));
        assert_int_equal(zero_shim_parse_sync(line, &pid, &err), -EIO);
        assert_non_null(strstr(err.message, "start command sh failed (exit 1): not today"));
        assert_true(exists_in(f, "cleaned"));
        /* The instance it had created is killed and reaped. */
        pid_text = read_text(pid_file);
        assert_int_equal(wait_shim(f), 1);
        assert_false(proc_alive(atoi(pid_text)));
}

/* A sidecar (a VM's swtpm): started first, the main process only once its ready path exists,
 * ended once the main process is gone, and killed with a kill -9 of the shim; one that ends
 * before it is ready fails the start, and the main process never runs. */
static pid_t sidecar_pid(const struct fx *f) {
        _cleanup_free_ char *p = path_in(f, "sidecar.pid"), *text = read_text(p);
        return (pid_t) atoi(text);
}

static void test_sidecar(void **state) {
        struct fx *f = *state;
        _cleanup_free_ char *ready = path_in(f, "ready"), *side = NULL, *main_cmd = NULL, *log = NULL,
                            *log_path = path_in(f, "console.log");
        uint64_t start = zero_monotonic_usec();
        pid_t pid;

        side = zero_strdup_printf("echo $$ > '%s/sidecar.pid'; sleep 0.2; touch '%s'; exec sleep 1000", f->dir, ready);
        main_cmd = zero_strdup_printf("test -e '%s' && echo READY-SEEN; sleep 0.3", ready);
        {
                const char *argv[] = {"sh", "-c", main_cmd, NULL};
                const char *sidecar[] = {"sh", "-c", side, NULL};
                struct zero_shim_spawn_args a = {.argv = argv, .sidecar_argv = sidecar, .sidecar_ready = ready};
                assert_int_equal(spawn(f, &a, NULL), 0);
        }
        (void) expect_ok(f);
        pid = sidecar_pid(f);
        assert_true(proc_alive(pid));
        assert_int_equal(wait_shim(f), 0);
        log = read_text(log_path);
        assert_non_null(strstr(log, "READY-SEEN"));
        /* ended (SIGTERM) and reaped by the shim before it wrote the exit record */
        assert_true(exists_in(f, "exit"));
        while (proc_alive(pid)) {
                if (deadline_passed(start))
                        fail_msg("the sidecar %d outlived its shim's instance", (int) pid);
                nap();
        }
        (void) state;
}

static void test_sidecar_killed_with_shim(void **state) {
        struct fx *f = *state;
        _cleanup_free_ char *ready = path_in(f, "ready"), *side = NULL;
        uint64_t start = zero_monotonic_usec();
        pid_t pid;

        side = zero_strdup_printf("echo $$ > '%s/sidecar.pid'; touch '%s'; exec sleep 1000", f->dir, ready);
        {
                const char *argv[] = {"sleep", "1000", NULL};
                const char *sidecar[] = {"sh", "-c", side, NULL};
                struct zero_shim_spawn_args a = {.argv = argv, .sidecar_argv = sidecar, .sidecar_ready = ready};
                assert_int_equal(spawn(f, &a, NULL), 0);
        }
        (void) expect_ok(f);
        pid = sidecar_pid(f);
        assert_int_equal(kill(f->shim_pid, SIGKILL), 0);
        assert_int_equal(wait_shim_status(f), SIGKILL);
        /* PR_SET_PDEATHSIG: it comes to us, the test's subreaper, killed */
        for (;;) {
                int status;
                pid_t r = waitpid(pid, &status, WNOHANG);
                if (r == pid) {
                        assert_true(WIFSIGNALED(status));
                        break;
                }
                if (deadline_passed(start))
                        fail_msg("the sidecar %d outlived its shim's kill -9", (int) pid);
                nap();
        }
        while (waitpid(-1, NULL, WNOHANG) > 0) /* the main process, killed the same way */
                ;
        (void) state;
}

static void test_sidecar_fails(void **state) {
        struct fx *f = *state;
        _cleanup_free_ char *ready = path_in(f, "ready"), *main_cmd = NULL;
        struct zero_error err = {};
        char line[1024];
        pid_t pid = 0;

        main_cmd = zero_strdup_printf("touch '%s/main-ran'", f->dir);
        {
                const char *argv[] = {"sh", "-c", main_cmd, NULL};
                const char *sidecar[] = {"sh", "-c", "echo no tpm here; exit 3", NULL};
                struct zero_shim_spawn_args a = {.argv = argv, .sidecar_argv = sidecar, .sidecar_ready = ready};
                assert_int_equal(spawn(f, &a, NULL), 0);
        }
        read_sync(f, line, sizeof(line));
        assert_int_equal(zero_shim_parse_sync(line, &pid, &err), -EIO);
        assert_non_null(strstr(err.message, "the sidecar sh ended before it was ready (exit 3)"));
        assert_int_equal(wait_shim(f), 1);
        assert_false(exists_in(f, "main-ran"));
        (void) state;
}

/* The prepare command (--prepare-arg, plugin ABI 4.10: a container's root mount) runs to its end
 * before the main process, in the host's mount namespace even with --private-cgroup2 (what it
 * mounts is zerod's to see); the main process then runs in the private one. */
static void test_prepare(void **state) {
        struct fx *f = *state;
        _cleanup_free_ char *prep = NULL, *main_cmd = NULL, *log = NULL, *log_path = path_in(f, "console.log"),
                            *prep_ns = NULL, *ns_path = path_in(f, "prepare.ns");
        const char *ns;
        char host_ns[64] = "";
        ssize_t n = readlink("/proc/self/ns/mnt", host_ns, sizeof(host_ns) - 1);

        assert_true(n > 0);
        prep = zero_strdup_printf("sleep 0.2; readlink /proc/self/ns/mnt > '%s'; touch '%s/prepared'", ns_path,
                                  f->dir);
        main_cmd = zero_strdup_printf("test -e '%s/prepared' && echo PREPARED-SEEN; readlink /proc/self/ns/mnt",
                                      f->dir);
        {
                const char *argv[] = {"sh", "-c", main_cmd, NULL};
                const char *prepare[] = {"sh", "-c", prep, NULL};
                struct zero_shim_spawn_args a = {.argv = argv, .prepare_argv = prepare, .private_cgroup2 = true};
                assert_int_equal(spawn(f, &a, NULL), 0);
        }
        (void) expect_ok(f);
        assert_int_equal(wait_shim(f), 0);
        log = read_text(log_path);
        assert_non_null(strstr(log, "PREPARED-SEEN"));
        prep_ns = read_text(ns_path);
        assert_true(strncmp(prep_ns, host_ns, (size_t) n) == 0);
        /* the main process: the private namespace, not the host's */
        ns = strstr(log, "mnt:[");
        assert_non_null(ns);
        assert_true(strncmp(ns, host_ns, (size_t) n) != 0);
}

/* A prepare command that fails fails the start with its output; nothing else runs. */
static void test_prepare_fails(void **state) {
        struct fx *f = *state;
        _cleanup_free_ char *main_cmd = zero_strdup_printf("touch '%s/main-ran'", f->dir);
        struct zero_error err = {};
        char line[1024];
        pid_t pid = 0;

        {
                const char *argv[] = {"sh", "-c", main_cmd, NULL};
                const char *prepare[] = {"sh", "-c", "echo cannot mount the root; exit 4", NULL};
                struct zero_shim_spawn_args a = {.argv = argv, .prepare_argv = prepare};
                assert_int_equal(spawn(f, &a, NULL), 0);
        }
        read_sync(f, line, sizeof(line));
        assert_int_equal(zero_shim_parse_sync(line, &pid, &err), -EIO);
        assert_non_null(strstr(err.message, "prepare command sh failed (exit 4): cannot mount the root"));
        assert_int_equal(wait_shim(f), 1);
        assert_false(exists_in(f, "main-ran"));
        (void) state;
}

static void test_exec_fails(void **state) {
        struct fx *f = *state;
        const char *argv[] = {"/nonexistent/qemu", "-nodefaults", NULL};
        struct zero_shim_spawn_args a = {.argv = argv};
        struct zero_error err = {};
        char line[1024];
        pid_t pid = 0;

        assert_int_equal(spawn(f, &a, NULL), 0);
        read_sync(f, line, sizeof(line));
        assert_int_equal(zero_shim_parse_sync(line, &pid, &err), -EIO);
        assert_string_equal(err.message, "cannot execute /nonexistent/qemu: No such file or directory");
        assert_int_equal(wait_shim(f), 1);
}

static void test_descendant_keeps_console(void **state) {
        struct fx *f = *state;
        /* The background sleep keeps the console pipe open: the shim must not wait for EOF. */
        const char *argv[] = {"sh", "-c", "sleep 1000 & echo bye; exit 5", NULL};
        struct zero_shim_spawn_args a = {.argv = argv};
        _cleanup_free_ char *log = NULL, *log_path = path_in(f, "console.log");
        struct zero_shim_exit e = {};

        assert_int_equal(spawn(f, &a, NULL), 0);
        (void) expect_ok(f);
        assert_int_equal(wait_shim(f), 0);
        assert_int_equal(zero_shim_read_exit(f->dir, &e), 0);
        assert_int_equal(e.code, 5);
        log = read_text(log_path);
        assert_string_equal(log, "bye\n");
}

static void test_second_shim_refused(void **state) {
        struct fx *f = *state;
        const char *argv[] = {"sleep", "1000", NULL};
        struct zero_shim_spawn_args a = {.argv = argv};
        struct zero_error err = {};
        int first_sync;
        pid_t first;

        assert_int_equal(spawn(f, &a, NULL), 0);
        (void) expect_ok(f);
        first = f->shim_pid;
        first_sync = TAKE_FD(f->sync_fd);
        assert_int_equal(spawn(f, &a, &err), -EIO);
        assert_non_null(strstr(err.message, "another zero-shim is running"));
        f->sync_fd = first_sync;
        f->shim_pid = first;
        expect_reply(f, "signal 9", "ok");
        assert_int_equal(wait_shim(f), 0);
}

static void test_long_dir(void **state) {
        struct fx *f = *state;
        const char *argv[] = {"sleep", "1000", NULL};
        struct zero_shim_spawn_args a = {.argv = argv};
        char saved[PATH_MAX];
        _cleanup_free_ char *running = NULL;
        pid_t pid;

        /* Longer than sun_path: the socket is reached through /proc/self/fd. */
        snprintf(saved, sizeof(saved), "%s", f->dir);
        assert_true(snprintf(f->dir, sizeof(f->dir), "%s/%0120d", saved, 0) > 108);
        assert_int_equal(mkdir(f->dir, 0700), 0);
        assert_int_equal(spawn(f, &a, NULL), 0);
        pid = expect_ok(f);
        running = zero_strdup_printf("running pid=%d", (int) pid);
        expect_reply(f, "status", running);
        expect_reply(f, "signal 9", "ok");
        assert_int_equal(wait_shim(f), 0);
        assert_false(exists_in(f, "shim.sock"));
        snprintf(f->dir, sizeof(f->dir), "%s", saved);
}

/* Keeps only the lines of a mountinfo text that mount something at or under /sys/fs/cgroup. */
static void cgroup_lines(char *text) {
        char *out = text, *line = text;

        while (line && *line) {
                char *nl = strchr(line, '\n');
                size_t len = nl ? (size_t) (nl - line) + 1 : strlen(line);
                char point[4096] = "";

                if (sscanf(line, "%*s %*s %*s %*s %4095s", point) == 1 && strncmp(point, "/sys/fs/cgroup", 14) == 0) {
                        memmove(out, line, len);
                        out += len;
                }
                line = nl ? nl + 1 : NULL;
        }
        *out = '\0';
}

static void test_private_cgroup2(void **state) {
        struct fx *f = *state;
        const char *argv[] = {"cat", "/proc/self/mountinfo", NULL};
        struct zero_shim_spawn_args a = {.argv = argv, .private_cgroup2 = true};
        _cleanup_free_ char *log = NULL, *log_path = path_in(f, "console.log"), *host_before = NULL,
                            *host_after = NULL;
        bool found = false;

        host_before = read_text("/proc/self/mountinfo");
        assert_int_equal(spawn(f, &a, NULL), 0);
        (void) expect_ok(f);
        assert_int_equal(wait_shim(f), 0);
        log = read_text(log_path);
        for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n"))
                if (strstr(line, " /sys/fs/cgroup ") && strstr(line, " - cgroup2 "))
                        found = true;
        assert_true(found);
        /* Nothing changed out here: the host's cgroup mounts are the same. (Only those: tests
         * running in parallel mount and unmount other things.) */
        host_after = read_text("/proc/self/mountinfo");
        cgroup_lines(host_before);
        cgroup_lines(host_after);
        assert_string_equal(host_before, host_after);
}

/* Reads fd to its end (at most size - 1 bytes), NUL-terminated. */
static void read_all(int fd, char *buf, size_t size) {
        size_t len = 0;
        ssize_t n;

        while (len + 1 < size && (n = read(fd, buf + len, size - 1 - len)) > 0)
                len += (size_t) n;
        buf[len] = '\0';
}

static size_t fd_count(pid_t pid) {
        char path[64];
        size_t n = 0;
        DIR *d;

        snprintf(path, sizeof(path), "/proc/%d/fd", (int) pid);
        d = opendir(path);
        assert_non_null(d);
        for (struct dirent *de; (de = readdir(d));)
                n += de->d_name[0] != '.';
        closedir(d);
        return n;
}

/* An exec (the --exec-arg prefix and the request's arguments) runs with the three fds it was sent
 * as its stdin, stdout and stderr, in a session of its own; the shim says how it ended on the
 * same connection, then hangs up. Refusals: no prefix, not three fds, the instance not running;
 * the shim keeps none of the fds it was sent. */
static void test_exec(void **state) {
        struct fx *f = *state;
        const char *argv[] = {"sleep", "1000", NULL};
        const char *prefix[] = {"/bin/sh", "-c", NULL};
        const char *cmd[] = {"echo out; echo err >&2; read x; echo \"got $x\"; echo \"sid $(cut -d' ' -f6 /proc/$$/stat)\"; exit 7",
                             "exec-test", NULL};
        struct zero_shim_spawn_args a = {.argv = argv, .exec_argv = prefix};
        struct zero_shim_exit e = {};
        struct zero_error err = {};
        _cleanup_free_ char *reply = NULL;
        int in[2], out[2], errp[2], conn = -EBADF;
        char buf[256], ebuf[64];
        size_t fds_before;
        pid_t pid, main_pid;

        assert_int_equal(spawn(f, &a, NULL), 0);
        main_pid = expect_ok(f);
        assert_int_equal(pipe2(in, O_CLOEXEC), 0);
        assert_int_equal(pipe2(out, O_CLOEXEC), 0);
        assert_int_equal(pipe2(errp, O_CLOEXEC), 0);
        fds_before = fd_count(f->shim_pid);
        assert_int_equal(zero_shim_exec(f->dir, cmd, (int[]){in[0], out[1], errp[1]}, &conn, &pid, &err), 0);
        close(in[0]);
        close(out[1]);
        close(errp[1]);
        assert_true(pid > 0 && pid != main_pid);
        assert_int_equal(write(in[1], "hi\n", 3), 3);
        close(in[1]);
        read_all(out[0], buf, sizeof(buf));
        read_all(errp[0], ebuf, sizeof(ebuf));
        close(out[0]);
        close(errp[0]);
        assert_string_equal(ebuf, "err\n");
        assert_non_null(strstr(buf, "out\ngot hi\n"));
        {
                char want[32];
                snprintf(want, sizeof(want), "sid %d\n", (int) pid); /* its own session */
                assert_non_null(strstr(buf, want));
        }
        reply = recv_reply(conn);
        assert_int_equal(zero_shim_parse_exited(reply, &e), 0);
        assert_int_equal(e.pid, pid);
        assert_int_equal(e.code, 7);
        assert_int_equal(e.signal, 0);
        {
                /* Then the hang-up: one exec per connection. */
                struct pollfd p = {.fd = conn, .events = POLLIN};
                char c;
                assert_int_equal(poll(&p, 1, 5000), 1);
                assert_int_equal(recv(conn, &c, 1, MSG_DONTWAIT), 0);
        }
        close(conn);
        /* The shim closed the client's fds: no more than before (the client connection gone; the
         * sync pipe, closed once reported, may have been among those counted before). */
        for (int i = 0; i < 100 && fd_count(f->shim_pid) > fds_before; i++)
                nap();
        assert_true(fd_count(f->shim_pid) <= fds_before);
        {
                char running[64];
                snprintf(running, sizeof(running), "running pid=%d", (int) main_pid); /* the instance went on */
                expect_reply(f, "status", running);
        }

        /* Not three fds: refused, and the one sent is not kept. */
        assert_int_equal(pipe2(in, O_CLOEXEC), 0);
        {
                struct msghdr mh = {};
                union {
                        char b[CMSG_SPACE(sizeof(int))];
                        struct cmsghdr align;
                } ctl = {};
                char req[] = "exec\0true";
                struct iovec iov = {.iov_base = req, .iov_len = sizeof(req)};
                struct cmsghdr *cm;
                int fd = connect_to(f);

                mh.msg_iov = &iov;
                mh.msg_iovlen = 1;
                mh.msg_control = ctl.b;
                mh.msg_controllen = sizeof(ctl.b);
                cm = CMSG_FIRSTHDR(&mh);
                cm->cmsg_level = SOL_SOCKET;
                cm->cmsg_type = SCM_RIGHTS;
                cm->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(cm), &in[0], sizeof(int));
                assert_true(sendmsg(fd, &mh, 0) > 0);
                free(reply);
                reply = recv_reply(fd);
                assert_string_equal(reply, "error exec needs its stdin, stdout and stderr");
                close(fd);
        }
        close(in[0]);
        /* EOF on the write end's pipe: nobody else holds the read end (the shim closed its copy). */
        {
                struct pollfd p = {.fd = in[1], .events = POLLOUT};
                for (int i = 0; i < 100; i++) {
                        if (poll(&p, 1, 0) == 1 && (p.revents & POLLERR))
                                break;
                        nap();
                }
                assert_true(p.revents & POLLERR);
        }
        close(in[1]);

        /* The instance gone: refused. */
        expect_reply(f, "signal 9", "ok");
        assert_int_equal(wait_shim(f), 0);
        assert_int_equal(pipe2(in, O_CLOEXEC), 0);
        assert_true(zero_shim_exec(f->dir, cmd, (int[]){in[0], in[1], in[1]}, &conn, &pid, &err) < 0);
        close(in[0]);
        close(in[1]);
}

/* A shim started without --exec-arg refuses execs. */
static void test_exec_unsupported(void **state) {
        struct fx *f = *state;
        const char *argv[] = {"sleep", "1000", NULL};
        const char *cmd[] = {"true", NULL};
        struct zero_shim_spawn_args a = {.argv = argv};
        struct zero_error err = {};
        int p[2], conn = -EBADF;
        pid_t pid;

        assert_int_equal(spawn(f, &a, NULL), 0);
        (void) expect_ok(f);
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        assert_int_equal(zero_shim_exec(f->dir, cmd, (int[]){p[0], p[1], p[1]}, &conn, &pid, &err), -EIO);
        assert_string_equal(err.message, "exec is not supported by this instance's runtime");
        close(p[0]);
        close(p[1]);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_client_arguments, setup, teardown),
                cmocka_unit_test_setup_teardown(test_exit_code, setup, teardown),
                cmocka_unit_test_setup_teardown(test_signal_and_wait, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
                cmocka_unit_test_setup_teardown(test_many_clients, setup, teardown),
                cmocka_unit_test_setup_teardown(test_console_tail, setup, teardown),
                cmocka_unit_test_setup_teardown(test_console_tail_max, setup, teardown),
                cmocka_unit_test_setup_teardown(test_console_cap, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pid_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_serves_while_create_runs, setup, teardown),
                cmocka_unit_test_setup_teardown(test_serves_while_cleanup_runs, setup, teardown),
                cmocka_unit_test_setup_teardown(test_spawn_bounded, setup, teardown),
                cmocka_unit_test_setup_teardown(test_create_fails, setup, teardown),
                cmocka_unit_test_setup_teardown(test_start_fails, setup, teardown),
                cmocka_unit_test_setup_teardown(test_exec_fails, setup, teardown),
                cmocka_unit_test_setup_teardown(test_descendant_keeps_console, setup, teardown),
                cmocka_unit_test_setup_teardown(test_second_shim_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_long_dir, setup, teardown),
                cmocka_unit_test_setup_teardown(test_sidecar, setup, teardown),
                cmocka_unit_test_setup_teardown(test_sidecar_killed_with_shim, setup, teardown),
                cmocka_unit_test_setup_teardown(test_sidecar_fails, setup, teardown),
                cmocka_unit_test_setup_teardown(test_prepare, setup, teardown),
                cmocka_unit_test_setup_teardown(test_prepare_fails, setup, teardown),
                cmocka_unit_test_setup_teardown(test_shim_killed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_private_cgroup2, setup, teardown),
                cmocka_unit_test_setup_teardown(test_exec, setup, teardown),
                cmocka_unit_test_setup_teardown(test_exec_unsupported, setup, teardown),
        };

        if (!shim_binary() || !*shim_binary()) {
                fprintf(stderr, "ZERO_SHIM is not set: it must name the zero-shim binary\n");
                return 1;
        }
        /* The detached shims, and what they leave behind, come back to us to be reaped. */
        if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
                perror("prctl(PR_SET_CHILD_SUBREAPER)");
                return 1;
        }
        return cmocka_run_group_tests(tests, NULL, NULL);
}
