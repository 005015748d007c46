/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_container_start: container create+start and forced stop+delete through zerod's API, next
 * to `crun run --detach` of the same bundle (and, for reference, to `crun create` + `crun start`:
 * zero-shim makes the one `run --detach`), the resident memory of zerod and zero-shim, and --density containers made and
 * deleted one after the other, then by 8 clients at once (creates per second).
 * Run by hand (docs/benchmarks.md). It starts its own zerod in a fresh /tmp directory, talks to
 * it over a unix socket only, and leaves no process, mount or file behind, also on failure.
 *
 * The crun side runs in a forked worker: on hybrid-cgroup hosts crun needs a private mount
 * namespace with cgroup2 at /sys/fs/cgroup (what zero-shim sets up), and zerod's namespace must
 * stay untouched. The worker is forked before zerod exists, so its copy of the mount table holds
 * none of zerod's overlays. API and crun runs alternate, so both see the same machine state.
 */
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "common/util.h"
#include "tests/bench/fleet.h"

#define RUNS_DEFAULT 30
#define RUNS_MIN 20
#define DENSITY_DEFAULT 50
#define CONCURRENT_CLIENTS 8

/* Admission counts 1 cpu per instance against cpus x cpu_overcommit (16 by default: 32 instances
 * on 2 cpus). Lifted here: the density phase measures memory, not admission. */
#define ZEROD_CONF "[limits]\ncpu_overcommit = 1000\n"

struct ctr_bench {
        struct bench b;
        int runs, density;
        char *crun_root, *bundle, *crun_log; /* the worker's */
        pid_t worker_pid;
        int to_worker, from_worker;
        long idle_kib;   /* zerod's VmRSS after the image import, before any instance */
        char (*ops)[40]; /* the measured operations: create of run i at 2i, its delete at 2i+1 */
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig) {
        interrupted = sig;
}

static int read_full(int fd, void *buf, size_t len) {
        for (size_t done = 0; done < len;) {
                ssize_t n = read(fd, (char *) buf + done, len - done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? -errno : -EPIPE;
                done += (size_t) n;
        }
        return 0;
}

/* --- the crun worker --- */

enum { W_RUN = 'r', W_CREATE_START = 's', W_KILL = 'k', W_QUIT = 'q' };
struct w_cmd {
        int op, idx;
};
struct w_reply {
        int r;
        uint64_t usec;
        char msg[240];
};

/* fork + exec + waitpid, timed here. stdin and stdout are /dev/null, stderr is err_fd: a
 * detached container inherits them, so none may be a pipe that someone reads to its end. */
static int spawn_wait(char *const argv[], int err_fd, uint64_t *ret_usec) {
        uint64_t t0 = zero_monotonic_usec();
        int status;
        pid_t pid = fork();

        if (pid < 0)
                return -errno;
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR);
                if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(err_fd, 2) < 0)
                        _exit(127);
                (void) signal(SIGPIPE, SIG_DFL); /* an ignored signal stays ignored across exec */
                execvp(argv[0], argv);
                _exit(127);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (ret_usec)
                *ret_usec = zero_monotonic_usec() - t0;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int errno_msg(char *msg, size_t size, const char *what) {
        int r = -errno;
        snprintf(msg, size, "%s: %s", what, strerror(-r));
        return r;
}

