/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_idle: what an idle zerod costs the node (issue 12; blueprint: VmRSS <= 8 MiB idle and
 * <= 16 MiB with 100 instances, zero wakeups while idle).
 *
 *   1. zerod started (image imported), then left alone for 2 s (its trim runs once the loop is
 *      idle, at most once a second, trim.h): VmRSS, RssAnon, RssFile and Pss of zerod and of its sync child
 *      (durable.h), each against the target; then again after a few reads (the pages the API's
 *      code maps back).
 *   2. Nothing asked of it for -s seconds (60): how often zerod and its child were scheduled
 *      (/proc/PID/task/T/schedstat, timeslices), and which of their timerfds are armed at the
 *      end. Target: 0 and none. The card's qemu-storage-daemon is printed beside it (not zerod's).
 *   3. -N running containers (100) made by -j clients (8), then 1 and 2 again with them running:
 *      VmRSS (target <= 16 MiB), wakeups of zerod and of all their zero-shims (target 0).
 *
 * zerod in a network namespace of the benchmark's own, everything deleted at the end, also on
 * failure (fleet.h, harness.h).
 *
 *   bench_idle [-N 100] [-j 8] [-s 60] [--zerod PATH] [--shim PATH] [--plugin-dir DIR]
 *              [--source-dir DIR] [--crun PATH] [--keep-log PATH]
 */
#include <dirent.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "tests/bench/fleet.h"

#define ZEROD_CONF "[limits]\ncpu_overcommit = 1000\n"
#define TARGET_IDLE_MIB 8.0
#define TARGET_100_MIB 16.0
#define MAX_PIDS 4096

/* "Key: N kB" of a /proc file (status, smaps_rollup), in KiB; -1 if unreadable. */
static long proc_kib(pid_t pid, const char *file, const char *key) {
        char path[64], line[256];
        size_t n = strlen(key);
        long v = -1;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/%s", (int) pid, file);
        if (!(f = fopen(path, "re")))
                return -1;
        while (v < 0 && fgets(line, sizeof(line), f))
                if (strncmp(line, key, n) == 0 && line[n] == ':')
                        v = atol(line + n + 1);
        fclose(f);
        return v;
}

static void mem_print(const char *who, pid_t pid, double target_mib) {
        double rss = (double) proc_kib(pid, "status", "VmRSS") / 1024;

        printf("  %-30s VmRSS %6.2f MiB (RssAnon %5.2f, RssFile %5.2f), Pss %5.2f MiB", who, rss,
               (double) proc_kib(pid, "status", "RssAnon") / 1024, (double) proc_kib(pid, "status", "RssFile") / 1024,
               (double) proc_kib(pid, "smaps_rollup", "Pss") / 1024);
        if (target_mib > 0)
                printf("   target <= %.0f MiB: %s", target_mib, rss <= target_mib ? "met" : "MISSED");
        printf("\n");
}

/* Every process whose parent is ppid and whose comm starts with comm (ppid 0: any parent) and,
 * when dir is set, whose command line names it. */
static size_t find_pids(pid_t ppid, const char *comm, const char *dir, pid_t *ret, size_t max) {
        DIR *d = opendir("/proc");
        size_t n = 0;

        for (struct dirent *de; d && n < max && (de = readdir(d));) {
                pid_t pid = (pid_t) atoi(de->d_name), parent = 0;
                char path[64], stat[512], name[32];
                size_t len;
                FILE *f;

                snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
                if (pid <= 0 || !(f = fopen(path, "re")))
                        continue;
                len = fread(stat, 1, sizeof(stat) - 1, f);
                fclose(f);
                stat[len] = '\0';
                const char *open = strchr(stat, '('), *close = strrchr(stat, ')');
                if (!open || !close || close < open || sscanf(close + 2, "%*c %d", &parent) != 1)
                        continue;
                snprintf(name, sizeof(name), "%.*s", (int) (close - open - 1), open + 1);
                if ((ppid && parent != ppid) || strncmp(name, comm, strlen(comm)) != 0)
                        continue;
                if (!dir || bench_proc_names(pid, dir))
                        ret[n++] = pid;
        }
        if (d)
                closedir(d);
        return n;
}

