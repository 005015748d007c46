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
#include "tests/bench/harness.h"

#define PORT "18712"
/* Admission never limits the containers (1,000 of 1 cpu on 2 cores). */
#define ZEROD_CONF "[limits]\ncpu_overcommit = 1000\n"
/* Targets of issue 12 (and the blueprint's density row). */
#define TARGET_LIST_RPS 10000.0
#define TARGET_LIST_P99_MS 5.0
#define TARGET_NODE_RPS 20000.0
#define TARGET_ONE_RPS 20000.0
#define TARGET_PAGE_P99_MS 10.0

struct opts {
        unsigned small, big, seconds, conns, threads, workers;
        const char *wrk;
};

/* wrk's report, from the Lua done() hook below. */
struct figure {
        double rps, p50_ms, p99_ms, bytes_per_req;
        long requests, errors;
};

static const char wrk_script[] =
        "local hdr = os.getenv('BENCH_HEADERS') or ''\n"
        "for h in string.gmatch(hdr, '[^\\n]+') do\n"
        "  local k, v = string.match(h, '^([^:]+):%s*(.*)$')\n"
        "  wrk.headers[k] = v\n"
        "end\n"
        "function done(summary, latency, requests)\n"
        "  local e = summary.errors\n"
        "  io.write(string.format('BENCH %d %d %d %d %d %d\\n', summary.requests, summary.duration, summary.bytes,\n"
        "    latency:percentile(50), latency:percentile(99),\n"
        "    e.connect + e.read + e.write + e.status + e.timeout))\n"
        "end\n";

/* One wrk run against path with the extra headers (one "Name: value" a line). */
static int wrk_run(struct bench *b, const struct opts *o, const char *token, const char *path, const char *headers,
                   struct figure *ret) {
        _cleanup_free_ char *script = bench_path(b, "wrk.lua"), *out = NULL;
        _cleanup_free_ char *url = zero_strdup_printf("http://127.0.0.1:" PORT "%s", path);
        _cleanup_free_ char *hdrs = zero_strdup_printf("Authorization: Bearer %s\n%s", token, strempty(headers));
        char t[16], c[16], d[16];
        long long n, dur_us, bytes, p50, p99, errors;
        const char *line;
        int r;

        if (!script || !url || !hdrs)
                return bench_fail(b, -ENOMEM, "out of memory");
        if ((r = zero_write_file_atomic(script, wrk_script, strlen(wrk_script), 0600)) < 0)
                return bench_fail(b, r, "cannot write %s", script);
        snprintf(t, sizeof(t), "-t%u", o->threads);
        snprintf(c, sizeof(c), "-c%u", o->conns);
        snprintf(d, sizeof(d), "-d%us", o->seconds);
        setenv("BENCH_HEADERS", hdrs, 1);
        r = zero_run_wait((char *const[]){(char *) o->wrk, t, c, d, "--timeout", "5s", "-s", script, url, NULL}, &out);
        unsetenv("BENCH_HEADERS");
        if (r != 0)
                return bench_fail(b, -EIO, "wrk %s exited with %d: %.300s", path, r, strempty(out));
        line = out ? strstr(out, "BENCH ") : NULL;
        if (!line || sscanf(line, "BENCH %lld %lld %lld %lld %lld %lld", &n, &dur_us, &bytes, &p50, &p99, &errors) != 6 ||
            n <= 0 || dur_us <= 0)
                return bench_fail(b, -EBADMSG, "wrk %s: no figures in %.300s", path, strempty(out));
        if (errors > 0)
                return bench_fail(b, -EIO, "wrk %s: %lld of %lld requests failed (connect, read, status or timeout): %.300s",
                                  path, errors, n, out);
        *ret = (struct figure){.rps = (double) n * 1e6 / (double) dur_us, .p50_ms = (double) p50 / 1000,
                               .p99_ms = (double) p99 / 1000, .bytes_per_req = (double) bytes / (double) n,
                               .requests = n, .errors = errors};
        return 0;
}

static void print_figure(const char *what, const struct figure *f, double rps_target, double p99_target) {
        char tr[48] = "", tp[48] = "";

        if (rps_target > 0)
                snprintf(tr, sizeof(tr), ">= %.0f: %s", rps_target, f->rps >= rps_target ? "met" : "MISSED");
        if (p99_target > 0)
                snprintf(tp, sizeof(tp), "p99 <= %.0f ms: %s", p99_target, f->p99_ms <= p99_target ? "met" : "MISSED");
        printf("  %-44s %9.0f %8.2f %8.2f %9.0f   %s%s%s\n", what, f->rps, f->p50_ms, f->p99_ms, f->bytes_per_req, tr,
               tr[0] && tp[0] ? ", " : "", tp);
}

