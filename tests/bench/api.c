/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_api: the API's reads under load (issue 12): GET /v1/node, GET /v1/instances and
 * GET /v1/instances/NAME, with -n (100) and then -N (1,000) running busybox containers.
 *
 * zerod runs in a network namespace of the benchmark's own (unshare after the rootfs is made),
 * listening on a unix socket (the benchmark's own calls) and on TCP 127.0.0.1 as plain HTTP
 * (--insecure-tcp, loopback only), where a read-only bearer token is required like on any TCP
 * listener. The load comes from wrk (Debian's, 4.1): -t threads, -c connections, -d seconds per
 * figure, HTTP/1.1 keep-alive, each connection sending its next request when the answer came
 * (closed loop). Its Lua done() hook prints the exact latency percentiles (µs) of every request
 * and the status errors: a run with any answer other than 200 (or 304 for the ETag figure) is a
 * failure, not a figure.
 *
 * The containers are made through the API by -j worker processes (8), each with its own
 * connection, creating one after the other; the time it took is printed. zerod's [limits]
 * max_instances is 1,000 by default. The open-file limit is raised to its hard limit before zerod
 * starts (a container holds a shim connection in zerod, and its export in the card's daemon).
 *
 *   bench_api [-n 100] [-N 1000] [-d 10] [-c 8] [-t 2] [-j 8] [--zerod PATH] [--zerod-before PATH]
 *             [--shim PATH] [--plugin-dir DIR] [--source-dir DIR] [--crun PATH] [--wrk PATH]
 * -N 0 skips the 1,000-instance part. --zerod-before: a second zerod (an older build) measured on
 * the same containers, side by side: zerod is stopped and the other started on the same state
 * between the two (the instances and the card's daemon run on; the next zerod adopts them). Only
 * zerod changes: the shim and the plugins are --shim's and --plugin-dir's for both.
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "tests/bench/fleet.h"

/* Admission never limits the containers (1,000 of 1 cpu on 2 cores). */
#define ZEROD_CONF "[limits]\ncpu_overcommit = 1000\n"
/* Targets of issue 12 (and the blueprint's density row). */
#define TARGET_LIST_RPS 10000.0
#define TARGET_LIST_P99_MS 5.0
#define TARGET_NODE_RPS 20000.0
#define TARGET_ONE_RPS 20000.0
#define TARGET_PAGE_P99_MS 10.0

struct opts {
        unsigned small, big, workers;
        struct wrk_opts w;
};









/* The ETag of path (for the If-None-Match figure), "" when the answer has none. */
static int etag_of(struct bench *b, const char *path, char *ret, size_t size) {
        struct curl_header *h = NULL;
        int r = bench_api(b, "GET", path, NULL, 200, NULL);

        ret[0] = '\0';
        if (r < 0)
                return r;
        if (curl_easy_header(b->curl, "ETag", 0, CURLH_HEADER, -1, &h) == CURLHE_OK && h)
                snprintf(ret, size, "%s", h->value);
        return 0;
}

/* The figures at n instances. */
static int measure(struct bench *b, const struct opts *o, const char *token, unsigned n, const char *label) {
        char one[64], etag[128], hdr[160];
        struct figure f;
        bool big = n > o->small;
        int r;

        snprintf(one, sizeof(one), "/v1/instances/c%04u", n / 2);
        printf("\n%u running containers, zerod %s%s; wrk -t%u -c%u -d%us over TCP on loopback:\n", n, label,
               label[0] ? "" : "under test", o->w.threads, o->w.conns, o->w.seconds);
        printf("  %-44s %9s %8s %8s %9s\n", "", "req/s", "p50 ms", "p99 ms", "bytes");
        fflush(stdout);
        if ((r = wrk_run(b, &o->w, token, "/v1/node", NULL, &f)) < 0)
                return r;
        figure_print("GET /v1/node", &f, TARGET_NODE_RPS, 0);
        fflush(stdout);
        if (!big) {
                if ((r = wrk_run(b, &o->w, token, "/v1/instances", NULL, &f)) < 0)
                        return r;
                figure_print("GET /v1/instances (full list)", &f, TARGET_LIST_RPS, TARGET_LIST_P99_MS);
        } else {
                if ((r = wrk_run(b, &o->w, token, "/v1/instances?limit=100", NULL, &f)) < 0)
                        return r;
                figure_print("GET /v1/instances?limit=100", &f, 0, TARGET_PAGE_P99_MS);
        }
        fflush(stdout);
        if ((r = wrk_run(b, &o->w, token, one, NULL, &f)) < 0)
                return r;
        figure_print("GET /v1/instances/NAME", &f, TARGET_ONE_RPS, 0);
        fflush(stdout);
        /* An orchestrator's poll: the same list again with the ETag it had (304 when nothing
         * changed). Only when zerod gives ETags. */
        const char *poll = big ? "/v1/instances?limit=100" : "/v1/instances";
        if ((r = etag_of(b, poll, etag, sizeof(etag))) < 0)
                return r;
        if (etag[0]) {
                char what[64];
                snprintf(hdr, sizeof(hdr), "If-None-Match: %s", etag);
                if ((r = wrk_run(b, &o->w, token, poll, hdr, &f)) < 0)
                        return r;
                snprintf(what, sizeof(what), "%s, If-None-Match (304)", big ? "?limit=100" : "GET /v1/instances");
                figure_print(what, &f, 0, 0);
        } else
                printf("  (no ETag on %s: no If-None-Match figure)\n", poll);
        if (big) { /* for reference: the whole list of n */
                if ((r = wrk_run(b, &o->w, token, "/v1/instances", NULL, &f)) < 0)
                        return r;
                figure_print("GET /v1/instances (full list, reference)", &f, 0, 0);
        }
        fflush(stdout);
        return 0;
}

/* Stops the zerod that runs (SIGTERM, as systemd would: its instances and the card's daemon run
 * on) and starts zerod `next` on the same state, which adopts them; the time to its API is printed
 * (with n instances, what a restart costs). */
static int switch_zerod(struct bench *b, const char *next, int *current, const char *const *zerods) {
        uint64_t t0;
        int r;

        if ((r = fleet_zerod_stop(b)) < 0)
                return r;
        t0 = zero_monotonic_usec();
        b->zerod = next;
        *current = zerods[1] == next;
        if ((r = bench_zerod_start(b, ZEROD_CONF)) < 0)
                return r;
        printf("\nzerod restarted as %s: its API answered %.2f s after the start\n", next,
               (double) (zero_monotonic_usec() - t0) / 1e6);
        return 0;
}


int main(int argc, char *argv[]) {
        struct bench b = {.zerod = ZERO_ZEROD, .shim = ZERO_SHIM, .plugin_dir = ZERO_PLUGIN_DIR,
                          .source_dir = ZERO_SOURCE_DIR, .crun = "crun"};
        struct opts o = {.small = 100, .big = 1000, .workers = 8, .w = {.wrk = "wrk", .threads = 2, .conns = 8, .seconds = 10}};
        enum { OPT_ZEROD = 256, OPT_SHIM, OPT_PLUGIN_DIR, OPT_SOURCE_DIR, OPT_CRUN, OPT_WRK, OPT_BEFORE };
        static const struct option longopts[] = {
                {"zerod", required_argument, NULL, OPT_ZEROD},       {"shim", required_argument, NULL, OPT_SHIM},
                {"plugin-dir", required_argument, NULL, OPT_PLUGIN_DIR}, {"source-dir", required_argument, NULL, OPT_SOURCE_DIR},
                {"crun", required_argument, NULL, OPT_CRUN},         {"wrk", required_argument, NULL, OPT_WRK},
                {"zerod-before", required_argument, NULL, OPT_BEFORE},
                {},
        };
        char *const extra[] = {"--listen", "tcp:127.0.0.1:" FLEET_PORT, "--insecure-tcp", NULL};
        const char *zerods[2] = {NULL, NULL}, *labels[2] = {"before", "after"};
        int n_zerods = 1, current = 0;
        unsigned made = 0;
        int c, r = 0;

        while ((c = getopt_long(argc, argv, "n:N:d:c:t:j:", longopts, NULL)) >= 0)
                switch (c) {
                case 'n': o.small = (unsigned) atoi(optarg); break;
                case 'N': o.big = (unsigned) atoi(optarg); break;
                case 'd': o.w.seconds = (unsigned) atoi(optarg); break;
                case 'c': o.w.conns = (unsigned) atoi(optarg); break;
                case 't': o.w.threads = (unsigned) atoi(optarg); break;
                case 'j': o.workers = (unsigned) atoi(optarg); break;
                case OPT_ZEROD: b.zerod = optarg; break;
                case OPT_SHIM: b.shim = optarg; break;
                case OPT_PLUGIN_DIR: b.plugin_dir = optarg; break;
                case OPT_SOURCE_DIR: b.source_dir = optarg; break;
                case OPT_CRUN: b.crun = optarg; break;
                case OPT_WRK: o.w.wrk = optarg; break;
                case OPT_BEFORE: zerods[0] = optarg; break;
                default:
                        return fprintf(stderr, "usage: %s [-n 100] [-N 1000] [-d SECONDS] [-c CONNS] [-t THREADS] [-j WORKERS]"
                                               " [--zerod P] [--zerod-before P] [--shim P] [--plugin-dir D] [--source-dir D] [--crun P] [--wrk P]\n",
                                       argv[0]),
                               2;
                }
        if (o.small < 2 || (o.big && o.big <= o.small) || o.w.seconds < 1 || o.w.conns < 1 || o.w.threads < 1 || o.workers < 1 ||
            o.w.conns < o.w.threads)
                return fprintf(stderr, "need -n >= 2, -N 0 or > -n, -d, -c, -t, -j >= 1 and -c >= -t\n"), 2;
        signal(SIGPIPE, SIG_IGN);
        b.zerod_args = extra;
        zerods[1] = b.zerod;
        if (zerods[0]) { /* side by side: before first */
                n_zerods = 2;
                b.zerod = zerods[0];
        } else {
                zerods[0] = b.zerod;
                labels[0] = "";
        }

        fleet_raise_nofile();

        _cleanup_free_ char *token = NULL;
        double secs;
        if ((r = bench_tmp_new(&b)) < 0)
                goto out;
        printf("bench_api: zerod %s; wrk %s -t%u -c%u -d%us; %u then %u running busybox containers; temp dir %s\n", b.zerod,
               o.w.wrk, o.w.threads, o.w.conns, o.w.seconds, o.small, o.big, b.tmp);
        fleet_print_load("before");
        if ((r = fleet_start(&b, ZEROD_CONF, &token)) < 0)
                goto out;

        /* The first one alone: the card makes the image's clone template with the first clone,
         * and concurrent first clones race for it (the softcard's, found by this benchmark: "Failed
         * to copy the clone template", "Image is not in qcow2 format"). */
        made = o.small; /* what the cleanup deletes, whether or not it all came up */
        if ((r = fleet_run(&b, 1, 0, 1, fleet_create, &secs)) < 0 ||
            (r = fleet_run(&b, o.workers, 1, o.small, fleet_create, &secs)) < 0)
                goto out;
        printf("\n%u containers created (after the first) by %u clients in %.1f s (%.1f/s)\n", o.small - 1, o.workers, secs,
               (o.small - 1) / secs);
        /* With --zerod-before: each figure from both zerods on the same containers, the one
         * running now first, then the other (stopped and started on the same state: the
         * containers and the card's daemon run on, and the next adopts them). */
        for (int k = 0; k < n_zerods; k++)
                if ((k > 0 && (r = switch_zerod(&b, zerods[!current], &current, zerods)) < 0) ||
                    (r = fleet_check_running(&b, o.small)) < 0 || (r = measure(&b, &o, token, o.small, labels[current])) < 0)
                        goto out;
        if (o.big) {
                r = fleet_run(&b, o.workers, o.small, o.big, fleet_create, &secs);
                made = o.big;
                if (r < 0)
                        goto out;
                printf("\n%u more containers created by %u clients in %.1f s (%.1f/s), zerod %s\n", o.big - o.small, o.workers,
                       secs, (o.big - o.small) / secs, labels[current]);
                for (int k = 0; k < n_zerods; k++)
                        if ((k > 0 && (r = switch_zerod(&b, zerods[!current], &current, zerods)) < 0) ||
                            (r = fleet_check_running(&b, o.big)) < 0 || (r = measure(&b, &o, token, o.big, labels[current])) < 0)
                                goto out;
        }
        fleet_print_load("after");
out:
        return fleet_end(&b, "bench_api", r, made, o.workers);
}