/* How many times the threads of pid were scheduled in (schedstat's third field), summed. */
static unsigned long long timeslices(pid_t pid) {
        char path[64];
        unsigned long long sum = 0;
        DIR *d;

        snprintf(path, sizeof(path), "/proc/%d/task", (int) pid);
        if (!(d = opendir(path)))
                return 0;
        for (struct dirent *de; (de = readdir(d));) {
                unsigned long long run, wait, slices;
                FILE *f;

                if (de->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof(path), "/proc/%d/task/%.16s/schedstat", (int) pid, de->d_name);
                if (!(f = fopen(path, "re")))
                        continue;
                if (fscanf(f, "%llu %llu %llu", &run, &wait, &slices) == 3)
                        sum += slices;
                fclose(f);
        }
        closedir(d);
        return sum;
}

/* The timerfds of pid that are armed. */
static unsigned armed_timers(pid_t pid) {
        char path[64], target[64], line[128];
        unsigned n = 0;
        DIR *d;

        snprintf(path, sizeof(path), "/proc/%d/fd", (int) pid);
        if (!(d = opendir(path)))
                return 0;
        for (struct dirent *de; (de = readdir(d));) {
                ssize_t len;
                FILE *f;

                snprintf(path, sizeof(path), "/proc/%d/fd/%.16s", (int) pid, de->d_name);
                if ((len = readlink(path, target, sizeof(target) - 1)) < 0)
                        continue;
                target[len] = '\0';
                if (!streq(target, "anon_inode:[timerfd]"))
                        continue;
                snprintf(path, sizeof(path), "/proc/%d/fdinfo/%.16s", (int) pid, de->d_name);
                if (!(f = fopen(path, "re")))
                        continue;
                while (fgets(line, sizeof(line), f))
                        if (strncmp(line, "it_value:", 9) == 0 && !strstr(line, "(0, 0)"))
                                n++;
                fclose(f);
        }
        closedir(d);
        return n;
}

/* Nothing asked for seconds: the wakeups of zerod, its child, the shims and the card's daemon. */
static int wakeups(struct bench *b, unsigned seconds, bool with_shims) {
        static pid_t shims[MAX_PIDS];
        static unsigned long long before[MAX_PIDS];
        pid_t child = 0, qsd = 0;
        unsigned long long z0, c0, q0, z1, c1, q1, s1 = 0, s0 = 0;
        size_t n_shims = 0;

        /* Our own connection closed first: an open one is something pending (its idle timeout). */
        curl_easy_cleanup(b->curl);
        if (!(b->curl = curl_easy_init()))
                return bench_fail(b, -ENOMEM, "out of memory");
        bench_sleep_ms(1000);
        (void) find_pids(b->zerod_pid, "zerod", NULL, &child, 1);
        (void) find_pids(0, "qemu-storage-d", b->tmp, &qsd, 1);
        if (with_shims)
                n_shims = find_pids(0, "zero-shim", b->tmp, shims, MAX_PIDS);
        for (size_t i = 0; i < n_shims; i++)
                s0 += before[i] = timeslices(shims[i]);
        z0 = timeslices(b->zerod_pid), c0 = child ? timeslices(child) : 0, q0 = qsd ? timeslices(qsd) : 0;
        bench_sleep_ms((long) seconds * 1000);
        z1 = timeslices(b->zerod_pid), c1 = child ? timeslices(child) : 0, q1 = qsd ? timeslices(qsd) : 0;
        for (size_t i = 0; i < n_shims; i++)
                s1 += timeslices(shims[i]);
        printf("  wakeups over %u s with nothing asked: zerod %llu, its sync child %llu; timerfds armed: %u, %u"
               "   target 0 and none: %s\n",
               seconds, z1 - z0, c1 - c0, armed_timers(b->zerod_pid), child ? armed_timers(child) : 0,
               z1 == z0 && c1 == c0 && armed_timers(b->zerod_pid) == 0 ? "met" : "MISSED");
        if (with_shims)
                printf("  the %zu zero-shims: %llu wakeups in all   target 0: %s\n", n_shims, s1 - s0,
                       s1 == s0 ? "met" : "MISSED");
        if (qsd)
                printf("  (the card's qemu-storage-daemon, not zerod's: %llu wakeups)\n", q1 - q0);
        if (!child)
                return bench_fail(b, -ESRCH, "zerod's sync child was not found");
        return 0;
}

static int reads(struct bench *b) {
        static const char *const paths[] = {"/v1/node", "/v1/instances", "/v1/images", "/v1/volumes", "/metrics"};
        int r;

        for (size_t i = 0; i < ELEMENTSOF(paths); i++)
                if ((r = bench_api(b, "GET", paths[i], NULL, 200, NULL)) < 0)
                        return r;
        return 0;
}

