/* SPDX-License-Identifier: Apache-2.0 */
/*
 * io/qmp.c against a real qemu-storage-daemon ($ZERO_QSD, else /usr/bin/qemu-storage-daemon):
 * the commands softcard will send — blockdev-add of a raw base and a qcow2 overlay, NBD and FUSE
 * exports, their deletion events, and errors. Each test starts its own daemon in its own
 * directory under /tmp; the teardown stops it (SIGTERM, then SIGKILL), detaches a FUSE mount the
 * daemon may have left, and removes the directory, also when the test failed. The daemon gets
 * PDEATHSIG, so a crashed test does not leave it running. Waits are bounded (TIMEOUT_USEC).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common/log.h"
#include "common/util.h"
#include "io/qmp.h"
#include "tests/unit/skip.h"

#define TIMEOUT_USEC (10 * USEC_PER_SEC)
#define IMAGE_SIZE (64LL << 20)

struct fx {
        char dir[64];
        char mnt[PATH_MAX];
        pid_t pid;
        sd_event *e;
        struct zero_qmp *q;
        json_t *events;
        int closed;
};

struct call {
        bool done;
        int r;
        json_t *ret;
        struct zero_error err;
};

static const char *qsd_binary(void) {
        const char *p = getenv("ZERO_QSD");
        return p ? p : "/usr/bin/qemu-storage-daemon";
}

static bool deadline_passed(uint64_t start) {
        return zero_monotonic_usec() - start > TIMEOUT_USEC;
}

static char *path_in(struct fx *f, const char *name) {
        char *p = zero_strdup_printf("%s/%s", f->dir, name);
        assert_non_null(p);
        return p;
}

static void on_event(struct zero_qmp *q, const char *name, json_t *data, uint64_t ts, void *userdata) {
        struct fx *f = userdata;
        assert_int_equal(json_array_append_new(f->events, json_pack("{s:s, s:O*}", "event", name, "data", data)), 0);
}

static void on_closed(struct zero_qmp *q, int r, const struct zero_error *err, void *userdata) {
        struct fx *f = userdata;
        f->closed = r;
}

static void on_reply(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata) {
        struct call *c = userdata;
        c->done = true;
        c->r = r;
        c->ret = json_incref(v);
        if (err)
                c->err = *err;
}

/* Tests may drive the loop until an answer comes; zerod itself never waits like this. */
static int call(struct fx *f, const char *execute, json_t *args, json_t **ret, struct zero_error *err) {
        struct call c = {};
        uint64_t start = zero_monotonic_usec();
        int r;

        r = zero_qmp_command(f->q, execute, args, on_reply, &c);
        assert_int_equal(r, 0);
        while (!c.done) {
                if (deadline_passed(start))
                        fail_msg("no reply to %s", execute);
                assert_true(sd_event_run(f->e, 100 * USEC_PER_MSEC) >= 0);
        }
        if (ret)
                *ret = c.ret;
        else
                json_decref(c.ret);
        if (err)
                *err = c.err;
        else if (c.r < 0)
                fail_msg("%s failed: %s: %s", execute, c.err.detail, c.err.message);
        return c.r;
}

/* Waits for an event with this name and data.id; removes it from the list. */
static void wait_event(struct fx *f, const char *name, const char *id) {
        uint64_t start = zero_monotonic_usec();
        for (;;) {
                size_t i;
                json_t *ev;
                json_array_foreach(f->events, i, ev) {
                        if (streq(json_string_value(json_object_get(ev, "event")), name) &&
                            streq(strempty(json_string_value(json_object_get(json_object_get(ev, "data"), "id"))), id)) {
                                json_array_remove(f->events, i);
                                return;
                        }
                }
                if (deadline_passed(start))
                        fail_msg("no %s event for %s", name, id);
                assert_true(sd_event_run(f->e, 100 * USEC_PER_MSEC) >= 0);
        }
}

static bool is_mounted(const char *path) {
        _cleanup_free_ char *info = NULL;
        _cleanup_free_ char *needle = zero_strdup_printf(" %s ", path);
        assert_non_null(needle);
        assert_true(zero_read_file("/proc/self/mountinfo", 4 << 20, &info, NULL) >= 0);
        return strstr(info, needle) != NULL;
}