/* Runs item(wb, i) for i in [from, to) in o->workers processes, each with a connection of its own
 * (wb: its copy of b) and the items i = from + k, from + k + workers, ...; the seconds it took. */
static int run_workers(struct bench *b, unsigned workers, unsigned from, unsigned to, int (*item)(struct bench *wb, unsigned i),
                       double *ret_s) {
        uint64_t t0 = zero_monotonic_usec();
        pid_t pids[64];
        unsigned w, nw = workers < ELEMENTSOF(pids) ? workers : ELEMENTSOF(pids);
        int failed = 0;

        fflush(NULL);
        for (w = 0; w < nw; w++) {
                pids[w] = fork();
                if (pids[w] < 0)
                        return bench_fail(b, -errno, "fork: %m");
                if (pids[w] == 0) {
                        struct bench wb = *b;
                        wb.body = NULL;
                        wb.body_len = 0;
                        if (!(wb.curl = curl_easy_init()))
                                _exit(1);
                        for (unsigned i = from + w; i < to; i += nw)
                                if (item(&wb, i) < 0)
                                        _exit(1);
                        _exit(0);
                }
        }
        for (w = 0; w < nw; w++) {
                int st;
                while (waitpid(pids[w], &st, 0) < 0 && errno == EINTR)
                        ;
                failed += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
        }
        *ret_s = (double) (zero_monotonic_usec() - t0) / 1e6;
        return failed ? bench_fail(b, -EIO, "%d of %u workers failed", failed, nw) : 0;
}

static int create_one(struct bench *wb, unsigned i) {
        char body[256];
        int r;

        snprintf(body, sizeof(body),
                 "{\"name\":\"c%04u\",\"image\":\"busybox\",\"memory_mib\":16,\"command\":[\"/bin/sleep\",\"100000\"]}", i);
        if ((r = bench_act(wb, "POST", "/v1/instances", body, NULL, NULL)) < 0)
                fprintf(stderr, "create c%04u: %s\n", i, wb->err.message);
        return r;
}

/* Forced; one that is not there (its create failed) is no failure. */
static int delete_one(struct bench *wb, unsigned i) {
        char path[64];
        int r;

        snprintf(path, sizeof(path), "/v1/instances/c%04u?force=true", i);
        if ((r = bench_act(wb, "DELETE", path, NULL, NULL, NULL)) < 0 && strstr(wb->err.message, "HTTP 404"))
                r = 0;
        if (r < 0)
                fprintf(stderr, "delete c%04u: %s\n", i, wb->err.message);
        return r;
}