static void section(struct bench *b, const char *title, double target_mib) {
        pid_t child = 0;

        (void) find_pids(b->zerod_pid, "zerod", NULL, &child, 1);
        printf("\n%s\n", title);
        mem_print("zerod", b->zerod_pid, target_mib);
        if (child)
                mem_print("zerod's sync child", child, 0);
}

int main(int argc, char *argv[]) {
        struct bench b = {.zerod = ZERO_ZEROD, .shim = ZERO_SHIM, .plugin_dir = ZERO_PLUGIN_DIR,
                          .source_dir = ZERO_SOURCE_DIR, .crun = "crun"};
        enum { OPT_ZEROD = 256, OPT_SHIM, OPT_PLUGIN_DIR, OPT_SOURCE_DIR, OPT_CRUN, OPT_KEEP_LOG };
        static const struct option longopts[] = {
                {"zerod", required_argument, NULL, OPT_ZEROD},   {"shim", required_argument, NULL, OPT_SHIM},
                {"plugin-dir", required_argument, NULL, OPT_PLUGIN_DIR},
                {"source-dir", required_argument, NULL, OPT_SOURCE_DIR},
                {"crun", required_argument, NULL, OPT_CRUN},     {"keep-log", required_argument, NULL, OPT_KEEP_LOG},
                {},
        };
        unsigned n = 100, workers = 8, seconds = 60, made = 0;
        const char *keep_log = NULL;
        _cleanup_free_ char *token = NULL;
        char title[128];
        double secs;
        int c, r = 0;

        while ((c = getopt_long(argc, argv, "N:j:s:", longopts, NULL)) >= 0)
                switch (c) {
                case 'N': n = (unsigned) atoi(optarg); break;
                case 'j': workers = (unsigned) atoi(optarg); break;
                case 's': seconds = (unsigned) atoi(optarg); break;
                case OPT_ZEROD: b.zerod = optarg; break;
                case OPT_SHIM: b.shim = optarg; break;
                case OPT_PLUGIN_DIR: b.plugin_dir = optarg; break;
                case OPT_SOURCE_DIR: b.source_dir = optarg; break;
                case OPT_CRUN: b.crun = optarg; break;
                case OPT_KEEP_LOG: keep_log = optarg; break;
                default:
                        return fprintf(stderr, "usage: %s [-N 100] [-j 8] [-s 60] [--zerod P] [--shim P] [--plugin-dir D]"
                                               " [--source-dir D] [--crun P] [--keep-log PATH]\n",
                                       argv[0]),
                               2;
                }
        if (n > 999 || workers < 1 || seconds < 1)
                return fprintf(stderr, "need -N <= 999, -j >= 1, -s >= 1\n"), 2;
        signal(SIGPIPE, SIG_IGN);
        fleet_raise_nofile();

        if ((r = bench_tmp_new(&b)) < 0)
                goto out;
        printf("bench_idle: zerod %s; then %u running busybox containers; temp dir %s\n", b.zerod, n, b.tmp);
        fleet_print_load("before");
        if ((r = fleet_start(&b, ZEROD_CONF, &token)) < 0)
                goto out;
        bench_sleep_ms(2000); /* the trim: at most one a second after operations (trim.h) */
        section(&b, "zerod idle (started, image imported, 2 s alone):", TARGET_IDLE_MIB);
        if ((r = reads(&b)) < 0)
                goto out;
        mem_print("zerod after 5 reads", b.zerod_pid, TARGET_IDLE_MIB);
        if ((r = wakeups(&b, seconds, false)) < 0)
                goto out;
        fflush(stdout);

        if (n > 0) {
                made = n;
                if ((r = fleet_run(&b, 1, 0, 1, fleet_create, &secs)) < 0 ||
                    (r = fleet_run(&b, workers, 1, n, fleet_create, &secs)) < 0 || (r = fleet_check_running(&b, n)) < 0)
                        goto out;
                bench_sleep_ms(2000);
                snprintf(title, sizeof(title), "zerod with %u running containers (made by %u clients, 2 s alone):",
                         n, workers);
                section(&b, title, TARGET_100_MIB);
                if ((r = reads(&b)) < 0)
                        goto out;
                mem_print("zerod after 5 reads", b.zerod_pid, TARGET_100_MIB);
                if ((r = wakeups(&b, seconds, true)) < 0)
                        goto out;
        }
        fleet_print_load("after");
out:
        if (keep_log && b.log)
                (void) bench_run(&b, (char *const[]){"cp", b.log, (char *) keep_log, NULL});
        return fleet_end(&b, "bench_idle", r, made, workers);
}
