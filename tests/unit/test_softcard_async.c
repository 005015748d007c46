/* SPDX-License-Identifier: Apache-2.0 */
/*
 * io/softcard's asynchronous volume ops (storage.h: softcard_volume_*_async) against a real
 * qemu-storage-daemon under zero-shim, on an sd_event loop the test runs: every op end to end,
 * their idempotency, what they refuse at once, cancellation, and that nothing they do holds the
 * loop while the daemon is stopped (SIGSTOP): neither a QMP command nor the loop device's attach
 * over its FUSE export, which sleeps in D state then.
 *
 * Needs root, $ZERO_SHIM, qemu-storage-daemon ($ZERO_QSD, else PATH), qemu-img, mkfs.ext4 and
 * /dev/loop-control: without them the whole program exits 77, which ctest reports as skipped.
 * Each test has its own directory under /tmp; the teardown resumes a stopped daemon, closes the
 * qsd, kills the daemon, detaches what its exports left and removes the directory, also when the
 * test failed. Every wait is bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <systemd/sd-event.h>

#include "common/log.h"
#include "common/util.h"
#include "io/softcard/storage.h"
#include "tests/unit/skip.h"
#include "tests/unit/softcard_helpers.h"

#define TIMEOUT_USEC (10 * USEC_PER_SEC)
#define BASE_SIZE (64ULL << 20)
#define VOL_SIZE (128ULL << 20)
#define HELLO "hello from the image\n"
/* The loop must never be held longer than this while an op runs (issue 11, item 7). */
#define GAP_MAX_USEC (50 * USEC_PER_MSEC)
#define TICK_USEC (5 * USEC_PER_MSEC)
/* The longest an op may take against a stopped daemon: its first command's timeout (10 s,
 * qsd_call.c), then the stalled rule fails the rest at once; slack for a loaded machine. */
#define STOPPED_OP_MAX_USEC (10 * USEC_PER_SEC + 1500 * USEC_PER_MSEC)

/* ---- Skipping (ctest's SKIP_RETURN_CODE) ---- */

/* NULL when the tests can run, else why not. */
static const char *cannot_run(void) {
        const char *shim = getenv("ZERO_SHIM");

        if (geteuid() != 0)
                return "needs root";
        if (!shim || access(shim, X_OK) < 0)
                return "needs $ZERO_SHIM (zero-shim)";
        if (!have_binary(getenv("ZERO_QSD") ?: "qemu-storage-daemon"))
                return "needs qemu-storage-daemon";
        if (!have_binary("qemu-img") || !have_binary("mkfs.ext4"))
                return "needs qemu-img and mkfs.ext4";
        if (access("/dev/loop-control", W_OK) < 0)
                return "needs /dev/loop-control";
        return NULL;
}

/* ---- The fixture ---- */

struct vol {
        char id[33], path[PATH_MAX];
        struct softcard_volume v;
};

struct fx {
        char dir[64];
        char run[PATH_MAX], state[128], base[128], mnt[128];
        sd_event *e;
        struct qsd *q;
        int lost;
        pid_t stopped; /* a daemon the test stopped: resumed by the teardown */
        char cgroup[128]; /* a freezer cgroup the test made: thawed and removed by the teardown */
        uint64_t dispatch_max; /* loop_turn()'s longest dispatch */
        struct vol a, b, c, d, x;
};

/* The end of one op, as its done saw it. */
struct res {
        int calls, r;
        char path[ZERO_CARD_PATH_MAX];
        struct zero_error err;
        uint64_t started, ended;
};

static void on_done(void *userdata, int r, const char *path, const struct zero_error *err) {
        struct res *x = userdata;

        x->calls++;
        x->r = r;
        x->ended = zero_monotonic_usec();
        snprintf(x->path, sizeof(x->path), "%s", strempty(path));
        if (r < 0)
                x->err = *err;
}

/* The same for a volume job (softcard_volume_delete_async). */
static void on_job(void *userdata, int r, const struct zero_error *err) {
        on_done(userdata, r, NULL, err);
}

static void on_lost(void *userdata) {
        struct fx *f = userdata;
        f->lost++;
}

static void vol_init(struct fx *f, struct vol *x, const char *id, bool clone) {
        snprintf(x->id, sizeof(x->id), "%s", id);
        snprintf(x->path, sizeof(x->path), "%s/volumes/%s.%s", f->state, id, clone ? "qcow2" : "raw");
        x->v = (struct softcard_volume){.id = x->id, .path = x->path, .format = clone ? "qcow2" : "raw",
                                        .size_bytes = VOL_SIZE, .base_path = clone ? f->base : NULL};
}

static void vol_make(struct fx *f, struct vol *x) {
        struct zero_error err = {};
        if (softcard_volume_create(f->q, &x->v, &err) < 0)
                fail_msg("create %s: %s", x->id, err.message);
}

static int setup(void **state) {
        *state = calloc(1, sizeof(struct fx));
        return *state ? 0 : -1;
}