static void spawn_qsd(struct fx *f) {
        _cleanup_free_ char *sock = path_in(f, "qmp.sock"), *log = path_in(f, "qsd.log");
        _cleanup_free_ char *chardev = zero_strdup_printf("socket,path=%s,server=on,wait=off,id=qmp0", sock);
        char *argv[] = {(char *) qsd_binary(), "--chardev", chardev, "--monitor", "chardev=qmp0", NULL};
        pid_t parent = getpid();

        assert_non_null(chardev);
        f->pid = fork();
        assert_true(f->pid >= 0);
        if (f->pid == 0) {
                int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent || fd < 0 || null < 0 ||
                    dup2(null, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
                        _exit(127);
                execv(argv[0], argv);
                _exit(127);
        }
}

static const struct zero_qmp_callbacks callbacks = {.event = on_event, .closed = on_closed};

/* A daemon that never greets (seen once in a full check at a load of 2.4, not reproduced since):
 * what it was doing, for the next time. */
static void fail_startup(struct fx *f, uint64_t start, const char *what) {
        _cleanup_free_ char *stat = NULL, *wchan = NULL, *log = NULL;
        _cleanup_free_ char *sp = zero_strdup_printf("/proc/%d/stat", (int) f->pid);
        _cleanup_free_ char *wp = zero_strdup_printf("/proc/%d/wchan", (int) f->pid);
        _cleanup_free_ char *lp = path_in(f, "qsd.log");
        int status = 0;
        pid_t w = waitpid(f->pid, &status, WNOHANG);

        (void) zero_read_file(sp, 4096, &stat, NULL);
        (void) zero_read_file(wp, 4096, &wchan, NULL);
        (void) zero_read_file(lp, 64 << 10, &log, NULL);
        if (w == f->pid)
                f->pid = 0;
        fail_msg("%s after %.1f ms: daemon %s (status 0x%x), stat: %s, wchan: %s, log: %s", what,
                 (double) (zero_monotonic_usec() - start) / USEC_PER_MSEC, w == 0 ? "alive" : "gone", status,
                 strempty(stat), strempty(wchan), strempty(log));
}

static int setup(void **state) {
        *state = calloc(1, sizeof(struct fx));
        return *state ? 0 : -1;
}

/* Called by each test rather than from setup(): cmocka runs the teardown only after a setup
 * that succeeded, and the teardown must stop whatever was started. */
static void start(struct fx *f) {
        _cleanup_free_ char *sock = NULL;
        uint64_t start;
        int r;

        if (access(qsd_binary(), X_OK) < 0) {
                zero_skip("%s not found: skipped\n", qsd_binary());
        }
        snprintf(f->dir, sizeof(f->dir), "/tmp/zero-qmp-qsd.XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->mnt, sizeof(f->mnt), "%s/fuse.img", f->dir);
        assert_int_equal(sd_event_new(&f->e), 0);
        f->events = json_array();
        spawn_qsd(f);

        /* The daemon listens some milliseconds after it starts. softcard should hand it a socket
         * that zerod already listens on (chardev fd=) and skip this; the test uses path= as
         * operators would type it. */
        sock = path_in(f, "qmp.sock");
        start = zero_monotonic_usec();
        for (;;) {
                while ((r = zero_qmp_new(f->e, sock, &callbacks, f, &f->q)) == -ENOENT || r == -ECONNREFUSED) {
                        if (deadline_passed(start))
                                fail_startup(f, start, "no monitor socket to connect to");
                        usleep(2000);
                }
                assert_int_equal(r, 0);
                while (zero_qmp_is_ready(f->q) == 0) {
                        if (deadline_passed(start))
                                fail_startup(f, start, "connected, no QMP greeting");
                        assert_true(sd_event_run(f->e, 100 * USEC_PER_MSEC) >= 0);
                }
                if (zero_qmp_is_ready(f->q) == 1)
                        break;
                /* Connected in the instant between the daemon's listening socket and its
                 * monitor: accepted and closed before the greeting (as vm/monitor.c allows for
                 * QEMU). Connect again. */
                f->q = zero_qmp_free(f->q);
                f->closed = 0;
                assert_int_equal(waitpid(f->pid, NULL, WNOHANG), 0);
                assert_false(deadline_passed(start));
                usleep(2000);
        }
}

static int teardown(void **state) {
        struct fx *f = *state;
        _cleanup_free_ char *log = NULL;

        f->q = zero_qmp_free(f->q);
        if (f->pid > 0) {
                uint64_t start = zero_monotonic_usec();
                /* SIGTERM lets it close its exports, which unmounts FUSE. */
                (void) kill(f->pid, SIGTERM);
                while (waitpid(f->pid, NULL, WNOHANG) == 0) {
                        if (zero_monotonic_usec() - start > 5 * USEC_PER_SEC) {
                                (void) kill(f->pid, SIGKILL);
                                (void) waitpid(f->pid, NULL, 0);
                                break;
                        }
                        usleep(2000);
                }
        }
        if (f->dir[0]) {
                /* A killed daemon leaves a dead FUSE mount behind. */
                if (is_mounted(f->mnt))
                        (void) umount2(f->mnt, MNT_DETACH);
                _cleanup_free_ char *lp = path_in(f, "qsd.log");
                if (zero_read_file(lp, 64 << 10, &log, NULL) >= 0 && log[0])
                        print_message("qemu-storage-daemon said: %s\n", log);
                assert_int_equal(zero_rm_rf(f->dir), 0);
        }
        sd_event_unref(f->e);
        json_decref(f->events);
        free(f);
        return 0;
}

/* base.raw (64 MiB, sparse) under ov.qcow2, as nodes "base" and "ov". The base is read-only,
 * as an image's base shared by the clones of many volumes would be. */
static void create_images(struct fx *f) {
        _cleanup_free_ char *base = path_in(f, "base.raw"), *ov = path_in(f, "ov.qcow2");
        _cleanup_free_ char *out = NULL;
        char *img[] = {"qemu-img", "create", "-q", "-f", "qcow2", "-b", base, "-F", "raw", ov, NULL};
        int fd;

        fd = open(base, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, IMAGE_SIZE), 0);
        close(fd);
        if (zero_run_wait(img, &out) != 0)
                fail_msg("qemu-img create failed: %s", strempty(out));
}

static void add_image_nodes(struct fx *f) {
        _cleanup_free_ char *base = path_in(f, "base.raw"), *ov = path_in(f, "ov.qcow2");

        call(f, "blockdev-add",
             json_pack("{s:s, s:s, s:b, s:{s:s, s:s}}", "driver", "raw", "node-name", "base", "read-only", 1, "file",
                       "driver", "file", "filename", base),
             NULL, NULL);
        call(f, "blockdev-add",
             json_pack("{s:s, s:s, s:{s:s, s:s}, s:s}", "driver", "qcow2", "node-name", "ov", "file", "driver",
                       "file", "filename", ov, "backing", "base"),
             NULL, NULL);
}

static void test_version(void **state) {
        struct fx *f = *state;
        json_auto_t *v = NULL;
        int version;

        start(f);
        assert_int_equal(call(f, "query-version", NULL, &v, NULL), 0);
        version = zero_qmp_version(f->q);
        assert_true(version >= 7000000);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(v, "qemu"), "major")), version / 1000000);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(v, "qemu"), "minor")), version / 1000 % 1000);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(v, "qemu"), "micro")), version % 1000);
}