/* Every one of the n containers is running, in the full list. */
static int check_running(struct bench *b, unsigned n) {
        json_auto_t *list = NULL;
        json_t *inst;
        size_t i, running = 0, total;
        int r = bench_api(b, "GET", "/v1/instances", NULL, 200, &list);

        if (r < 0)
                return r;
        total = json_array_size(json_object_get(list, "instances"));
        json_array_foreach(json_object_get(list, "instances"), i, inst) {
                const char *s = json_string_value(json_object_get(inst, "state"));
                running += s && streq(s, "running");
        }
        if (total != n || running != n)
                return bench_fail(b, -EIO, "%zu instances listed, %zu running; expected %u running", total, running, n);
        return 0;
}

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
               label[0] ? "" : "under test", o->threads, o->conns, o->seconds);
        printf("  %-44s %9s %8s %8s %9s\n", "", "req/s", "p50 ms", "p99 ms", "bytes");
        fflush(stdout);
        if ((r = wrk_run(b, o, token, "/v1/node", NULL, &f)) < 0)
                return r;
        print_figure("GET /v1/node", &f, TARGET_NODE_RPS, 0);
        fflush(stdout);
        if (!big) {
                if ((r = wrk_run(b, o, token, "/v1/instances", NULL, &f)) < 0)
                        return r;
                print_figure("GET /v1/instances (full list)", &f, TARGET_LIST_RPS, TARGET_LIST_P99_MS);
        } else {
                if ((r = wrk_run(b, o, token, "/v1/instances?limit=100", NULL, &f)) < 0)
                        return r;
                print_figure("GET /v1/instances?limit=100", &f, 0, TARGET_PAGE_P99_MS);
        }
        fflush(stdout);
        if ((r = wrk_run(b, o, token, one, NULL, &f)) < 0)
                return r;
        print_figure("GET /v1/instances/NAME", &f, TARGET_ONE_RPS, 0);
        fflush(stdout);
        /* An orchestrator's poll: the same list again with the ETag it had (304 when nothing
         * changed). Only when zerod gives ETags. */
        const char *poll = big ? "/v1/instances?limit=100" : "/v1/instances";
        if ((r = etag_of(b, poll, etag, sizeof(etag))) < 0)
                return r;
        if (etag[0]) {
                char what[64];
                snprintf(hdr, sizeof(hdr), "If-None-Match: %s", etag);
                if ((r = wrk_run(b, o, token, poll, hdr, &f)) < 0)
                        return r;
                snprintf(what, sizeof(what), "%s, If-None-Match (304)", big ? "?limit=100" : "GET /v1/instances");
                print_figure(what, &f, 0, 0);
        } else
                printf("  (no ETag on %s: no If-None-Match figure)\n", poll);
        if (big) { /* for reference: the whole list of n */
                if ((r = wrk_run(b, o, token, "/v1/instances", NULL, &f)) < 0)
                        return r;
                print_figure("GET /v1/instances (full list, reference)", &f, 0, 0);
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

        (void) kill(b->zerod_pid, SIGTERM);
        for (int k = 0; k < 3000 && b->zerod_pid > 0; k++, bench_sleep_ms(10))
                if (waitpid(b->zerod_pid, NULL, WNOHANG) != 0)
                        b->zerod_pid = 0;
        if (b->zerod_pid > 0)
                return bench_fail(b, -ETIMEDOUT, "zerod did not stop within 30 s of SIGTERM");
        t0 = zero_monotonic_usec();
        b->zerod = next;
        *current = zerods[1] == next;
        if ((r = bench_zerod_start(b, ZEROD_CONF)) < 0)
                return r;
        printf("\nzerod restarted as %s: its API answered %.2f s after the start\n", next,
               (double) (zero_monotonic_usec() - t0) / 1e6);
        return 0;
}

static void print_load(const char *when) {
        _cleanup_free_ char *out = NULL;
        if (zero_run_wait((char *const[]){"uptime", NULL}, &out) == 0 && out)
                printf("uptime %s: %s", when, out);
}