/* Called by each test (cmocka runs the teardown only after a setup that succeeded). */
static void start(struct fx *f) {
        _cleanup_free_ char *src = NULL, *hello = NULL;
        struct zero_error err = {};
        char run[PATH_MAX];

        snprintf(f->dir, sizeof(f->dir), "/tmp/zero-scasync.XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(run, sizeof(run), "%s/run", f->dir);
        assert_int_equal(zero_mkdir_p(run, 0755), 0);
        assert_non_null(realpath(run, f->run)); /* canonical, as softcard.c makes it */
        snprintf(f->state, sizeof(f->state), "%s/state", f->dir);
        snprintf(f->base, sizeof(f->base), "%s/base.ext4", f->dir);
        snprintf(f->mnt, sizeof(f->mnt), "%s/mnt", f->dir);
        assert_int_equal(zero_mkdir_p(f->mnt, 0700), 0);
        /* The image's base: an ext4 holding hello.txt. */
        src = zero_strdup_printf("%s/rootfs", f->dir);
        hello = zero_strdup_printf("%s/rootfs/hello.txt", f->dir);
        assert_int_equal(zero_mkdir_p(src, 0755), 0);
        assert_int_equal(zero_write_file_replace(hello, HELLO, strlen(HELLO), 0644), 0);
        run_ok((char *[]){"mkfs.ext4", "-q", "-d", src, f->base, "64M", NULL});

        assert_int_equal(sd_event_new(&f->e), 0);
        struct qsd_config c = {.event = f->e,
                               .run_dir = f->run,
                               .shim = getenv("ZERO_SHIM"),
                               .binary = getenv("ZERO_QSD") ?: "qemu-storage-daemon",
                               .lost_exports = on_lost,
                               .userdata = f};
        if (qsd_open(&c, &f->q, &err) < 0)
                fail_msg("qsd_open: %s", err.message);
        vol_init(f, &f->a, "0123456789abcdef0123456789abcdef", true);
        vol_init(f, &f->b, "fedcba9876543210fedcba9876543210", false);
        vol_init(f, &f->c, "00112233445566778899aabbccddeeff", true);
        vol_init(f, &f->d, "ffeeddccbbaa99887766554433221100", true);
        vol_init(f, &f->x, "aabbccddeeff00112233445566778899", true);
}

static int teardown(void **state) {
        struct fx *f = *state;
        pid_t pid = f->q ? qsd_pid(f->q) : 0;

        if (f->stopped > 0)
                (void) kill(f->stopped, SIGCONT);
        if (f->cgroup[0]) {
                _cleanup_free_ char *st = zero_strdup_printf("%s/freezer.state", f->cgroup);
                _cleanup_close_ int fd = open(st, O_WRONLY | O_CLOEXEC);
                (void) (fd >= 0 && write(fd, "THAWED", 6));
        }
        f->q = qsd_close(f->q);
        if (f->dir[0]) {
                _cleanup_free_ char *exports = zero_strdup_printf("%s/exports", f->run);
                _cleanup_free_ char *sock = zero_strdup_printf("%s/qsd/shim.sock", f->run);
                uint64_t t0 = zero_monotonic_usec();

                (void) umount2(f->mnt, MNT_DETACH);
                if (pid > 0)
                        (void) kill(pid, SIGKILL);
                while (pid > 0 && (kill(pid, 0) == 0 || access(sock, F_OK) == 0) &&
                       zero_monotonic_usec() - t0 < TIMEOUT_USEC)
                        usleep(2000);
                (void) softcard_exports_clear(exports);
                for (int i = 0; f->cgroup[0] && rmdir(f->cgroup) < 0 && errno == EBUSY && i < 100; i++)
                        usleep(10000); /* its killed child goes once thawed */
                assert_int_equal(zero_rm_rf(f->dir), 0);
        }
        sd_event_unref(f->e);
        free(f);
        return 0;
}

/* ---- Helpers ---- */

/* Nanoseconds this process waited on a runqueue (/proc/self/schedstat's second field), or
 * UINT64_MAX where the kernel does not say. */
static uint64_t runqueue_wait(void) {
        _cleanup_free_ char *text = NULL;
        unsigned long long run, wait;

        if (zero_read_file("/proc/self/schedstat", 256, &text, NULL) < 0 || sscanf(text, "%llu %llu", &run, &wait) != 2)
                return UINT64_MAX;
        return wait;
}

/* Microseconds since t0 that the process did not spend waiting for a CPU (w0: runqueue_wait()
 * at t0): the time a call of ours took, preemption by the machine's other load aside. */
static uint64_t held_since(uint64_t t0, uint64_t w0) {
        uint64_t took = zero_monotonic_usec() - t0, w = runqueue_wait(), waited;

        waited = w != UINT64_MAX && w0 != UINT64_MAX ? (w - w0) / 1000 : 0;
        return took > waited ? took - waited : 0;
}

/*
 * One turn of the loop, as sd_event_run() takes it, with its dispatch timed: the time our
 * callbacks held the loop, less what the process waited for a CPU meanwhile. The longest since
 * f->dispatch_max was reset is what the blocking tests judge, beside the pulse's gaps (a gap
 * also holds the kernel's delay in waking the loop at all, which on this shared machine under
 * a load of 20 reaches 100 ms with nothing of ours running).
 */
static int loop_turn(struct fx *f, uint64_t timeout_usec) {
        int r = sd_event_prepare(f->e);

        if (r == 0)
                r = sd_event_wait(f->e, timeout_usec);
        if (r > 0) {
                uint64_t t0 = zero_monotonic_usec(), w0 = runqueue_wait(), held;

                r = sd_event_dispatch(f->e);
                held = held_since(t0, w0);
                if (held > f->dispatch_max)
                        f->dispatch_max = held;
        }
        return r;
}

/* Runs the loop until every op has ended (bounded). */
static void run_until(struct fx *f, struct res *const *ops, size_t n, uint64_t timeout_usec) {
        uint64_t deadline = zero_monotonic_usec() + timeout_usec;

        for (;;) {
                size_t left = 0;
                for (size_t i = 0; i < n; i++)
                        left += ops[i]->calls == 0;
                if (left == 0)
                        return;
                if (zero_monotonic_usec() > deadline)
                        fail_msg("%zu op(s) did not end within %llu ms", left,
                                 (unsigned long long) (timeout_usec / USEC_PER_MSEC));
                assert_true(loop_turn(f, 100 * USEC_PER_MSEC) >= 0);
        }
}

static void run_for(struct fx *f, uint64_t usec) {
        uint64_t end = zero_monotonic_usec() + usec;

        while (zero_monotonic_usec() < end)
                assert_true(loop_turn(f, end - zero_monotonic_usec()) >= 0);
}

static void expect_ok(const struct res *x, const char *what) {
        assert_int_equal(x->calls, 1);
        if (x->r < 0)
                fail_msg("%s: %d %s: %s", what, x->r, zero_errc_name(x->err.code), x->err.message);
}

/* An async op's call: under way (0), done not from inside it. */
#define START(call, x)                                                                                      \
        do {                                                                                                \
                struct zero_error _e = {};                                                                  \
                (x)->started = zero_monotonic_usec();                                                       \
                int _r = (call);                                                                            \
                if (_r < 0)                                                                                 \
                        fail_msg("%s: %d %s", #call, _r, _e.message);                                       \
                assert_int_equal((x)->calls, 0);                                                            \
        } while (0)
#define ERR (&_e)

static void export_ok(struct fx *f, struct vol *x, enum zero_card_export_kind kind, char path[ZERO_CARD_PATH_MAX]) {
        struct res r = {};

        START(softcard_volume_export_async(f->q, &x->v, kind, on_done, &r, NULL, ERR), &r);
        run_until(f, (struct res *[]){&r}, 1, 3 * TIMEOUT_USEC);
        expect_ok(&r, "export");
        assert_true(r.path[0] != '\0');
        if (path)
                snprintf(path, ZERO_CARD_PATH_MAX, "%s", r.path);
}

static void unexport_ok(struct fx *f, struct vol *x) {
        struct res r = {};

        START(softcard_volume_unexport_async(f->q, &x->v, on_done, &r, NULL, ERR), &r);
        run_until(f, (struct res *[]){&r}, 1, 3 * TIMEOUT_USEC);
        expect_ok(&r, "unexport");
        assert_string_equal(r.path, ""); /* only an export has a path */
}

static void check_hello(struct fx *f, const char *dev) {
        _cleanup_free_ char *p = zero_strdup_printf("%s/hello.txt", f->mnt), *text = NULL;

        if (mount(dev, f->mnt, "ext4", 0, NULL) < 0)
                fail_msg("mount %s: %m", dev);
        assert_int_equal(zero_read_file(p, 4096, &text, NULL), 0);
        assert_string_equal(text, HELLO);
        assert_int_equal(umount2(f->mnt, 0), 0);
}

static bool exported(struct fx *f, struct vol *x) {
        struct zero_card_volume_stats st = {};
        struct zero_error err = {};
        if (softcard_volume_stats(f->q, &x->v, &st, &err) < 0)
                fail_msg("stats: %s", err.message);
        return st.exported;
}

static void daemon_stop(struct fx *f) {
        pid_t pid = qsd_pid(f->q);

        assert_true(pid > 0);
        assert_int_equal(kill(pid, SIGSTOP), 0);
        f->stopped = pid;
        for (int i = 0; i < 200 && proc_state(pid) != 'T'; i++)
                usleep(5000);
        assert_int_equal(proc_state(pid), 'T');
}

static void daemon_resume(struct fx *f) {
        assert_int_equal(kill(f->stopped, SIGCONT), 0);
        f->stopped = 0;
}

/* Children of ours that exited and nobody reaped, or that hang in D state. */
static int children_stuck(void) {
        DIR *d = opendir("/proc");
        struct dirent *de;
        int n = 0;

        assert_non_null(d);
        while ((de = readdir(d))) {
                _cleanup_free_ char *path = NULL, *text = NULL;
                int ppid = 0;
                char st = 0, *p;

                if (de->d_name[0] < '0' || de->d_name[0] > '9')
                        continue;
                path = zero_strdup_printf("/proc/%s/stat", de->d_name);
                if (zero_read_file(path, 4096, &text, NULL) < 0 || !(p = strrchr(text, ')')) ||
                    sscanf(p + 2, "%c %d", &st, &ppid) != 2)
                        continue;
                if (ppid == getpid() && (st == 'Z' || st == 'D')) {
                        print_message("child %s is %c\n", de->d_name, st);
                        n++;
                }
        }
        closedir(d);
        return n;
}

/* ---- The loop's pulse: a 5 ms timer and the gaps it saw ---- */

struct pulse {
        struct fx *f;
        sd_event_source *s;
        uint64_t t0, last, last_wait, max, max_at, n;
        uint64_t gaps[1 << 14];
};

/* A gap is the time between two ticks less what the process waited for a CPU in between: the
 * kernel's delay in running a woken loop on a loaded machine (100 ms and more at a load of 10
 * under ASan, with dispatches of a few ms) is not the loop being held. */
static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        struct pulse *p = userdata;
        uint64_t now = zero_monotonic_usec(), w = runqueue_wait(), gap = now - p->last;
        uint64_t waited = w != UINT64_MAX && p->last_wait != UINT64_MAX ? (w - p->last_wait) / 1000 : 0;

        gap = gap > waited ? gap - waited : 0;
        p->last_wait = w;

        if (gap > p->max) {
                p->max = gap;
                p->max_at = now - p->t0;
        }
        if (p->n < ELEMENTSOF(p->gaps))
                p->gaps[p->n++] = gap;
        p->last = now;
        assert_true(sd_event_source_set_time(s, now + TICK_USEC) >= 0);
        assert_true(sd_event_source_set_enabled(s, SD_EVENT_ONESHOT) >= 0);
        return 0;
}

static struct pulse *pulse_start(struct fx *f) {
        struct pulse *p = calloc(1, sizeof(*p));

        assert_non_null(p);
        p->f = f;
        p->t0 = p->last = zero_monotonic_usec();
        p->last_wait = runqueue_wait();
        f->dispatch_max = 0;
        /* accuracy 1 µs: sd-event must not coalesce the ticks (its default slack is 250 ms) */
        assert_true(sd_event_add_time(f->e, &p->s, CLOCK_MONOTONIC, p->t0 + TICK_USEC, 1, on_tick, p) >= 0);
        return p;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

/* Stops the pulse and tells what it saw: p is freed. */
static void pulse_report(struct pulse *p, const char *what, uint64_t *ret_max, uint64_t *ret_p95,
                         uint64_t *ret_dispatch) {
        uint64_t p95 = 0;

        if (p->n > 0) {
                qsort(p->gaps, p->n, sizeof(p->gaps[0]), cmp_u64);
                p95 = p->gaps[p->n * 95 / 100];
        }
        print_message("%s: %llu ticks, largest gap %.1f ms (%.1f ms in), 95th percentile %.1f ms; longest dispatch "
                      "%.1f ms\n",
                      what, (unsigned long long) p->n, (double) p->max / 1000.0, (double) p->max_at / 1000.0,
                      (double) p95 / 1000.0, (double) p->f->dispatch_max / 1000.0);
        *ret_max = p->max;
        *ret_p95 = p95;
        *ret_dispatch = p->f->dispatch_max;
        assert_true(p->n > 0);
        sd_event_source_disable_unref(p->s);
        free(p);
}

/*
 * The loop was never held more than GAP_MAX_USEC while the pulse ran:
 *  - no dispatch of ours took longer (loop_turn(): our callbacks' time, waits for a CPU aside);
 *  - every gap of the pulse within it, but where the machine's load delayed the loop's wakeups
 *    (a gap beyond it, and no dispatch that long): then 95% within it and none beyond a second,
 *    which a loop held by a QMP timeout (10 s) or by a syscall in D state still fails.
 */
static void pulse_judge(struct pulse *p, const char *what) {
        uint64_t max, p95, dispatch;

        pulse_report(p, what, &max, &p95, &dispatch);
        assert_true(dispatch <= GAP_MAX_USEC);
        if (max > GAP_MAX_USEC)
                print_message("  (a gap beyond %llu ms with no dispatch as long: the machine's load)\n",
                              (unsigned long long) (GAP_MAX_USEC / USEC_PER_MSEC));
        assert_true(p95 <= GAP_MAX_USEC);
        assert_true(max <= USEC_PER_SEC);
}

/* The control of the above: a loop that was held, seen as such: twice the bound at least (the
 * hold lasts until a helper resumes the daemon, ~300 ms after it started; on a loaded machine
 * the attach itself starts later, and less of that is left). */
static void pulse_judge_held(struct pulse *p, const char *what) {
        uint64_t max, p95, dispatch;

        pulse_report(p, what, &max, &p95, &dispatch);
        assert_true(dispatch >= 2 * GAP_MAX_USEC);
        assert_true(max >= 2 * GAP_MAX_USEC);
}

/* ---- Tests ---- */

/* Every kind exported and unexported on the loop, twice each; a second kind is a conflict; ops
 * on one volume run in the order they were started. */
static void test_export_kinds(void **state) {
        struct fx *f = *state;
        /* NBD first: its check compares with the base, which a mount of the host-block export changes. */
        static const enum zero_card_export_kind kinds[] = {ZERO_CARD_EXPORT_NBD, ZERO_CARD_EXPORT_HOST_BLOCK,
                                                           ZERO_CARD_EXPORT_VHOST_USER_BLK};
        char path[ZERO_CARD_PATH_MAX], again[ZERO_CARD_PATH_MAX];

        start(f);
        vol_make(f, &f->a);
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
                struct res other = {};
                struct stat sb;

                export_ok(f, &f->a, kinds[i], path);
                print_message("%s export: %s\n", zero_card_export_kind_to_string(kinds[i]), path);
                export_ok(f, &f->a, kinds[i], again); /* exported: the same path */
                assert_string_equal(again, path);
                assert_true(exported(f, &f->a));
                switch (kinds[i]) {
                case ZERO_CARD_EXPORT_HOST_BLOCK:
                        assert_int_equal(strncmp(path, "/dev/loop", 9), 0);
                        assert_true(dev_size(path) == VOL_SIZE);
                        check_hello(f, path);
                        break;
                case ZERO_CARD_EXPORT_NBD: {
                        _cleanup_free_ char *uri = zero_strdup_printf("nbd+unix:///%s?socket=%s/qsd/nbd.sock",
                                                                      f->a.id, f->run);
                        assert_string_equal(path, uri);
                        /* A real NBD client: the first 64 MiB are the base's bytes. */
                        run_ok((char *[]){"qemu-img", "compare", "-f", "raw", "-F", "raw", f->base, path, NULL});
                        break;
                }
                default:
                        assert_int_equal(stat(path, &sb), 0);
                        assert_true(S_ISSOCK(sb.st_mode));
                        break;
                }
                /* Another kind while exported: a conflict, told by done. */
                START(softcard_volume_export_async(f->q, &f->a.v, kinds[(i + 1) % ELEMENTSOF(kinds)], on_done, &other,
                                                   NULL, ERR),
                      &other);
                run_until(f, (struct res *[]){&other}, 1, TIMEOUT_USEC);
                assert_int_equal(other.r, -EBUSY);
                assert_int_equal(other.err.code, ZERO_E_CONFLICT);
                unexport_ok(f, &f->a);
                unexport_ok(f, &f->a); /* not exported: success */
                assert_false(exported(f, &f->a));
                assert_int_equal(leftovers_under(f->dir), 0);
                if (kinds[i] == ZERO_CARD_EXPORT_VHOST_USER_BLK)
                        assert_int_equal(stat(path, &sb), -1);
        }

        /* Export, unexport and export again, started back to back: they run in that order. */
        {
                struct res r1 = {}, r2 = {}, r3 = {};

                START(softcard_volume_export_async(f->q, &f->a.v, ZERO_CARD_EXPORT_HOST_BLOCK, on_done, &r1, NULL, ERR),
                      &r1);
                START(softcard_volume_unexport_async(f->q, &f->a.v, on_done, &r2, NULL, ERR), &r2);
                START(softcard_volume_export_async(f->q, &f->a.v, ZERO_CARD_EXPORT_NBD, on_done, &r3, NULL, ERR), &r3);
                run_until(f, (struct res *[]){&r1, &r2, &r3}, 3, 3 * TIMEOUT_USEC);
                expect_ok(&r1, "export");
                expect_ok(&r2, "unexport");
                expect_ok(&r3, "export");
                assert_true(r1.ended <= r2.ended && r2.ended <= r3.ended);
                assert_int_equal(strncmp(r3.path, "nbd+unix://", 11), 0);
                unexport_ok(f, &f->a);
                assert_int_equal(leftovers_under(f->dir), 0);
        }
}

/* Resize live (host-block: the loop device grows) and offline (qcow2 by qemu-img, raw by
 * truncate); shrinking is refused; a bad size before anything runs. */
static void test_resize(void **state) {
        struct fx *f = *state;
        char path[ZERO_CARD_PATH_MAX];
        struct res r = {}, again = {}, shrink = {}, raw = {}, none = {};
        struct zero_error err = {};
        struct stat sb;

        start(f);
        vol_make(f, &f->a);
        vol_make(f, &f->b);
        export_ok(f, &f->a, ZERO_CARD_EXPORT_HOST_BLOCK, path);
        START(softcard_volume_resize_async(f->q, &f->a.v, VOL_SIZE * 2, on_done, &r, NULL, ERR), &r);
        run_until(f, (struct res *[]){&r}, 1, 3 * TIMEOUT_USEC);
        expect_ok(&r, "resize");
        print_message("live resize of a host-block export: %.1f ms\n", (double) (r.ended - r.started) / 1000.0);
        assert_true(dev_size(path) == VOL_SIZE * 2);
        START(softcard_volume_resize_async(f->q, &f->a.v, VOL_SIZE * 2, on_done, &again, NULL, ERR), &again);
        START(softcard_volume_resize_async(f->q, &f->a.v, VOL_SIZE, on_done, &shrink, NULL, ERR), &shrink);
        run_until(f, (struct res *[]){&again, &shrink}, 2, 3 * TIMEOUT_USEC);
        expect_ok(&again, "resize to the same size");
        assert_int_equal(shrink.r, -EINVAL);
        assert_int_equal(shrink.err.code, ZERO_E_INVALID);
        check_hello(f, path);
        f->a.v.size_bytes = VOL_SIZE * 2;
        unexport_ok(f, &f->a);

        /* Offline: qemu-img for the qcow2 (a child), truncate for the raw file. */
        r = (struct res){};
        START(softcard_volume_resize_async(f->q, &f->a.v, VOL_SIZE * 3, on_done, &r, NULL, ERR), &r);
        START(softcard_volume_resize_async(f->q, &f->b.v, VOL_SIZE * 2, on_done, &raw, NULL, ERR), &raw);
        run_until(f, (struct res *[]){&r, &raw}, 2, 3 * TIMEOUT_USEC);
        expect_ok(&r, "offline resize (qcow2)");
        expect_ok(&raw, "offline resize (raw)");
        assert_int_equal(stat(f->b.path, &sb), 0);
        assert_true(sb.st_size == (off_t) (VOL_SIZE * 2));
        export_ok(f, &f->a, ZERO_CARD_EXPORT_HOST_BLOCK, path);
        assert_true(dev_size(path) == VOL_SIZE * 3);
        check_hello(f, path);
        unexport_ok(f, &f->a);

        /* Refused before anything runs: done never follows. */
        assert_int_equal(softcard_volume_resize_async(f->q, &f->a.v, VOL_SIZE * 3 + 1, on_done, &none, NULL, &err),
                         -EINVAL);
        assert_int_equal(err.code, ZERO_E_INVALID);
        run_for(f, 50 * USEC_PER_MSEC);
        assert_int_equal(none.calls, 0);
        assert_int_equal(leftovers_under(f->dir), 0);
}

/* O_DIRECT 4 KiB reads far apart for usec: operations per second. */
static double read_rate(const char *dev, uint64_t usec) {
        _cleanup_close_ int fd = open(dev, O_RDONLY | O_DIRECT | O_CLOEXEC);
        uint64_t blocks = dev_size(dev) / 4096, n = 0, t0;
        static uint64_t next;
        void *buf = NULL;

        assert_true(fd >= 0);
        assert_int_equal(posix_memalign(&buf, 4096, 4096), 0);
        for (int i = 0; i < 40; i++) /* the throttle's burst allowance */
                assert_int_equal(pread(fd, buf, 4096, (off_t) (next++ * 7919 % blocks) * 4096), 4096);
        t0 = zero_monotonic_usec();
        while (zero_monotonic_usec() - t0 < usec) {
                assert_int_equal(pread(fd, buf, 4096, (off_t) (next++ * 7919 % blocks) * 4096), 4096);
                n++;
        }
        free(buf);
        return (double) n * USEC_PER_SEC / (double) (zero_monotonic_usec() - t0);
}

/* QoS on the loop: 200 IOPS hold, lifting them lifts the rate, an unexported volume's wait. */
static void test_qos(void **state) {
        struct fx *f = *state;
        char path[ZERO_CARD_PATH_MAX];
        struct res r = {}, lift = {}, off = {};
        double limited, free_rate;

        start(f);
        vol_make(f, &f->a);
        export_ok(f, &f->a, ZERO_CARD_EXPORT_HOST_BLOCK, path);
        f->a.v.qos_iops = 200;
        START(softcard_volume_set_qos_async(f->q, &f->a.v, on_done, &r, NULL, ERR), &r);
        run_until(f, (struct res *[]){&r}, 1, TIMEOUT_USEC);
        expect_ok(&r, "set_qos");
        limited = read_rate(path, USEC_PER_SEC);
        f->a.v.qos_iops = 0;
        START(softcard_volume_set_qos_async(f->q, &f->a.v, on_done, &lift, NULL, ERR), &lift);
        run_until(f, (struct res *[]){&lift}, 1, TIMEOUT_USEC);
        expect_ok(&lift, "set_qos");
        free_rate = read_rate(path, USEC_PER_SEC / 2);
        print_message("4 KiB direct reads: %.0f/s at 200 IOPS, %.0f/s unlimited\n", limited, free_rate);
        assert_true(limited <= 220.0 && limited >= 150.0);
        assert_true(free_rate > 5 * limited);
        unexport_ok(f, &f->a);
        /* Not exported: nothing to change now, success; the limits come with the next export. */
        f->a.v.qos_iops = 100;
        START(softcard_volume_set_qos_async(f->q, &f->a.v, on_done, &off, NULL, ERR), &off);
        run_until(f, (struct res *[]){&off}, 1, TIMEOUT_USEC);
        expect_ok(&off, "set_qos unexported");
        export_ok(f, &f->a, ZERO_CARD_EXPORT_HOST_BLOCK, path);
        limited = read_rate(path, USEC_PER_SEC / 2);
        print_message("%.0f/s at 100 IOPS set while unexported\n", limited);
        assert_true(limited <= 115.0);
        unexport_ok(f, &f->a);
}

/* What is refused at once (done never follows): a bad id, an unknown kind, a volume without its
 * file, a daemon being restarted (ZERO_E_UNAVAILABLE); and after the restart, ops work. */
static void test_refused(void **state) {
        struct fx *f = *state;
        struct res none = {}, after = {};
        struct zero_error err = {};
        struct softcard_volume bad;
        bool unavailable = false;
        uint64_t t0;
        int r;

        start(f);
        vol_make(f, &f->a);
        bad = f->a.v;
        bad.id = "not-an-id";
        assert_int_equal(softcard_volume_export_async(f->q, &bad, ZERO_CARD_EXPORT_NBD, on_done, &none, NULL, &err),
                         -EINVAL);
        assert_int_equal(err.code, ZERO_E_INVALID);
        assert_int_equal(softcard_volume_unexport_async(f->q, &bad, on_done, &none, NULL, &err), -EINVAL);
        assert_int_equal(softcard_volume_set_qos_async(f->q, &bad, on_done, &none, NULL, &err), -EINVAL);
        assert_int_equal(softcard_volume_resize_async(f->q, &bad, VOL_SIZE, on_done, &none, NULL, &err), -EINVAL);
        assert_int_equal(softcard_volume_export_async(f->q, &f->a.v, ZERO_CARD_EXPORT_NONE, on_done, &none, NULL, &err),
                         -EINVAL);
        assert_int_equal(err.code, ZERO_E_INVALID);
        assert_int_equal(softcard_volume_export_async(f->q, &f->b.v, ZERO_CARD_EXPORT_NBD, on_done, &none, NULL, &err),
                         -ENOENT); /* b was never made */
        assert_int_equal(err.code, ZERO_E_NOT_FOUND);

        /* The daemon dies: while the loop restarts it (and before that, while its shim has not
         * reaped it yet but its monitor is gone), ops are refused at once. */
        assert_int_equal(kill(qsd_pid(f->q), SIGKILL), 0);
        t0 = zero_monotonic_usec();
        while (f->lost == 0 && zero_monotonic_usec() - t0 < TIMEOUT_USEC) {
                struct res x = {};
                struct softcard_op *op = NULL;

                err = (struct zero_error){};
                r = softcard_volume_export_async(f->q, &f->a.v, ZERO_CARD_EXPORT_NBD, on_done, &x, &op, &err);
                if (r == -EAGAIN) {
                        assert_int_equal(err.code, ZERO_E_UNAVAILABLE);
                        unavailable = true;
                } else {
                        assert_int_equal(r, 0); /* before the loop saw the death: under way */
                        op = softcard_op_cancel(op);
                }
                assert_true(loop_turn(f, USEC_PER_MSEC) >= 0);
                assert_int_equal(x.calls, 0);
        }
        assert_int_equal(f->lost, 1);
        assert_true(unavailable);
        run_for(f, 100 * USEC_PER_MSEC);
        assert_int_equal(none.calls, 0);
        START(softcard_volume_export_async(f->q, &f->a.v, ZERO_CARD_EXPORT_NBD, on_done, &after, NULL, ERR), &after);
        run_until(f, (struct res *[]){&after}, 1, TIMEOUT_USEC);
        expect_ok(&after, "export after the restart");
        unexport_ok(f, &f->a);
}

/* A cancelled op never calls back, wherever it is when cancelled (before its first step, a QMP
 * command in flight, its loop device's attach in a child); what it left half-made, the next op
 * finishes. qsd_close() with ops under way, one stuck on a stopped daemon: no call either. */
static void test_cancel(void **state) {
        struct fx *f = *state;
        struct res full = {}, x = {}, stuck = {}, queued = {};
        struct softcard_op *op = NULL;
        char path[ZERO_CARD_PATH_MAX];
        unsigned iterations = 0;

        start(f);
        vol_make(f, &f->a);
        vol_make(f, &f->b);
        /* How many turns of the loop a host-block export takes from nothing. */
        START(softcard_volume_export_async(f->q, &f->a.v, ZERO_CARD_EXPORT_HOST_BLOCK, on_done, &full, NULL, ERR),
              &full);
        while (full.calls == 0 && iterations < 100000) {
                assert_true(loop_turn(f, 100 * USEC_PER_MSEC) >= 0);
                iterations++;
        }
        expect_ok(&full, "export");
        print_message("a host-block export: %u turns of the loop\n", iterations);
        unexport_ok(f, &f->a);

        /* Cancelled after each number of turns: no call, ever. */
        for (unsigned n = 0; n <= iterations + 1; n++) {
                x = (struct res){};
                START(softcard_volume_export_async(f->q, &f->a.v, ZERO_CARD_EXPORT_HOST_BLOCK, on_done, &x, &op, ERR),
                      &x);
                for (unsigned i = 0; i < n && x.calls == 0; i++)
                        assert_true(loop_turn(f, 100 * USEC_PER_MSEC) >= 0);
                if (x.calls > 0) { /* done before the cancel: its handle went with it */
                        expect_ok(&x, "export");
                        op = NULL;
                        unexport_ok(f, &f->a);
                        break;
                }
                op = softcard_op_cancel(op);
                run_for(f, 20 * USEC_PER_MSEC);
                assert_int_equal(x.calls, 0);
                /* Whatever it left, an export finishes and an unexport clears. */
                export_ok(f, &f->a, ZERO_CARD_EXPORT_HOST_BLOCK, path);
                assert_true(dev_size(path) == VOL_SIZE);
                unexport_ok(f, &f->a);
                assert_int_equal(leftovers_under(f->dir), 0);
        }
        assert_null(op);

        /* Closed with one op waiting on a stopped daemon and one queued behind it. */
        daemon_stop(f);
        START(softcard_volume_export_async(f->q, &f->b.v, ZERO_CARD_EXPORT_NBD, on_done, &stuck, NULL, ERR), &stuck);
        START(softcard_volume_unexport_async(f->q, &f->b.v, on_done, &queued, NULL, ERR), &queued);
        run_for(f, 100 * USEC_PER_MSEC);
        f->q = qsd_close(f->q);
        run_for(f, 100 * USEC_PER_MSEC);
        assert_int_equal(stuck.calls + queued.calls, 0);
        /* Reopened: the daemon is adopted (it answers again), the half-done export finished. */
        daemon_resume(f);
        {
                struct zero_error err = {};
                struct qsd_config c = {.event = f->e, .run_dir = f->run, .shim = getenv("ZERO_SHIM"),
                                       .binary = getenv("ZERO_QSD") ?: "qemu-storage-daemon", .lost_exports = on_lost,
                                       .userdata = f};
                if (qsd_open(&c, &f->q, &err) < 0)
                        fail_msg("qsd_open: %s", err.message);
        }
        export_ok(f, &f->b, ZERO_CARD_EXPORT_NBD, path);
        unexport_ok(f, &f->b);
        assert_int_equal(leftovers_under(f->dir), 0);
}

/*
 * The blocking test (issue 11, item 7). With the daemon stopped, each op (an export as host block
 * device and as NBD, an unexport of a vhost-user-blk export, a live resize, a QoS change, and a
 * volume job's delete, whose unexport goes first) returns at once, the loop's 5 ms pulse is never
 * held more than 50 ms while they run, and each that needs the daemon ends with ZERO_E_TIMEOUT (or
 * unavailable) within its deadline: its first command's 10 s; the raw volume's host block device
 * (a direct loop device, no daemon) is made all the same. Once the daemon has been stalled for a
 * second, the next op that needs it fails at once. After SIGCONT the same ops succeed.
 */
static void test_stopped(void **state) {
        struct fx *f = *state;
        struct res ex_host = {}, ex_nbd = {}, unex = {}, grow = {}, qos = {}, del = {}, fast = {};
        struct res *all[] = {&ex_host, &ex_nbd, &unex, &grow, &qos, &del};
        const char *names[] = {"export host-block", "export nbd", "unexport", "resize", "set_qos",
                               "delete (its unexport)"};
        struct softcard_jobs jobs = {};
        char path[ZERO_CARD_PATH_MAX], dpath[ZERO_CARD_PATH_MAX];
        uint64_t call_max = 0;
        struct pulse *p;

        start(f);
        vol_make(f, &f->a);
        vol_make(f, &f->b);
        vol_make(f, &f->c);
        vol_make(f, &f->d);
        vol_make(f, &f->x);
        export_ok(f, &f->a, ZERO_CARD_EXPORT_VHOST_USER_BLK, NULL); /* to unexport */
        export_ok(f, &f->x, ZERO_CARD_EXPORT_NBD, NULL);            /* to delete: its unexport first */
        /* to resize and limit (live: qsd 7.2's NBD export refuses block_resize, a permission conflict) */
        export_ok(f, &f->d, ZERO_CARD_EXPORT_HOST_BLOCK, dpath);

        daemon_stop(f);
        p = pulse_start(f);
#define TIMED_START(call, x)                                                                                \
        do {                                                                                                \
                uint64_t _w0 = runqueue_wait();                                                             \
                START(call, x);                                                                             \
                uint64_t _took = held_since((x)->started, _w0);                                             \
                call_max = _took > call_max ? _took : call_max;                                             \
        } while (0)
        TIMED_START(softcard_volume_export_async(f->q, &f->b.v, ZERO_CARD_EXPORT_HOST_BLOCK, on_done, &ex_host, NULL,
                                                 ERR),
                    &ex_host);
        TIMED_START(softcard_volume_export_async(f->q, &f->c.v, ZERO_CARD_EXPORT_NBD, on_done, &ex_nbd, NULL, ERR),
                    &ex_nbd);
        TIMED_START(softcard_volume_unexport_async(f->q, &f->a.v, on_done, &unex, NULL, ERR), &unex);
        TIMED_START(softcard_volume_resize_async(f->q, &f->d.v, VOL_SIZE * 2, on_done, &grow, NULL, ERR), &grow);
        f->d.v.qos_iops = 500;
        TIMED_START(softcard_volume_set_qos_async(f->q, &f->d.v, on_done, &qos, NULL, ERR), &qos);
        TIMED_START(softcard_volume_delete_async(&jobs, f->e, f->q, &f->x.v, on_job, &del, ERR), &del);
        run_until(f, all, ELEMENTSOF(all), 2 * STOPPED_OP_MAX_USEC);
        pulse_judge(p, "the loop while 6 ops wait on the stopped daemon");
        print_message("each call returned within %.2f ms (waits for a CPU aside)\n", (double) call_max / 1000.0);
        assert_true(call_max <= 20 * USEC_PER_MSEC); /* microseconds: nothing in them waits */
        /* A raw volume's host block device is a direct loop device over its file, and the card
         * knows the daemon's state (view.c): made without a word to the daemon. */
        expect_ok(&ex_host, names[0]);
        for (size_t i = 1; i < ELEMENTSOF(all); i++) {
                print_message("%s: %s after %.1f ms: %s\n", names[i], zero_errc_name(all[i]->err.code),
                              (double) (all[i]->ended - all[i]->started) / 1000.0, all[i]->err.message);
                assert_true(all[i]->r < 0);
                assert_true(all[i]->err.code == ZERO_E_TIMEOUT || all[i]->err.code == ZERO_E_UNAVAILABLE);
                assert_true(all[i]->ended - all[i]->started <= STOPPED_OP_MAX_USEC);
        }

        /* Stalled for more than a second now: the next op fails at once, unsent. */
        run_for(f, 1100 * USEC_PER_MSEC);
        {
                uint64_t w0 = runqueue_wait(), held;

                START(softcard_volume_export_async(f->q, &f->c.v, ZERO_CARD_EXPORT_NBD, on_done, &fast, NULL, ERR),
                      &fast);
                run_until(f, (struct res *[]){&fast}, 1, TIMEOUT_USEC);
                held = held_since(fast.started, w0);
                print_message("an op on the stalled daemon: %s after %.1f ms (%.1f ms not waiting for a CPU)\n",
                              zero_errc_name(fast.err.code), (double) (fast.ended - fast.started) / 1000.0,
                              (double) held / 1000.0);
                assert_int_equal(fast.r, -ETIMEDOUT);
                assert_int_equal(fast.err.code, ZERO_E_TIMEOUT);
                assert_true(held <= 100 * USEC_PER_MSEC); /* unsent: nothing to wait for */
        }

        /* Going on: the probe hears it, and the same ops succeed. */
        daemon_resume(f);
        run_for(f, 200 * USEC_PER_MSEC);
        for (size_t i = 0; i < ELEMENTSOF(all); i++)
                *all[i] = (struct res){};
        p = pulse_start(f);
        START(softcard_volume_export_async(f->q, &f->b.v, ZERO_CARD_EXPORT_HOST_BLOCK, on_done, &ex_host, NULL, ERR),
              &ex_host);
        START(softcard_volume_export_async(f->q, &f->c.v, ZERO_CARD_EXPORT_NBD, on_done, &ex_nbd, NULL, ERR), &ex_nbd);
        START(softcard_volume_unexport_async(f->q, &f->a.v, on_done, &unex, NULL, ERR), &unex);
        START(softcard_volume_resize_async(f->q, &f->d.v, VOL_SIZE * 2, on_done, &grow, NULL, ERR), &grow);
        START(softcard_volume_set_qos_async(f->q, &f->d.v, on_done, &qos, NULL, ERR), &qos);
        START(softcard_volume_delete_async(&jobs, f->e, f->q, &f->x.v, on_job, &del, ERR), &del);
        run_until(f, all, ELEMENTSOF(all), 3 * TIMEOUT_USEC);
        pulse_judge(p, "the loop while the same 6 ops run");
        for (size_t i = 0; i < ELEMENTSOF(all); i++) {
                expect_ok(all[i], names[i]);
                print_message("%s: done in %.1f ms\n", names[i], (double) (all[i]->ended - all[i]->started) / 1000.0);
        }
        snprintf(path, sizeof(path), "%s", ex_host.path);
        assert_true(dev_size(path) == VOL_SIZE);
        assert_true(dev_size(dpath) == VOL_SIZE * 2); /* the live resize reached the loop device */
        assert_false(exported(f, &f->a));
        assert_int_equal(access(f->x.path, F_OK), -1);
        assert_null(jobs.head);
        unexport_ok(f, &f->b);
        unexport_ok(f, &f->c);
        unexport_ok(f, &f->d);
        assert_int_equal(leftovers_under(f->dir), 0);
}

struct work_res {
        struct zero_subprocess_result res;
        bool ended;
};

static void on_work(void *userdata, const struct zero_subprocess_result *res) {
        struct work_res *w = userdata;

        w->res = *res;
        w->ended = true;
}

/* The control's attach, from a callback of the loop, as the synchronous export runs it. */
struct inline_attach {
        struct softcard_loop_job *job;
        struct zero_subprocess_result res;
        uint64_t took;
        bool ran;
};

static int on_inline_attach(sd_event_source *s, void *userdata) {
        struct inline_attach *c = userdata;
        uint64_t t0 = zero_monotonic_usec();

        softcard_loop_ensure_work(c->job, &c->res);
        c->took = zero_monotonic_usec() - t0;
        c->ran = true;
        return sd_event_source_set_enabled(s, SD_EVENT_OFF);
}

/*
 * The loop device's attach over the FUSE export of a stopped daemon (open() and LOOP_CONFIGURE
 * sleep in D state until it goes on): as the export op runs it, work in a child. The call
 * returns at once, the loop keeps its pulse, the work ends with ZERO_E_TIMEOUT at its deadline,
 * the child is killed and, once the daemon goes on, reaped from the loop. Then the export
 * finishes. (The op reaches this step only after its QMP commands: to stop the daemon between
 * them, the test stops it with the FUSE export there and its loop device gone, as a crash
 * between the two steps leaves it.)
 */
static void test_loop_work_stopped(void **state) {
        struct fx *f = *state;
        struct zero_subprocess *child = NULL;
        struct softcard_loop_job job;
        struct work_res w = {};
        char path[ZERO_CARD_PATH_MAX];
        _cleanup_free_ char *exports = NULL;
        uint64_t t0, w0, took, call;
        struct pulse *p;

        start(f);
        vol_make(f, &f->a);
        export_ok(f, &f->a, ZERO_CARD_EXPORT_HOST_BLOCK, path);
        exports = zero_strdup_printf("%s/exports", f->run);
        assert_int_equal(softcard_loop_detach_id(exports, f->a.id), 0);
        daemon_stop(f);
        usleep(1500 * 1000); /* past the FUSE attributes' lifetime (1 s, QEMU's) */

        assert_int_equal(softcard_loop_job_init(&job, exports, f->a.id, 0), 0);
        p = pulse_start(f);
        w0 = runqueue_wait();
        t0 = zero_monotonic_usec();
        assert_int_equal(zero_subprocess_call(f->e, "the loop device's attach", softcard_loop_ensure_work, &job,
                                             2 * USEC_PER_SEC, on_work, &w, &child),
                         0);
        call = held_since(t0, w0);
        while (!w.ended && zero_monotonic_usec() - t0 < 3 * TIMEOUT_USEC)
                assert_true(loop_turn(f, 100 * USEC_PER_MSEC) >= 0);
        took = zero_monotonic_usec() - t0;
        pulse_judge(p, "the loop while a child attaches a loop device over the stopped daemon's export");
        print_message("the start returned in %.2f ms; the work ended after %.1f ms: %s\n", (double) call / 1000.0,
                      (double) took / 1000.0, w.res.err.message);
        assert_true(w.ended);
        assert_int_equal(w.res.r, -ETIMEDOUT);
        assert_int_equal(w.res.err.code, ZERO_E_TIMEOUT);
        assert_true(took >= 2 * USEC_PER_SEC && took <= 2 * USEC_PER_SEC + USEC_PER_SEC);
        assert_true(call <= 20 * USEC_PER_MSEC);

        /* Killed, and gone (its request was still queued: a killed caller leaves it), or reaped by
         * the loop once the daemon answers. */
        run_for(f, 50 * USEC_PER_MSEC);
        print_message("children of ours stuck after the kill, the daemon still stopped: %d\n", children_stuck());

        /* The control: the same attach on the loop, as the synchronous export does it. It
         * sleeps until a helper resumes the daemon 300 ms later, and the pulse sees that. */
        {
                struct inline_attach c = {.job = &job};
                sd_event_source *s = NULL;
                pid_t helper;
                int status;

                p = pulse_start(f);
                run_for(f, 50 * USEC_PER_MSEC);
                helper = fork();
                assert_true(helper >= 0);
                if (helper == 0) {
                        usleep(300 * 1000);
                        _exit(kill(f->stopped, SIGCONT) < 0);
                }
                assert_true(sd_event_add_defer(f->e, &s, on_inline_attach, &c) >= 0);
                t0 = zero_monotonic_usec();
                while (!c.ran && zero_monotonic_usec() - t0 < TIMEOUT_USEC)
                        assert_true(loop_turn(f, 100 * USEC_PER_MSEC) >= 0);
                took = c.took;
                sd_event_source_disable_unref(s);
                run_for(f, 50 * USEC_PER_MSEC);
                assert_int_equal(waitpid(helper, &status, 0), helper);
                f->stopped = 0;
                print_message("control: the attach on the loop took %.1f ms\n", (double) took / 1000.0);
                pulse_judge_held(p, "the loop while it attaches over the stopped daemon's export itself");
                assert_true(took >= 250 * USEC_PER_MSEC);
                assert_int_equal(c.res.r, 1); /* attached, once the daemon went on */
                assert_int_equal(softcard_loop_detach_id(exports, f->a.id), 0);
        }
        for (int i = 0; i < 50 && children_stuck() > 0; i++)
                run_for(f, 20 * USEC_PER_MSEC);
        assert_int_equal(children_stuck(), 0);
        export_ok(f, &f->a, ZERO_CARD_EXPORT_HOST_BLOCK, path);
        assert_true(dev_size(path) == VOL_SIZE);
        check_hello(f, path);
        unexport_ok(f, &f->a);
        assert_int_equal(leftovers_under(f->dir), 0);
}

/* Work for test_child_reaper: its pid and how many fds above 3 it has (none of zerod's: only
 * its result's memfd, fd 3) in the file arg names, then nothing until killed. */
static void work_wait(void *arg, struct zero_subprocess_result *res) {
        char pid[32];
        int extra = 0;

        for (int fd = 4; fd < 4096; fd++)
                extra += fcntl(fd, F_GETFD) >= 0;
        snprintf(pid, sizeof(pid), "%d %d", (int) getpid(), extra);
        (void) zero_write_file_atomic(arg, pid, strlen(pid), 0600);
        for (;;)
                pause();
}

static int write_text(const char *path, const char *text) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        return fd < 0 ? -errno : zero_write_all(fd, text, strlen(text));
}