static void test_nbd_export(void **state) {
        struct fx *f = *state;
        _cleanup_free_ char *nbd = NULL, *uri = NULL, *out = NULL;
        json_auto_t *nodes = NULL, *exports = NULL, *info = NULL;
        json_t *n;
        size_t i;
        bool found = false;
        struct stat st;

        start(f);
        create_images(f);
        add_image_nodes(f);
        /* Not "flat": true, which also zeroes backing_file_depth (QEMU 7.2). */
        assert_int_equal(call(f, "query-named-block-nodes", NULL, &nodes, NULL), 0);
        json_array_foreach(nodes, i, n) {
                if (!streq(json_string_value(json_object_get(n, "node-name")), "ov"))
                        continue;
                assert_string_equal(json_string_value(json_object_get(n, "drv")), "qcow2");
                assert_int_equal(json_integer_value(json_object_get(n, "backing_file_depth")), 1);
                found = true;
        }
        assert_true(found);

        /* QEMU 7.2 takes the legacy SocketAddress here: {"type": "unix", "data": {"path"}}. */
        nbd = path_in(f, "nbd.sock");
        call(f, "nbd-server-start", json_pack("{s:{s:s, s:{s:s}}}", "addr", "type", "unix", "data", "path", nbd), NULL,
             NULL);
        assert_int_equal(stat(nbd, &st), 0);
        assert_true(S_ISSOCK(st.st_mode));
        call(f, "block-export-add",
             json_pack("{s:s, s:s, s:s, s:s, s:b}", "type", "nbd", "id", "ov-nbd", "node-name", "ov", "name", "vol1",
                       "writable", 1),
             NULL, NULL);
        assert_int_equal(call(f, "query-block-exports", NULL, &exports, NULL), 0);
        assert_int_equal(json_array_size(exports), 1);
        assert_string_equal(json_string_value(json_object_get(json_array_get(exports, 0), "id")), "ov-nbd");
        assert_string_equal(json_string_value(json_object_get(json_array_get(exports, 0), "type")), "nbd");
        assert_string_equal(json_string_value(json_object_get(json_array_get(exports, 0), "node-name")), "ov");

        /* A real NBD client (the kernel here has none): qemu-img reads the export's size. */
        uri = zero_strdup_printf("nbd+unix:///vol1?socket=%s", nbd); /* "name", not "id" */
        char *img[] = {"qemu-img", "info", "--output=json", uri, NULL};
        if (zero_run_wait(img, &out) != 0)
                fail_msg("qemu-img info %s failed: %s", uri, strempty(out));
        info = json_loads(out, 0, NULL);
        assert_non_null(info);
        assert_true(json_integer_value(json_object_get(info, "virtual-size")) == IMAGE_SIZE);

        call(f, "block-export-del", json_pack("{s:s}", "id", "ov-nbd"), NULL, NULL);
        wait_event(f, "BLOCK_EXPORT_DELETED", "ov-nbd");
        json_decref(exports);
        assert_int_equal(call(f, "query-block-exports", NULL, &exports, NULL), 0);
        assert_int_equal(json_array_size(exports), 0);
        call(f, "nbd-server-stop", NULL, NULL, NULL);
        call(f, "blockdev-del", json_pack("{s:s}", "node-name", "ov"), NULL, NULL);
        call(f, "blockdev-del", json_pack("{s:s}", "node-name", "base"), NULL, NULL);
        assert_int_equal(f->closed, 0);
}

