/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_density: N running containers on one node (issue 12, item 4; N = 1,000 there).
 *
 *   1. zerod alone (image imported): VmRSS, RssAnon, open fds.
 *   2. N busybox containers made through the API by -j clients (8), each with a connection of its
 *      own (the first alone: the card makes the image's clone template with it); the rate.
 *   3. With them running: zerod's VmRSS and RssAnon (target VmRSS <= 24 MiB), every zero-shim's
 *      VmRSS (target <= 1 MiB each), and GET /v1/instances?limit=100 under wrk over TCP on
 *      loopback (-c 8 connections, -d seconds; target p99 <= 10 ms).
 *   4. zerod restarted (SIGTERM, as systemd does: the containers run on) and timed from its exec
 *      to its API's first answer (target <= 2 s; polled every 20 ms), then every container checked
 *      to be adopted and running.
 *   5. -C cycles (5) of -m containers (50) made and deleted again on the restarted zerod; its open
 *      fds, VmRSS and RssAnon after each: nothing may grow with the cycles (fds: equal to the
 *      first cycle's; RSS: the growth from the first cycle to the last is printed, per cycle).
 *
 * zerod runs in a network namespace of the benchmark's own with a unix socket (the benchmark's
 * calls) and plain HTTP on 127.0.0.1 (wrk, with a read-only token). Everything is deleted at the
 * end, also on failure (harness.h).
 *
 *   bench_density [-N 1000] [-j 8] [-C 5] [-m 50] [-d 10] [-c 8] [-R 1] [--zerod PATH] [--shim PATH]
 *                 [--plugin-dir DIR] [--source-dir DIR] [--crun PATH] [--wrk PATH] [--keep-log PATH]
 *                 [--no-restart]
 * -R times step 4 that many times (one after the other, the load printed after each);
 * --no-restart skips it.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "tests/bench/fleet.h"

/* max_instances above its default (1,000): the cycles come on top of N. */
#define ZEROD_CONF "[limits]\ncpu_overcommit = 1000\nmax_instances = 10000\n"
#define TARGET_PAGE_P99_MS 10.0
#define TARGET_ZEROD_RSS_MIB 24.0
#define TARGET_SHIM_RSS_MIB 1.0
#define TARGET_RESTART_S 2.0

struct opts {
        unsigned n, workers, cycles, per_cycle;
        struct wrk_opts w;
        const char *keep_log; /* where zerod's log is copied to at the end, or NULL */
        bool no_restart;
        unsigned restarts; /* -R: how many restarts are timed */
};

static unsigned count_fds(pid_t pid) {
        char path[64];
        unsigned n = 0;
        DIR *d;

        snprintf(path, sizeof(path), "/proc/%d/fd", (int) pid);
        if (!(d = opendir(path)))
                return 0;
        for (struct dirent *de; (de = readdir(d));)
                n += de->d_name[0] != '.';
        closedir(d);
        return n;
}

struct mem {
        double rss_mib, anon_mib;
        unsigned fds;
};

static struct mem zerod_mem(const struct bench *b) {
        return (struct mem){.rss_mib = (double) bench_proc_status_kib(b->zerod_pid, "VmRSS") / 1024,
                            .anon_mib = (double) bench_proc_status_kib(b->zerod_pid, "RssAnon") / 1024,
                            .fds = count_fds(b->zerod_pid)};
}

static void mem_print(const char *when, const struct mem *m) {
        printf("zerod, %-36s VmRSS %6.2f MiB, RssAnon %6.2f MiB, %u open fds\n", when, m->rss_mib, m->anon_mib, m->fds);
}

static int cmp_long(const void *x, const void *y) {
        long a = *(const long *) x, b = *(const long *) y;
        return (a > b) - (a < b);
}

/* The VmRSS (KiB) of every zero-shim whose command line names the benchmark's directory. */
static int shims_rss(const struct bench *b, long **ret, size_t *ret_n) {
        long *v = NULL;
        size_t n = 0, cap = 0;
        DIR *d = opendir("/proc");

        if (!d)
                return -errno;
        for (struct dirent *de; (de = readdir(d));) {
                char path[64], comm[32] = "";
                pid_t pid = (pid_t) atoi(de->d_name);
                FILE *f;

                if (pid <= 0)
                        continue;
                snprintf(path, sizeof(path), "/proc/%d/comm", (int) pid);
                if (!(f = fopen(path, "re")))
                        continue;
                if (!fgets(comm, sizeof(comm), f))
                        comm[0] = '\0';
                fclose(f);
                if (strncmp(comm, "zero-shim", 9) != 0)
                        continue;
                if (!bench_proc_names(pid, b->tmp))
                        continue;
                if (n == cap) {
                        long *nv = realloc(v, (cap = cap ? 2 * cap : 256) * sizeof(*v));
                        if (!nv) {
                                closedir(d);
                                free(v);
                                return -ENOMEM;
                        }
                        v = nv;
                }
                v[n] = bench_proc_status_kib(pid, "VmRSS");
                n += v[n] > 0;
        }
        closedir(d);
        qsort(v, n, sizeof(*v), cmp_long);
        *ret = v;
        *ret_n = n;
        return 0;
}

/* SIGTERM, then zerod started again on the same state; the seconds from its exec to its API. */
static int restart(struct bench *b, double *ret_s) {
        uint64_t t0;
        int r;

        if ((r = fleet_zerod_stop(b)) < 0)
                return r;
        t0 = zero_monotonic_usec();
        if ((r = bench_zerod_start(b, ZEROD_CONF)) < 0)
                return r;
        *ret_s = (double) (zero_monotonic_usec() - t0) / 1e6;
        return 0;
}

/* wrk on a page of the list, and how long zerod waited for a CPU meanwhile (others' load). */
static int page_figure(struct bench *b, const struct opts *o, const char *token, const char *path) {
        uint64_t run0 = 0, wait0 = 0, run1 = 0, wait1 = 0;
        struct figure f;
        int r;

        (void) fleet_schedstat(b->zerod_pid, &run0, &wait0);
        if ((r = wrk_run(b, &o->w, token, path, NULL, &f)) < 0)
                return r;
        (void) fleet_schedstat(b->zerod_pid, &run1, &wait1);
        figure_print(path, &f, 0, TARGET_PAGE_P99_MS);
        printf("    zerod meanwhile: %.2f s on a CPU, %.2f s runnable but waiting for one\n", (double) (run1 - run0) / 1e9,
               (double) (wait1 - wait0) / 1e9);
        return 0;
}

static int cycles(struct bench *b, const struct opts *o) {
        struct mem first = {}, m = {};
        double secs;
        int r;

        printf("\n%u cycles of %u containers made and deleted (forced) by %u clients:\n", o->cycles, o->per_cycle,
               o->workers);
        for (unsigned k = 0; k < o->cycles; k++) {
                unsigned from = o->n + k * o->per_cycle, to = from + o->per_cycle;
                double made_s;

                if ((r = fleet_run(b, o->workers, from, to, fleet_create, &made_s)) < 0 ||
                    (r = fleet_run(b, o->workers, from, to, fleet_delete, &secs)) < 0)
                        return r;
                m = zerod_mem(b);
                if (k == 0)
                        first = m;
                printf("  cycle %u: made in %.1f s, deleted in %.1f s; zerod VmRSS %6.2f MiB, RssAnon %6.2f MiB, %u fds\n",
                       k + 1, made_s, secs, m.rss_mib, m.anon_mib, m.fds);
                fflush(stdout);
        }
        if (o->cycles > 1) {
                double per = (m.anon_mib - first.anon_mib) / (o->cycles - 1);
                printf("\nfds after the last cycle %u, after the first %u        target: no more: %s\n", m.fds,
                       first.fds, m.fds <= first.fds ? "met" : "MISSED");
                printf("RssAnon from the first cycle to the last: %+.2f MiB (%+.3f MiB a cycle of %u)\n",
                       m.anon_mib - first.anon_mib, per, o->per_cycle);
        }
        return 0;
}

int main(int argc, char *argv[]) {
        struct bench b = {.zerod = ZERO_ZEROD, .shim = ZERO_SHIM, .plugin_dir = ZERO_PLUGIN_DIR,
                          .source_dir = ZERO_SOURCE_DIR, .crun = "crun"};
        struct opts o = {.n = 1000, .workers = 8, .cycles = 5, .per_cycle = 50, .restarts = 1,
                         .w = {.wrk = "wrk", .threads = 2, .conns = 8, .seconds = 10}};
        enum { OPT_ZEROD = 256, OPT_SHIM, OPT_PLUGIN_DIR, OPT_SOURCE_DIR, OPT_CRUN, OPT_WRK, OPT_KEEP_LOG, OPT_NO_RESTART };
        static const struct option longopts[] = {
                {"zerod", required_argument, NULL, OPT_ZEROD},
                {"shim", required_argument, NULL, OPT_SHIM},
                {"plugin-dir", required_argument, NULL, OPT_PLUGIN_DIR},
                {"source-dir", required_argument, NULL, OPT_SOURCE_DIR},
                {"crun", required_argument, NULL, OPT_CRUN},
                {"wrk", required_argument, NULL, OPT_WRK},
                {"keep-log", required_argument, NULL, OPT_KEEP_LOG},
                {"no-restart", no_argument, NULL, OPT_NO_RESTART},
                {},
        };
        char *const extra[] = {"--listen", "tcp:127.0.0.1:" FLEET_PORT, "--insecure-tcp", NULL};
        _cleanup_free_ char *token = NULL;
        _cleanup_free_ long *shims = NULL;
        struct mem m;
        size_t n_shims = 0;
        unsigned made = 0;
        double secs;
        int c, r = 0;

        while ((c = getopt_long(argc, argv, "N:j:C:m:d:c:R:", longopts, NULL)) >= 0)
                switch (c) {
                case 'N': o.n = (unsigned) atoi(optarg); break;
                case 'j': o.workers = (unsigned) atoi(optarg); break;
                case 'C': o.cycles = (unsigned) atoi(optarg); break;
                case 'm': o.per_cycle = (unsigned) atoi(optarg); break;
                case 'd': o.w.seconds = (unsigned) atoi(optarg); break;
                case 'c': o.w.conns = (unsigned) atoi(optarg); break;
                case 'R': o.restarts = (unsigned) atoi(optarg); break;
                case OPT_ZEROD: b.zerod = optarg; break;
                case OPT_SHIM: b.shim = optarg; break;
                case OPT_PLUGIN_DIR: b.plugin_dir = optarg; break;
                case OPT_SOURCE_DIR: b.source_dir = optarg; break;
                case OPT_CRUN: b.crun = optarg; break;
                case OPT_WRK: o.w.wrk = optarg; break;
                case OPT_KEEP_LOG: o.keep_log = optarg; break;
                case OPT_NO_RESTART: o.no_restart = true; break;
                default:
                        return fprintf(stderr, "usage: %s [-N 1000] [-j 8] [-C 5] [-m 50] [-d 10] [-c 8] [-R 1] [--zerod P] [--shim P]"
                                               " [--plugin-dir D] [--source-dir D] [--crun P] [--wrk P] [--keep-log PATH] [--no-restart]\n",
                                       argv[0]),
                               2;
                }
        if (o.n < 2 || o.workers < 1 || o.restarts < 1 || o.w.seconds < 1 || o.w.conns < o.w.threads || o.n + o.cycles * o.per_cycle > 9999)
                return fprintf(stderr, "need -N >= 2, -j, -R >= 1, -d >= 1, -c >= 2 and N + C * m <= 9999\n"), 2;
        signal(SIGPIPE, SIG_IGN);
        b.zerod_args = extra;
        fleet_raise_nofile();

        if ((r = bench_tmp_new(&b)) < 0)
                goto out;
        printf("bench_density: zerod %s; %u running busybox containers; temp dir %s\n", b.zerod, o.n, b.tmp);
        fleet_print_load("before");
        if ((r = fleet_start(&b, ZEROD_CONF, &token)) < 0)
                goto out;
        printf("\n");
        m = zerod_mem(&b);
        mem_print("idle (image imported):", &m);

        made = o.n; /* what the cleanup deletes, whether or not it all came up */
        if ((r = fleet_run(&b, 1, 0, 1, fleet_create, &secs)) < 0 ||
            (r = fleet_run(&b, o.workers, 1, o.n, fleet_create, &secs)) < 0 || (r = fleet_check_running(&b, o.n)) < 0)
                goto out;
        printf("%u containers created (after the first) by %u clients in %.1f s (%.1f/s)\n", o.n - 1, o.workers, secs,
               (o.n - 1) / secs);
        m = zerod_mem(&b);
        mem_print("with them running:", &m);
        printf("zerod VmRSS with %u instances: %.2f MiB       target <= %.0f MiB (at 1,000): %s\n", o.n, m.rss_mib,
               TARGET_ZEROD_RSS_MIB, m.rss_mib <= TARGET_ZEROD_RSS_MIB ? "met" : "MISSED");
        if ((r = shims_rss(&b, &shims, &n_shims)) < 0) {
                r = bench_fail(&b, r, "cannot read the shims' memory: %s", strerror(-r));
                goto out;
        }
        if (n_shims == 0) {
                r = bench_fail(&b, -ESRCH, "no zero-shim found under %s", b.tmp);
                goto out;
        }
        printf("zero-shim, %zu shims: VmRSS median %.2f MiB, max %.2f MiB     target <= %.0f MiB each: %s\n", n_shims,
               (double) shims[n_shims / 2] / 1024, (double) shims[n_shims - 1] / 1024, TARGET_SHIM_RSS_MIB,
               (double) shims[n_shims - 1] / 1024 <= TARGET_SHIM_RSS_MIB ? "met" : "MISSED");

        printf("\nwrk -t%u -c%u -d%us over TCP on loopback, %u running:\n", o.w.threads, o.w.conns, o.w.seconds, o.n);
        printf("  %-44s %9s %8s %8s %9s\n", "", "req/s", "p50 ms", "p99 ms", "bytes");
        char mid[64];
        snprintf(mid, sizeof(mid), "/v1/instances?limit=100&after=c%04u", o.n / 2); /* a page in the middle */
        if ((r = page_figure(&b, &o, token, "/v1/instances?limit=100")) < 0 || (r = page_figure(&b, &o, token, mid)) < 0)
                goto out;
        m = zerod_mem(&b);
        mem_print("after the reads:", &m);
        fflush(stdout);

        if (o.no_restart)
                goto cycles;
        for (unsigned k = 0; k < o.restarts; k++) {
                if ((r = restart(&b, &secs)) < 0)
                        goto out;
                printf("\nzerod restarted with %u live instances: its API answered %.2f s after its exec   target <= %.0f s: %s\n",
                       o.n, secs, TARGET_RESTART_S, secs <= TARGET_RESTART_S ? "met" : "MISSED");
                fleet_print_load("after the restart");
                fflush(stdout);
        }
        if ((r = fleet_check_running(&b, o.n)) < 0)
                goto out;
        printf("all %u adopted and running\n", o.n);
        m = zerod_mem(&b);
        mem_print("after the restart:", &m);
        fflush(stdout);

cycles:
        if (o.cycles > 0 && (r = cycles(&b, &o)) < 0)
                goto out;
        fleet_print_load("after");
out:
        if (o.keep_log && b.log)
                (void) bench_run(&b, (char *const[]){"cp", b.log, (char *) o.keep_log, NULL});
        return fleet_end(&b, "bench_density", r, made, o.workers);
}