/*
 * A child stopped by its owner is killed and never waited for on the loop: one that cannot die at
 * once (in D state until the FUSE request it waits for ends) is reaped from the loop once it
 * does, and leaves no zombie. The child is held as D state would hold it by the cgroup v1
 * freezer, whose frozen tasks take a SIGKILL only once thawed.
 */
static void test_child_reaper(void **state) {
        struct fx *f = *state;
        struct zero_subprocess *child = NULL;
        struct work_res w = {};
        _cleanup_free_ char *marker = NULL, *text = NULL, *cg = NULL, *procs = NULL, *st = NULL;
        _cleanup_free_ char *frozen = NULL;
        uint64_t t0, w0, freed, took, gone;
        int64_t pid = 0;

        start(f);
        if (access("/sys/fs/cgroup/freezer/cgroup.procs", W_OK) < 0)
                zero_skip("no cgroup v1 freezer here: the killed child cannot be held\n");
        marker = zero_strdup_printf("%s/child.pid", f->dir);
        snprintf(f->cgroup, sizeof(f->cgroup), "/sys/fs/cgroup/freezer/zero-test-%d", (int) getpid());
        cg = strdup(f->cgroup);
        procs = zero_strdup_printf("%s/cgroup.procs", cg);
        st = zero_strdup_printf("%s/freezer.state", cg);
        {
                /* An fd of ours the child must not keep (zerod's lock, sockets). */
                _cleanup_close_ int mine = open("/dev/null", O_RDONLY | O_CLOEXEC);
                assert_true(mine >= 4);
                assert_int_equal(zero_subprocess_call(f->e, "a child", work_wait, marker, 0, on_work, &w, &child), 0);
        }
        t0 = zero_monotonic_usec();
        while (access(marker, F_OK) < 0 && zero_monotonic_usec() - t0 < TIMEOUT_USEC)
                run_for(f, 10 * USEC_PER_MSEC);
        assert_int_equal(zero_read_file(marker, 64, &text, NULL), 0);
        {
                int p = 0, extra = -1;
                assert_int_equal(sscanf(text, "%d %d", &p, &extra), 2);
                pid = p;
                text[strcspn(text, " ")] = '\0'; /* the pid, for cgroup.procs */
                print_message("the work child has %d fds above its result's\n", extra);
                assert_int_equal(extra, 0); /* none of ours: no socket, no lock, no monitor */
        }
        assert_true(mkdir(cg, 0755) == 0 || errno == EEXIST);
        assert_int_equal(write_text(procs, text), 0);
        assert_int_equal(write_text(st, "FROZEN"), 0);
        for (int i = 0; i < 200; i++) {
                frozen = mfree(frozen);
                if (zero_read_file(st, 64, &frozen, NULL) >= 0 && strncmp(frozen, "FROZEN", 6) == 0)
                        break;
                usleep(5000);
        }

        t0 = zero_monotonic_usec();
        w0 = runqueue_wait();
        child = zero_subprocess_free(child);
        took = zero_monotonic_usec() - t0;
        /* Less what the process waited for a CPU: the free sleeps ~1 ms in steps of 100 us
         * (subprocess.c), and each wakeup waited its turn at a load of 5 (13.5 ms in all, once).
         * A free that waited for the frozen child would not return before the thaw below. */
        freed = held_since(t0, w0);
        run_for(f, 100 * USEC_PER_MSEC);
        assert_int_equal(kill((pid_t) pid, 0), 0); /* killed, but held: not reaped, not waited for */
        assert_int_equal(write_text(st, "THAWED"), 0);
        while (kill((pid_t) pid, 0) == 0 && zero_monotonic_usec() - t0 < TIMEOUT_USEC)
                assert_true(loop_turn(f, 10 * USEC_PER_MSEC) >= 0);
        gone = zero_monotonic_usec() - t0;
        assert_int_equal(rmdir(cg), 0);
        f->cgroup[0] = '\0';
        print_message("the free of a child that cannot die returned after %.2f ms (%.2f ms not waiting for a CPU); "
                      "reaped by the loop %.1f ms later, once it could\n",
                      (double) took / 1000.0, (double) freed / 1000.0, (double) gone / 1000.0);
        assert_true(freed <= 10 * USEC_PER_MSEC);
        assert_int_equal(kill((pid_t) pid, 0), -1); /* reaped: not even a zombie */
        assert_int_equal(children_stuck(), 0);
        assert_false(w.ended); /* stopped by its owner: done never called */
}