/* The steps of zero-shim's private_cgroup2(). */
static int private_cgroup2(char *msg, size_t size) {
        if (unshare(CLONE_NEWNS) < 0)
                return errno_msg(msg, size, "unshare(CLONE_NEWNS)");
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return errno_msg(msg, size, "cannot make / private");
        if (umount2("/sys/fs/cgroup", MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
                return errno_msg(msg, size, "cannot unmount /sys/fs/cgroup");
        if (mount("cgroup2", "/sys/fs/cgroup", "cgroup2", 0, NULL) < 0)
                return errno_msg(msg, size, "cannot mount cgroup2 on /sys/fs/cgroup");
        return 0;
}

/* Timed: `crun run --detach` as c<idx> (W_RUN), the one call zero-shim makes, or `crun create` +
 * `crun start` for reference as s<idx> (W_CREATE_START). Untimed: `crun kill NAME KILL` + `crun delete -f`.
 * idx < 0 is the warm-up. */
static int worker_crun(const struct ctr_bench *cb, int op, char kind, int idx, int err_fd, uint64_t *ret_usec) {
        char name[16];
        char *crun = (char *) cb->b.crun, *root = cb->crun_root, *mgr = "--cgroup-manager=disabled";
        uint64_t t0 = zero_monotonic_usec();
        int r;

        if (idx < 0)
                snprintf(name, sizeof(name), "%cwarm", kind);
        else
                snprintf(name, sizeof(name), "%c%d", kind, idx);
        switch (op) {
        case W_RUN:
                return spawn_wait((char *const[]){crun, "--root", root, mgr, "run", "--detach", "--bundle",
                                                  cb->bundle, name, NULL}, err_fd, ret_usec);
        case W_CREATE_START:
                r = spawn_wait((char *const[]){crun, "--root", root, mgr, "create", "--bundle", cb->bundle, name,
                                               NULL}, err_fd, NULL);
                if (r == 0)
                        r = spawn_wait((char *const[]){crun, "--root", root, mgr, "start", name, NULL}, err_fd, NULL);
                *ret_usec = zero_monotonic_usec() - t0;
                return r;
        default:
                (void) spawn_wait((char *const[]){crun, "--root", root, mgr, "kill", name, "KILL", NULL}, err_fd, NULL);
                return spawn_wait((char *const[]){crun, "--root", root, mgr, "delete", "-f", name, NULL}, err_fd, NULL);
        }
}

/* Kills and deletes the containers of run idx that exist. */
static int worker_kill(const struct ctr_bench *cb, bool live[static 2], int idx, int err_fd) {
        int r = 0;

        for (int k = 0; k < 2; k++)
                if (live[k]) {
                        int q = worker_crun(cb, W_KILL, "cs"[k], idx, err_fd, NULL);
                        r = r ?: q;
                        live[k] = false;
                }
        return r;
}

_Noreturn static void worker_main(const struct ctr_bench *cb, int in, int out) {
        struct w_reply rep = {};
        struct w_cmd c;
        bool live[2] = {}; /* c<live_idx>, s<live_idx> exist */
        int live_idx = 0, err_fd;

        (void) setpgid(0, 0); /* ^C reaches the benchmark, which cleans up */
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        /* The detached containers' inits become our children: reap them, leave no zombies. */
        (void) prctl(PR_SET_CHILD_SUBREAPER, 1);
        err_fd = open(cb->crun_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        rep.r = err_fd < 0 ? errno_msg(rep.msg, sizeof(rep.msg), "cannot open crun.log")
                           : private_cgroup2(rep.msg, sizeof(rep.msg));
        (void) zero_write_all(out, &rep, sizeof(rep));
        while (rep.r >= 0 && read_full(in, &c, sizeof(c)) >= 0 && c.op != W_QUIT) {
                rep = (struct w_reply){};
                if (c.op == W_KILL)
                        rep.r = worker_kill(cb, live, live_idx, err_fd);
                else {
                        rep.r = worker_crun(cb, c.op, c.op == W_RUN ? 'c' : 's', c.idx, err_fd, &rep.usec);
                        live[c.op != W_RUN] = true;
                        live_idx = c.idx;
                }
                if (rep.r != 0)
                        snprintf(rep.msg, sizeof(rep.msg), "crun %s of run %d (-1: warm-up) exited with %d (see %s)",
                                 c.op == W_RUN ? "run" : c.op == W_KILL ? "kill/delete" : "create/start", c.idx, rep.r,
                                 cb->crun_log);
                while (waitpid(-1, NULL, WNOHANG) > 0)
                        ;
                if (zero_write_all(out, &rep, sizeof(rep)) < 0)
                        break;
        }
        if (err_fd >= 0)
                (void) worker_kill(cb, live, live_idx, err_fd);
        for (int i = 0; i < 100; i++, bench_sleep_ms(10)) /* the last containers' inits */
                if (waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD)
                        break;
        _exit(0);
}

static int worker_start(struct ctr_bench *cb) {
        int down[2], up[2];
        struct w_reply rep;

        if (pipe2(down, O_CLOEXEC) < 0 || pipe2(up, O_CLOEXEC) < 0)
                return bench_fail(&cb->b, -errno, "pipe: %m");
        if ((cb->worker_pid = fork()) < 0)
                return bench_fail(&cb->b, -errno, "fork: %m");
        if (cb->worker_pid == 0) {
                close(down[1]);
                close(up[0]);
                worker_main(cb, down[0], up[1]);
        }
        close(down[0]);
        close(up[1]);
        cb->to_worker = down[1];
        cb->from_worker = up[0];
        if (read_full(cb->from_worker, &rep, sizeof(rep)) < 0)
                return bench_fail(&cb->b, -EPIPE, "the crun worker died while starting");
        return rep.r < 0 ? bench_fail(&cb->b, rep.r, "crun worker: %s", rep.msg) : 0;
}

static int worker_call(struct ctr_bench *cb, int op, int idx, uint64_t *ret_usec) {
        struct w_cmd c = {op, idx};
        struct w_reply rep;

        if (zero_write_all(cb->to_worker, &c, sizeof(c)) < 0 || read_full(cb->from_worker, &rep, sizeof(rep)) < 0)
                return bench_fail(&cb->b, -EPIPE, "the crun worker died");
        if (rep.r != 0)
                return bench_fail(&cb->b, -EIO, "%s", rep.msg);
        if (ret_usec)
                *ret_usec = rep.usec;
        return 0;
}

static void worker_stop(struct ctr_bench *cb) {
        struct w_cmd quit = {W_QUIT, 0};

        if (cb->worker_pid <= 0)
                return;
        /* It deletes its last container and exits. */
        if (zero_write_all(cb->to_worker, &quit, sizeof(quit)) >= 0)
                for (int i = 0; i < 250; i++, bench_sleep_ms(20))
                        if (waitpid(cb->worker_pid, NULL, WNOHANG) != 0) {
                                cb->worker_pid = 0;
                                return;
                        }
        (void) kill(cb->worker_pid, SIGKILL);
        (void) waitpid(cb->worker_pid, NULL, 0);
        cb->worker_pid = 0;
}

/* --- instances through the API --- */

static int create(struct bench *b, const char *name, char *ret_op, uint64_t *ret_accept_usec) {
        char body[160];
        snprintf(body, sizeof(body),
                 "{\"name\":\"%s\",\"image\":\"busybox\",\"memory_mib\":16,"
                 "\"command\":[\"/bin/sleep\",\"3600\"]}", name);
        return bench_act(b, "POST", "/v1/instances", body, ret_op, ret_accept_usec);
}

static int destroy(struct bench *b, const char *name, char *ret_op, uint64_t *ret_accept_usec) {
        char path[128];
        snprintf(path, sizeof(path), "/v1/instances/%s?force=true", name);
        return bench_act(b, "DELETE", path, NULL, ret_op, ret_accept_usec);
}

/* The id of instance NAME, which must be running. */
static int instance_id(struct bench *b, const char *name, char ret_id[static 40]) {
        char path[128];
        json_auto_t *inst = NULL;
        int r;

        snprintf(path, sizeof(path), "/v1/instances/%s", name);
        if ((r = bench_api(b, "GET", path, NULL, 200, &inst)) < 0)
                return r;
        const char *id = json_string_value(json_object_get(inst, "id"));
        const char *state = json_string_value(json_object_get(inst, "state"));
        if (!id || !state || !streq(state, "running"))
                return bench_fail(b, -EIO, "instance %s is not running after its create: %.300s", name, b->body);
        snprintf(ret_id, 40, "%s", id);
        return 0;
}

/* --- the benchmark --- */

static int setup(struct ctr_bench *cb) {
        struct bench *b = &cb->b;
        int r;

        if ((r = bench_tmp_new(b)) < 0)
                return r;
        cb->crun_root = bench_path(b, "crun");
        cb->bundle = bench_path(b, "bundle");
        cb->crun_log = bench_path(b, "crun.log");
        if (!cb->crun_root || !cb->bundle || !cb->crun_log)
                return bench_fail(b, -ENOMEM, "out of memory");
        /* Before zerod exists: see the top of the file. */
        if ((r = worker_start(cb)) < 0 || (r = bench_zerod_start(b, ZEROD_CONF)) < 0)
                return r;
        return bench_image_import(b, "busybox");
}

/* The worker's bundle: config.json exactly as zerod wrote it for instance ID, rootfs a plain copy
 * of the image (crun run needs no overlay). */
static int make_bundle(struct ctr_bench *cb, const char *id) {
        struct bench *b = &cb->b;
        _cleanup_free_ char *src = zero_strdup_printf("%s/instances/%s/bundle/config.json", b->run_dir, id);
        _cleanup_free_ char *config = zero_strdup_printf("%s/config.json", cb->bundle);
        _cleanup_free_ char *rootfs = zero_strdup_printf("%s/rootfs", cb->bundle);
        _cleanup_free_ char *image = zero_strdup_printf("%s/images/busybox/rootfs/.", b->state_dir);
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r;

        if (!src || !config || !rootfs || !image)
                return bench_fail(b, -ENOMEM, "out of memory");
        if ((r = zero_read_file(src, 1 << 20, &text, &len)) < 0)
                return bench_fail(b, r, "cannot read %s: %s", src, strerror(-r));
        /* Without the hooks: the container plugin's remounts zerod's rootfs (its root volume's
         * mount) nodev, and the copy here is no mount point. The crun side is spared that exec. */
        json_auto_t *cfg = json_loadb(text, len, 0, NULL);
        if (!cfg)
                return bench_fail(b, -EBADMSG, "%s is no JSON", src);
        (void) json_object_del(cfg, "hooks");
        free(text);
        if (!(text = json_dumps(cfg, JSON_INDENT(2))))
                return bench_fail(b, -ENOMEM, "out of memory");
        len = strlen(text);
        if ((r = zero_mkdir_p(rootfs, 0755)) < 0 || (r = zero_write_file_atomic(config, text, len, 0600)) < 0)
                return bench_fail(b, r, "cannot lay out %s: %s", cb->bundle, strerror(-r));
        return bench_run(b, (char *const[]){"cp", "-a", image, rootfs, NULL});
}

static const char *verdict(bool ok) {
        return ok ? "met" : "MISSED";
}

static void print_rss(const char *what, pid_t pid) {
        printf("%-36s VmRSS %5.2f MiB, RssAnon %5.2f MiB\n", what, (double) bench_proc_status_kib(pid, "VmRSS") / 1024,
               (double) bench_proc_status_kib(pid, "RssAnon") / 1024);
}

static int measure(struct ctr_bench *cb) {
        struct bench *b = &cb->b;
        size_t n = (size_t) cb->runs;
        _cleanup_free_ uint64_t *v = calloc(7 * n, sizeof(uint64_t));
        uint64_t *t_create = v, *t_crun = v + n, *t_cs = v + 2 * n, *t_delete = v + 3 * n, *t_rtt = v + 4 * n, t0;
        uint64_t *t_post = v + 5 * n, *t_del = v + 6 * n; /* until the 202 */
        char id[40], name[16];
        int r;

        if (!v)
                return bench_fail(b, -ENOMEM, "out of memory");
        cb->idle_kib = bench_proc_status_kib(b->zerod_pid, "VmRSS");
        print_rss("zerod, idle (image imported):", b->zerod_pid);
        /* Warm-up, untimed: the plugin probes crun at its first prepare; caches warm up. */
        if ((r = create(b, "warm", NULL, NULL)) < 0 || (r = instance_id(b, "warm", id)) < 0 ||
            (r = make_bundle(cb, id)) < 0 || (r = worker_call(cb, W_RUN, -1, NULL)) < 0 ||
            (r = worker_call(cb, W_CREATE_START, -1, NULL)) < 0 || (r = worker_call(cb, W_KILL, -1, NULL)) < 0 ||
            (r = destroy(b, "warm", NULL, NULL)) < 0)
                return r;

        for (size_t i = 0; i < n; i++) {
                t0 = zero_monotonic_usec();
                if ((r = bench_api(b, "GET", "/v1/node", NULL, 200, NULL)) < 0)
                        return r;
                t_rtt[i] = zero_monotonic_usec() - t0;
        }
        for (int i = 0; i < cb->runs; i++) {
                if (interrupted)
                        return bench_fail(b, -EINTR, "interrupted by signal %d", (int) interrupted);
                snprintf(name, sizeof(name), "b%d", i);
                t0 = zero_monotonic_usec();
                if ((r = create(b, name, cb->ops[2 * i], &t_post[i])) < 0)
                        return r;
                t_create[i] = zero_monotonic_usec() - t0;
                if ((r = instance_id(b, name, id)) < 0 || (r = worker_call(cb, W_RUN, i, &t_crun[i])) < 0 ||
                    (r = worker_call(cb, W_CREATE_START, i, &t_cs[i])) < 0)
                        return r;
                t0 = zero_monotonic_usec();
                if ((r = destroy(b, name, cb->ops[2 * i + 1], &t_del[i])) < 0)
                        return r;
                t_delete[i] = zero_monotonic_usec() - t0;
                if ((r = worker_call(cb, W_KILL, i, NULL)) < 0)
                        return r;
        }

        printf("\n%d runs, ms:                           median      p99      min      max\n", cb->runs);
        double create_ms = bench_stats("API create+start", t_create, n) / 1000;
        (void) bench_stats("  of which POST until its 202", t_post, n);
        double crun_ms = bench_stats("crun run --detach (same bundle)", t_crun, n) / 1000;
        (void) bench_stats("crun create + crun start (same)", t_cs, n);
        double delete_ms = bench_stats("API forced stop+delete", t_delete, n) / 1000;
        (void) bench_stats("  of which DELETE until its 202", t_del, n);
        (void) bench_stats("API GET /v1/node round trip", t_rtt, n);
        printf("\nzerod's steps, from its debug log:\n");
        bench_step_stats(b, cb->ops, 2 * n);
        printf("\nAPI create+start / crun run, medians: %.2fx   target <= 1.5x: %s\n", create_ms / crun_ms,
               verdict(create_ms <= 1.5 * crun_ms));
        printf("forced stop+delete, median: %.2f ms       target <= 50 ms: %s\n", delete_ms, verdict(delete_ms <= 50));
        return 0;
}

static int cmp_long(const void *x, const void *y) {
        long a = *(const long *) x, c = *(const long *) y;
        return a < c ? -1 : a > c;
}

/* zerod's memory with many containers running, and that of their shims. */
static int density(struct ctr_bench *cb) {
        struct bench *b = &cb->b;
        size_t n = 0, i, m = (size_t) cb->density;
        _cleanup_free_ long *rss = calloc(2 * m, sizeof(long));
        long busy, *anon = rss + m;
        json_auto_t *list = NULL;
        json_t *inst;
        char name[16];
        uint64_t t0 = zero_monotonic_usec();
        int r;

        if (!rss)
                return bench_fail(b, -ENOMEM, "out of memory");
        print_rss("\nzerod, idle after the runs:", b->zerod_pid);
        for (int k = 0; k < cb->density; k++) {
                snprintf(name, sizeof(name), "r%d", k);
                if (interrupted)
                        return bench_fail(b, -EINTR, "interrupted by signal %d", (int) interrupted);
                if ((r = create(b, name, NULL, NULL)) < 0)
                        return r;
        }
        printf("%d containers created one after the other in %.2f s\n", cb->density,
               (double) (zero_monotonic_usec() - t0) / 1e6);
        busy = bench_proc_status_kib(b->zerod_pid, "VmRSS");
        print_rss("zerod, with them running:", b->zerod_pid);
        if ((r = bench_api(b, "GET", "/v1/instances", NULL, 200, &list)) < 0)
                return r;
        json_array_foreach(json_object_get(list, "instances"), i, inst) {
                const char *id = json_string_value(json_object_get(inst, "id"));
                _cleanup_free_ char *path = zero_strdup_printf("%s/instances/%s/shim.pid", b->run_dir, strempty(id));
                _cleanup_free_ char *text = NULL;
                int64_t pid;

                if (!path || zero_read_file(path, 64, &text, NULL) < 0 || n == m)
                        continue;
                text[strcspn(text, "\n")] = '\0';
                if (zero_parse_int64(text, 1, INT32_MAX, &pid) >= 0) {
                        rss[n] = bench_proc_status_kib((pid_t) pid, "VmRSS");
                        anon[n++] = bench_proc_status_kib((pid_t) pid, "RssAnon");
                }
        }
        if (n == 0)
                return bench_fail(b, -ENOENT, "found no shim.pid of a running instance");
        qsort(rss, n, sizeof(long), cmp_long);
        qsort(anon, n, sizeof(long), cmp_long);
        printf("zero-shim, %zu shims: VmRSS median %.2f MiB, max %.2f MiB; RssAnon median %.2f MiB\n", n,
               (double) rss[n / 2] / 1024, (double) rss[n - 1] / 1024, (double) anon[n / 2] / 1024);
        t0 = zero_monotonic_usec();
        for (int k = 0; k < cb->density; k++) {
                snprintf(name, sizeof(name), "r%d", k);
                if ((r = destroy(b, name, NULL, NULL)) < 0)
                        return r;
        }
        printf("%d containers deleted (forced) one after the other in %.2f s\n", cb->density,
               (double) (zero_monotonic_usec() - t0) / 1e6);
        print_rss("zerod, after deleting them:", b->zerod_pid);

        /* The same number again, by 8 clients at once (issue 12: >= 50 creates/s). */
        double made_s, gone_s;
        if ((r = fleet_run(b, CONCURRENT_CLIENTS, 0, (unsigned) cb->density, fleet_create, &made_s)) < 0 ||
            (r = fleet_run(b, CONCURRENT_CLIENTS, 0, (unsigned) cb->density, fleet_delete, &gone_s)) < 0)
                return r;
        printf("%d containers created by %d clients at once in %.2f s: %.1f/s     target >= 50/s: %s\n", cb->density,
               CONCURRENT_CLIENTS, made_s, cb->density / made_s, verdict(cb->density / made_s >= 50));
        printf("%d containers deleted (forced) by %d clients at once in %.2f s: %.1f/s\n", cb->density,
               CONCURRENT_CLIENTS, gone_s, cb->density / gone_s);

        printf("\nzerod VmRSS idle: %.2f MiB                 target <= 8 MiB: %s\n", (double) cb->idle_kib / 1024,
               verdict(cb->idle_kib >= 0 && cb->idle_kib <= 8 * 1024));
        printf("zerod VmRSS with %d instances: %.2f MiB     target <= 16 MiB with 100: %s\n", cb->density,
               (double) busy / 1024, verdict(busy >= 0 && busy <= 16 * 1024));
        printf("zero-shim VmRSS, largest of %zu: %.2f MiB     target <= 1 MiB: %s\n", n, (double) rss[n - 1] / 1024,
               verdict(rss[n - 1] >= 0 && rss[n - 1] <= 1024));
        return 0;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                {"zerod", required_argument, NULL, 'z'},      {"shim", required_argument, NULL, 's'},
                {"plugin-dir", required_argument, NULL, 'p'}, {"source-dir", required_argument, NULL, 'S'},
                {"crun", required_argument, NULL, 'c'},       {"density", required_argument, NULL, 'd'},
                {"help", no_argument, NULL, 'h'},             {},
        };
        struct ctr_bench cb = {
                .b = {.zerod = ZERO_ZEROD, .shim = ZERO_SHIM, .plugin_dir = ZERO_PLUGIN_DIR,
                      .source_dir = ZERO_SOURCE_DIR, .crun = "crun"},
                .runs = RUNS_DEFAULT, .density = DENSITY_DEFAULT, .to_worker = -EBADF, .from_worker = -EBADF,
        };
        struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
        _cleanup_free_ char *ver = NULL, *tail = NULL;
        int64_t v;
        int r, c;

        for (int o; (o = getopt_long(argc, argv, "n:h", options, NULL)) >= 0;)
                switch (o) {
                case 'n':
                case 'd':
                        if (zero_parse_int64(optarg, o == 'n' ? RUNS_MIN : 1, 10000, &v) < 0) {
                                fprintf(stderr, "bench_container_start: %s: expected %d..10000\n", optarg,
                                        o == 'n' ? RUNS_MIN : 1);
                                return 2;
                        }
                        *(o == 'n' ? &cb.runs : &cb.density) = (int) v;
                        break;
                case 'z': cb.b.zerod = optarg; break;
                case 's': cb.b.shim = optarg; break;
                case 'p': cb.b.plugin_dir = optarg; break;
                case 'S': cb.b.source_dir = optarg; break;
                case 'c': cb.b.crun = optarg; break;
                case 'h':
                        printf("Usage: bench_container_start [-n RUNS (>= %d, default %d)] [--density N (default %d)]\n"
                               "         [--zerod PATH] [--shim PATH] [--plugin-dir DIR] [--source-dir DIR] [--crun PATH]\n"
                               "Container create+start and forced delete through zerod's API against `crun run` of the\n"
                               "same bundle, and the memory of zerod and zero-shim. See docs/benchmarks.md.\n",
                               RUNS_MIN, RUNS_DEFAULT, DENSITY_DEFAULT);
                        return 0;
                default:
                        return 2;
                }
        if (optind < argc || geteuid() != 0) {
                fprintf(stderr, "bench_container_start: %s\n",
                        optind < argc ? "unexpected argument" : "run it as root");
                return 2;
        }
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
        setvbuf(stdout, NULL, _IOLBF, 0);
        curl_global_init(CURL_GLOBAL_DEFAULT);

        cb.ops = calloc(2 * (size_t) cb.runs, sizeof(*cb.ops));
        r = cb.ops ? setup(&cb) : bench_fail(&cb.b, -ENOMEM, "out of memory");
        if (r >= 0) {
                (void) zero_run_wait((char *const[]){(char *) cb.b.crun, "--version", NULL}, &ver);
                if (ver)
                        ver[strcspn(ver, "\n")] = '\0';
                printf("bench_container_start: %d runs; %s; zerod %s (--log-level debug); temp dir %s\n\n", cb.runs,
                       strempty(ver), cb.b.zerod, cb.b.tmp);
                r = measure(&cb);
        }
        if (r >= 0)
                r = density(&cb);
        if (r < 0) {
                fprintf(stderr, "bench_container_start: error: %s\n",
                        cb.b.err.message[0] ? cb.b.err.message : strerror(-r));
                if (cb.b.log && zero_run_wait((char *const[]){"tail", "-n", "20", cb.b.log, NULL}, &tail) == 0)
                        fprintf(stderr, "--- last lines of zerod's log\n%s", tail);
                free(tail);
                tail = NULL;
                /* the temp dir goes with the cleanup below */
                if (cb.crun_log && zero_run_wait((char *const[]){"tail", "-n", "20", cb.crun_log, NULL}, &tail) == 0)
                        fprintf(stderr, "--- last lines of crun's log\n%s", tail);
        }
        worker_stop(&cb);
        c = bench_cleanup(&cb.b, (const char *const[]){cb.crun_root, NULL});
        curl_global_cleanup();
        safe_close(cb.to_worker);
        safe_close(cb.from_worker);
        free(cb.crun_root);
        free(cb.bundle);
        free(cb.crun_log);
        free(cb.ops);
        return r < 0 || c < 0 ? 1 : 0;
}
