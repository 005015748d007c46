/* SPDX-License-Identifier: Apache-2.0 */
/* Many containers and load on the API (fleet.h). */
#include "tests/bench/fleet.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"


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

int wrk_run(struct bench *b, const struct wrk_opts *o, const char *token, const char *path, const char *headers,
                   struct figure *ret) {
        _cleanup_free_ char *script = bench_path(b, "wrk.lua"), *out = NULL;
        _cleanup_free_ char *url = zero_strdup_printf("http://127.0.0.1:" FLEET_PORT "%s", path);
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

void figure_print(const char *what, const struct figure *f, double rps_target, double p99_target) {
        char tr[48] = "", tp[48] = "";

        if (rps_target > 0)
                snprintf(tr, sizeof(tr), ">= %.0f: %s", rps_target, f->rps >= rps_target ? "met" : "MISSED");
        if (p99_target > 0)
                snprintf(tp, sizeof(tp), "p99 <= %.0f ms: %s", p99_target, f->p99_ms <= p99_target ? "met" : "MISSED");
        printf("  %-44s %9.0f %8.2f %8.2f %9.0f   %s%s%s\n", what, f->rps, f->p50_ms, f->p99_ms, f->bytes_per_req, tr,
               tr[0] && tp[0] ? ", " : "", tp);
}

int fleet_run(struct bench *b, unsigned workers, unsigned from, unsigned to, int (*item)(struct bench *wb, unsigned i),
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

int fleet_create(struct bench *wb, unsigned i) {
        char body[256];
        int r;

        snprintf(body, sizeof(body),
                 "{\"name\":\"c%04u\",\"image\":\"busybox\",\"memory_mib\":16,\"command\":[\"/bin/sleep\",\"100000\"]}", i);
        if ((r = bench_act(wb, "POST", "/v1/instances", body, NULL, NULL)) < 0)
                fprintf(stderr, "create c%04u: %s\n", i, wb->err.message);
        return r;
}

int fleet_delete(struct bench *wb, unsigned i) {
        char path[64];
        int r;

        snprintf(path, sizeof(path), "/v1/instances/c%04u?force=true", i);
        if ((r = bench_act(wb, "DELETE", path, NULL, NULL, NULL)) < 0 && strstr(wb->err.message, "HTTP 404"))
                r = 0;
        if (r < 0)
                fprintf(stderr, "delete c%04u: %s\n", i, wb->err.message);
        return r;
}

int fleet_check_running(struct bench *b, unsigned n) {
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

void fleet_print_load(const char *when) {
        _cleanup_free_ char *out = NULL;
        if (zero_run_wait((char *const[]){"uptime", NULL}, &out) == 0 && out)
                printf("uptime %s: %s", when, out);
}

void fleet_raise_nofile(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
}

int fleet_start(struct bench *b, const char *conf, char **ret_token) {
        json_auto_t *tok = NULL;
        const char *secret;
        int r;

        if (unshare(CLONE_NEWNET) < 0)
                return bench_fail(b, -errno, "unshare(CLONE_NEWNET): %m");
        if ((r = bench_run(b, (char *const[]){"ip", "link", "set", "lo", "up", NULL})) < 0 ||
            (r = bench_zerod_start(b, conf)) < 0 || (r = bench_image_import(b, "busybox")) < 0 ||
            (r = bench_api(b, "POST", "/v1/tokens", "{\"name\":\"bench\",\"role\":\"read\"}", 201, &tok)) < 0)
                return r;
        secret = json_string_value(json_object_get(tok, "secret"));
        if (!secret || !secret[0])
                return bench_fail(b, -EBADMSG, "no secret in the token's answer");
        if (!(*ret_token = strdup(secret)))
                return bench_fail(b, -ENOMEM, "out of memory");
        return 0;
}

int fleet_end(struct bench *b, const char *prog, int r, unsigned made, unsigned workers) {
        double secs;

        if (r < 0)
                fprintf(stderr, "%s: %s\n", prog, b->err.message);
        if (made && b->zerod_pid > 0) {
                if (fleet_run(b, workers, 0, made, fleet_delete, &secs) < 0)
                        fprintf(stderr, "%s: %s\n", prog, b->err.message);
                else
                        printf("%u containers deleted (forced) by %u clients in %.1f s\n", made, workers, secs);
        }
        if (bench_cleanup(b, NULL) < 0) {
                fprintf(stderr, "%s: %s\n", prog, b->err.message);
                r = -EBUSY;
        }
        return r < 0 ? 1 : 0;
}

int fleet_zerod_stop(struct bench *b) {
        (void) kill(b->zerod_pid, SIGTERM);
        for (int k = 0; k < 3000 && b->zerod_pid > 0; k++, bench_sleep_ms(10))
                if (waitpid(b->zerod_pid, NULL, WNOHANG) != 0)
                        b->zerod_pid = 0;
        if (b->zerod_pid > 0)
                return bench_fail(b, -ETIMEDOUT, "zerod did not stop within 30 s of SIGTERM");
        return 0;
}

int fleet_schedstat(pid_t pid, uint64_t *ret_run_ns, uint64_t *ret_wait_ns) {
        char path[64];
        unsigned long long run, wait;
        FILE *f;
        int n;

        snprintf(path, sizeof(path), "/proc/%d/schedstat", (int) pid);
        if (!(f = fopen(path, "re")))
                return -errno;
        n = fscanf(f, "%llu %llu", &run, &wait);
        fclose(f);
        if (n != 2)
                return -EBADMSG;
        *ret_run_ns = run;
        *ret_wait_ns = wait;
        return 0;
}