/*
 * Slow is not stalled: a stats call (best effort, 25 ms) that misses its bound against a daemon
 * paused 60 ms (SIGSTOP, then SIGCONT: a daemon slow under load, not a stopped one) leaves the
 * ops that change something their whole timeout: an export started during the pause succeeds
 * once the daemon runs again. Before, the stats' timeout marked the daemon stalled, the export's
 * first command got 25 ms too and failed (`timeout`), on a daemon that answered 35 ms later.
 * The stats calls after the one that timed out fail at once, unsent, until the daemon answers
 * again; then they work.
 */
static void test_slow_not_stalled(void **state) {
        struct fx *f = *state;
        struct zero_card_volume_stats st = {};
        struct zero_error err = {}, err2 = {};
        struct res r = {};
        uint64_t t0, took;
        int k, k2;

        start(f);
        vol_make(f, &f->a);
        vol_make(f, &f->b);
        export_ok(f, &f->a, ZERO_CARD_EXPORT_NBD, NULL);
        assert_false(qsd_set_best_effort(f->q, true));

        daemon_stop(f);
        t0 = zero_monotonic_usec();
        k = softcard_volume_stats(f->q, &f->a.v, &st, &err);
        took = zero_monotonic_usec() - t0;
        print_message("stats of a paused daemon: %d %s after %.1f ms\n", k, err.message, (double) took / 1000.0);
        assert_int_equal(k, -ETIMEDOUT);
        assert_int_equal(err.code, ZERO_E_TIMEOUT);
        /* A change, started while the daemon is still paused: it gets its whole timeout. */
        START(softcard_volume_export_async(f->q, &f->b.v, ZERO_CARD_EXPORT_NBD, on_done, &r, NULL, ERR), &r);
        /* The next stats wait for the daemon's next answer: unsent, at once (judged below). */
        k2 = softcard_volume_stats(f->q, &f->a.v, &st, &err2);
        run_for(f, 60 * USEC_PER_MSEC); /* past 25 ms: a command with that timeout would time out now */
        if (r.calls > 0)
                fail_msg("the export ended while the daemon was paused: %s", r.r < 0 ? r.err.message : "done");
        daemon_resume(f);
        run_until(f, (struct res *[]){&r}, 1, TIMEOUT_USEC);
        print_message("the export started during the pause: %s after %.1f ms\n", r.r >= 0 ? "done" : r.err.message,
                      (double) (r.ended - r.started) / 1000.0);
        expect_ok(&r, "an export after a best-effort call timed out");
        assert_int_equal(k2, -ETIMEDOUT);
        assert_non_null(strstr(err2.message, "not sent"));

        /* The daemon answered: stats again (best effort: a loaded machine may miss 25 ms, so a
         * few tries, the loop run between them, within TIMEOUT_USEC). */
        t0 = zero_monotonic_usec();
        for (;;) {
                err = (struct zero_error){};
                if (softcard_volume_stats(f->q, &f->b.v, &st, &err) >= 0)
                        break;
                assert_int_equal(err.code, ZERO_E_TIMEOUT);
                assert_true(zero_monotonic_usec() - t0 < TIMEOUT_USEC);
                run_for(f, 20 * USEC_PER_MSEC);
        }
        assert_true(st.exported);
        assert_true(qsd_set_best_effort(f->q, false));
        unexport_ok(f, &f->a);
        unexport_ok(f, &f->b);
        assert_int_equal(leftovers_under(f->dir), 0);
}