static void test_fuse_export(void **state) {
        struct fx *f = *state;
        uint64_t t0, t1, t2, t3;
        char buf[4096], back[4096];
        struct stat st;
        int fd;

        start(f);
        /* The mountpoint of a FUSE export is a regular file, which the export covers. */
        fd = open(f->mnt, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        close(fd);

        create_images(f);
        t0 = zero_monotonic_usec();
        add_image_nodes(f);
        t1 = zero_monotonic_usec();
        call(f, "block-export-add",
             json_pack("{s:s, s:s, s:s, s:s, s:b}", "type", "fuse", "id", "ov-fuse", "node-name", "ov", "mountpoint",
                       f->mnt, "writable", 1),
             NULL, NULL);
        t2 = zero_monotonic_usec();
        assert_true(is_mounted(f->mnt));
        assert_int_equal(stat(f->mnt, &st), 0);
        assert_true(st.st_size == IMAGE_SIZE);
        t3 = zero_monotonic_usec();
        print_message("fuse: 2x blockdev-add (raw base, qcow2 overlay) %.2f ms, block-export-add %.2f ms, first stat %.2f ms\n",
                      (double) (t1 - t0) / 1000.0, (double) (t2 - t1) / 1000.0, (double) (t3 - t2) / 1000.0);

        /* Bytes go through: written at 1 MiB through FUSE, read back. */
        for (size_t i = 0; i < sizeof(buf); i++)
                buf[i] = (char) (i * 7);
        fd = open(f->mnt, O_RDWR | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(pwrite(fd, buf, sizeof(buf), 1 << 20), sizeof(buf));
        assert_int_equal(fsync(fd), 0);
        assert_int_equal(pread(fd, back, sizeof(back), 1 << 20), sizeof(back));
        close(fd);
        assert_memory_equal(buf, back, sizeof(buf));

        call(f, "block-export-del", json_pack("{s:s}", "id", "ov-fuse"), NULL, NULL);
        wait_event(f, "BLOCK_EXPORT_DELETED", "ov-fuse");
        assert_false(is_mounted(f->mnt));
        assert_int_equal(stat(f->mnt, &st), 0);
        assert_int_equal(st.st_size, 0); /* the empty file under it again */
        call(f, "blockdev-del", json_pack("{s:s}", "node-name", "ov"), NULL, NULL);
        call(f, "blockdev-del", json_pack("{s:s}", "node-name", "base"), NULL, NULL);
}

static void test_errors(void **state) {
        struct fx *f = *state;
        _cleanup_free_ char *missing = NULL;
        struct zero_error err = {};

        start(f);
        missing = path_in(f, "missing.raw");
        assert_int_equal(call(f, "blockdev-add",
                              json_pack("{s:s, s:s, s:s}", "driver", "file", "node-name", "m", "filename", missing),
                              NULL, &err),
                         -EIO);
        assert_string_equal(err.detail, "GenericError");
        assert_non_null(strstr(err.message, "No such file or directory"));
        print_message("blockdev-add of a missing file: %s: %s\n", err.detail, err.message);

        assert_int_equal(call(f, "no-such-command", NULL, NULL, &err), -EIO);
        assert_string_equal(err.detail, "CommandNotFound");
        assert_int_equal(call(f, "block-export-del", json_pack("{s:s}", "id", "nope"), NULL, &err), -EIO);
        assert_string_equal(err.detail, "GenericError");
        /* The connection is still fine after errors. */
        assert_int_equal(call(f, "query-block-exports", NULL, NULL, NULL), 0);

        /* The daemon dies: the connection reports it. */
        assert_int_equal(kill(f->pid, SIGKILL), 0);
        uint64_t start = zero_monotonic_usec();
        while (f->closed == 0) {
                assert_false(deadline_passed(start));
                assert_true(sd_event_run(f->e, 100 * USEC_PER_MSEC) >= 0);
        }
        assert_int_equal(f->closed, -ECONNRESET);
}

/* zero_qmp_call() on the real daemon, as softcard calls it: a reply to a command queued before
 * comes first and is delivered from the loop after; a stopped daemon (SIGSTOP) times the call
 * out at its deadline, and once it goes on the next call gets its own reply. */
static void test_call_stopped(void **state) {
        struct fx *f = *state;
        struct call early = {};
        struct zero_error err = {};
        json_t *v = NULL;
        uint64_t t0, took;

        start(f);
        create_images(f);
        add_image_nodes(f);
        assert_int_equal(zero_qmp_command(f->q, "query-block-exports", NULL, on_reply, &early), 0);
        assert_int_equal(zero_qmp_call(f->q, "query-named-block-nodes", json_pack("{s:b}", "flat", 1), TIMEOUT_USEC,
                                       &v, &err),
                         0);
        assert_true(json_array_size(v) >= 2);
        json_decref(v);
        assert_false(early.done); /* its reply came first, but is delivered from the loop */
        for (uint64_t start = zero_monotonic_usec(); !early.done;) {
                assert_false(deadline_passed(start));
                assert_true(sd_event_run(f->e, 100 * USEC_PER_MSEC) >= 0);
        }
        assert_int_equal(early.r, 0);
        assert_true(json_is_array(early.ret));
        json_decref(early.ret);

        assert_int_equal(kill(f->pid, SIGSTOP), 0);
        t0 = zero_monotonic_usec();
        assert_int_equal(zero_qmp_call(f->q, "query-version", NULL, 50 * USEC_PER_MSEC, &v, &err), -ETIMEDOUT);
        took = zero_monotonic_usec() - t0;
        print_message("stopped daemon: the call gave up after %.1f ms\n", (double) took / 1000.0);
        assert_true(took >= 50 * USEC_PER_MSEC && took < 2 * USEC_PER_SEC);
        assert_int_equal(err.code, ZERO_E_TIMEOUT);
        assert_int_equal(kill(f->pid, SIGCONT), 0);
        assert_int_equal(zero_qmp_call(f->q, "query-version", NULL, TIMEOUT_USEC, &v, &err), 0);
        assert_true(json_integer_value(json_object_get(json_object_get(v, "qemu"), "major")) >= 7);
        json_decref(v);
        assert_int_equal(zero_qmp_call(f->q, "blockdev-del", json_pack("{s:s}", "node-name", "nope"), TIMEOUT_USEC,
                                       NULL, &err),
                         -EIO);
        assert_non_null(strstr(err.message, "nope"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_version, setup, teardown),
                cmocka_unit_test_setup_teardown(test_nbd_export, setup, teardown),
                cmocka_unit_test_setup_teardown(test_fuse_export, setup, teardown),
                cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
                cmocka_unit_test_setup_teardown(test_call_stopped, setup, teardown),
        };
        zero_log_set_max_priority(getenv("ZERO_QMP_TEST_DEBUG") ? LOG_DEBUG : LOG_INFO);
        return zero_tests_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