int main(int argc, char *argv[]) {
        struct bench b = {.zerod = ZERO_ZEROD, .shim = ZERO_SHIM, .plugin_dir = ZERO_PLUGIN_DIR,
                          .source_dir = ZERO_SOURCE_DIR, .crun = "crun"};
        struct opts o = {.small = 100, .big = 1000, .seconds = 10, .conns = 8, .threads = 2, .workers = 8, .wrk = "wrk"};
        enum { OPT_ZEROD = 256, OPT_SHIM, OPT_PLUGIN_DIR, OPT_SOURCE_DIR, OPT_CRUN, OPT_WRK, OPT_BEFORE };
        static const struct option longopts[] = {
                {"zerod", required_argument, NULL, OPT_ZEROD},       {"shim", required_argument, NULL, OPT_SHIM},
                {"plugin-dir", required_argument, NULL, OPT_PLUGIN_DIR}, {"source-dir", required_argument, NULL, OPT_SOURCE_DIR},
                {"crun", required_argument, NULL, OPT_CRUN},         {"wrk", required_argument, NULL, OPT_WRK},
                {"zerod-before", required_argument, NULL, OPT_BEFORE},
                {},
        };
        char *const extra[] = {"--listen", "tcp:127.0.0.1:" PORT, "--insecure-tcp", NULL};
        const char *zerods[2] = {NULL, NULL}, *labels[2] = {"before", "after"};
        int n_zerods = 1, current = 0;
        unsigned made = 0;
        int c, r = 0;

        while ((c = getopt_long(argc, argv, "n:N:d:c:t:j:", longopts, NULL)) >= 0)
                switch (c) {
                case 'n': o.small = (unsigned) atoi(optarg); break;
                case 'N': o.big = (unsigned) atoi(optarg); break;
                case 'd': o.seconds = (unsigned) atoi(optarg); break;
                case 'c': o.conns = (unsigned) atoi(optarg); break;
                case 't': o.threads = (unsigned) atoi(optarg); break;
                case 'j': o.workers = (unsigned) atoi(optarg); break;
                case OPT_ZEROD: b.zerod = optarg; break;
                case OPT_SHIM: b.shim = optarg; break;
                case OPT_PLUGIN_DIR: b.plugin_dir = optarg; break;
                case OPT_SOURCE_DIR: b.source_dir = optarg; break;
                case OPT_CRUN: b.crun = optarg; break;
                case OPT_WRK: o.wrk = optarg; break;
                case OPT_BEFORE: zerods[0] = optarg; break;
                default:
                        return fprintf(stderr, "usage: %s [-n 100] [-N 1000] [-d SECONDS] [-c CONNS] [-t THREADS] [-j WORKERS]"
                                               " [--zerod P] [--zerod-before P] [--shim P] [--plugin-dir D] [--source-dir D] [--crun P] [--wrk P]\n",
                                       argv[0]),
                               2;
                }
        if (o.small < 2 || (o.big && o.big <= o.small) || o.seconds < 1 || o.conns < 1 || o.threads < 1 || o.workers < 1 ||
            o.conns < o.threads)
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

        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }

        _cleanup_free_ char *token = NULL;
        json_auto_t *tok = NULL;
        double secs;
        if ((r = bench_tmp_new(&b)) < 0)
                goto out;
        printf("bench_api: zerod %s; wrk %s -t%u -c%u -d%us; %u then %u running busybox containers; temp dir %s\n", b.zerod,
               o.wrk, o.threads, o.conns, o.seconds, o.small, o.big, b.tmp);
        print_load("before");
        if (unshare(CLONE_NEWNET) < 0) {
                r = bench_fail(&b, -errno, "unshare(CLONE_NEWNET): %m");
                goto out;
        }
        if ((r = bench_run(&b, (char *const[]){"ip", "link", "set", "lo", "up", NULL})) < 0 ||
            (r = bench_zerod_start(&b, ZEROD_CONF)) < 0 ||
            (r = bench_image_import(&b, "busybox")) < 0 ||
            (r = bench_api(&b, "POST", "/v1/tokens", "{\"name\":\"bench\",\"role\":\"read\"}", 201, &tok)) < 0)
                goto out;
        token = strdup(strempty(json_string_value(json_object_get(tok, "secret"))));
        if (!token || !token[0]) {
                r = bench_fail(&b, -EBADMSG, "no secret in the token's answer");
                goto out;
        }

        /* The first one alone: the card makes the image's clone template with the first clone,
         * and concurrent first clones race for it (the softcard's, found by this benchmark: "Failed
         * to copy the clone template", "Image is not in qcow2 format"). */
        made = o.small; /* what the cleanup deletes, whether or not it all came up */
        if ((r = run_workers(&b, 1, 0, 1, create_one, &secs)) < 0 ||
            (r = run_workers(&b, o.workers, 1, o.small, create_one, &secs)) < 0)
                goto out;
        printf("\n%u containers created (after the first) by %u clients in %.1f s (%.1f/s)\n", o.small - 1, o.workers, secs,
               (o.small - 1) / secs);
        /* With --zerod-before: each figure from both zerods on the same containers, the one
         * running now first, then the other (stopped and started on the same state: the
         * containers and the card's daemon run on, and the next adopts them). */
        for (int k = 0; k < n_zerods; k++)
                if ((k > 0 && (r = switch_zerod(&b, zerods[!current], &current, zerods)) < 0) ||
                    (r = check_running(&b, o.small)) < 0 || (r = measure(&b, &o, token, o.small, labels[current])) < 0)
                        goto out;
        if (o.big) {
                r = run_workers(&b, o.workers, o.small, o.big, create_one, &secs);
                made = o.big;
                if (r < 0)
                        goto out;
                printf("\n%u more containers created by %u clients in %.1f s (%.1f/s), zerod %s\n", o.big - o.small, o.workers,
                       secs, (o.big - o.small) / secs, labels[current]);
                for (int k = 0; k < n_zerods; k++)
                        if ((k > 0 && (r = switch_zerod(&b, zerods[!current], &current, zerods)) < 0) ||
                            (r = check_running(&b, o.big)) < 0 || (r = measure(&b, &o, token, o.big, labels[current])) < 0)
                                goto out;
        }
        print_load("after");
out:
        if (r < 0)
                fprintf(stderr, "bench_api: %s\n", b.err.message);
        if (made && b.zerod_pid > 0) {
                if (run_workers(&b, o.workers, 0, made, delete_one, &secs) < 0)
                        fprintf(stderr, "bench_api: %s\n", b.err.message);
                else
                        printf("%u containers deleted (forced) by %u clients in %.1f s\n", made, o.workers, secs);
        }
        if (bench_cleanup(&b, NULL) < 0 && r >= 0) {
                fprintf(stderr, "bench_api: %s\n", b.err.message);
                r = -EBUSY;
        }
        return r < 0 ? 1 : 0;
}