/* qsd_call_async() on its own: answered from the loop, never inside; a QMP error is -EIO with
 * its desc; a cancelled call never answers. */
struct call_res {
        int calls, r;
        json_t *value;
        struct zero_error err;
};

static void on_reply(void *userdata, int r, json_t *value, const struct zero_error *err) {
        struct call_res *x = userdata;

        x->calls++;
        x->r = r;
        x->value = json_incref(value);
        if (r < 0)
                x->err = *err;
}

static void test_call_async(void **state) {
        struct fx *f = *state;
        struct call_res ok = {}, bad = {}, gone = {};
        struct qsd_call *c = NULL;
        uint64_t t0;

        start(f);
        assert_int_equal(qsd_call_async(f->q, "query-version", NULL, on_reply, &ok, NULL), 0);
        assert_int_equal(qsd_call_async(f->q, "no-such-command", NULL, on_reply, &bad, NULL), 0);
        assert_int_equal(qsd_call_async(f->q, "query-block-exports", NULL, on_reply, &gone, &c), 0);
        assert_int_equal(ok.calls + bad.calls + gone.calls, 0);
        c = qsd_call_cancel(c);
        t0 = zero_monotonic_usec();
        while ((ok.calls == 0 || bad.calls == 0) && zero_monotonic_usec() - t0 < TIMEOUT_USEC)
                assert_true(loop_turn(f, 100 * USEC_PER_MSEC) >= 0);
        run_for(f, 50 * USEC_PER_MSEC);
        assert_int_equal(ok.calls, 1);
        assert_int_equal(ok.r, 0);
        assert_non_null(json_object_get(ok.value, "qemu"));
        assert_int_equal(bad.calls, 1);
        assert_int_equal(bad.r, -EIO);
        assert_non_null(strstr(bad.err.message, "no-such-command"));
        assert_int_equal(gone.calls, 0);
        json_decref(ok.value);
        json_decref(bad.value);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_call_async, setup, teardown),
                cmocka_unit_test_setup_teardown(test_export_kinds, setup, teardown),
                cmocka_unit_test_setup_teardown(test_resize, setup, teardown),
                cmocka_unit_test_setup_teardown(test_qos, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stopped, setup, teardown),
                cmocka_unit_test_setup_teardown(test_slow_not_stalled, setup, teardown),
                cmocka_unit_test_setup_teardown(test_loop_work_stopped, setup, teardown),
                cmocka_unit_test_setup_teardown(test_child_reaper, setup, teardown),
        };
        const char *why = cannot_run();

        if (why) {
                printf("test_softcard_async: %s: skipped\n", why);
                return ZERO_TEST_SKIPPED;
        }
        zero_log_set_max_priority(getenv("ZERO_SOFTCARD_TEST_DEBUG") ? LOG_DEBUG : LOG_INFO);
        zero_tests_filter();
        return zero_tests_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
