/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zeroctl migrate NAME TARGET: POST /v1/instances/NAME/migrate {"target": TARGET, ...} on the
 * node NAME runs on, then a live progress line from the operation's "progress" (RAM sent,
 * remaining, dirty rate, QEMU's expected downtime) until it ends, then QEMU's downtime and total
 * time from its "result".
 *
 * The progress is polled (GET /v1/operations/ID, no wait) every PROGRESS_INTERVAL_USEC: it
 * changes all the time while QEMU sends, and the operation has no event per change. On a
 * terminal the line is rewritten in place; elsewhere (a log, a test) a line is printed when the
 * figures changed and at most once a second.
 */
#include <getopt.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/operation.h"
#include "cli/output.h"
#include "cli/zeroctl.h"
#include "common/util.h"

#define PROGRESS_INTERVAL_USEC (200 * USEC_PER_MSEC)
#define PROGRESS_LOG_INTERVAL_USEC USEC_PER_SEC
/* zerod's own bound on a migration is longer; this is how long zeroctl waits by default. */
#define MIGRATE_WAIT_DEFAULT_S 600

int zeroctl_parse_migrate(int argc, char **argv, struct zeroctl_migrate_args *ret, struct zero_error *reterr) {
        enum { OPT_DOWNTIME = 0x100, OPT_BANDWIDTH, OPT_TARGET_TOKEN };
        static const struct option options[] = {
                {"downtime", required_argument, NULL, OPT_DOWNTIME},
                {"bandwidth", required_argument, NULL, OPT_BANDWIDTH},
                {"target-token", required_argument, NULL, OPT_TARGET_TOKEN},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        struct zeroctl_migrate_args a = {.downtime_ms = -1, .bandwidth = -1};
        int c, r;

        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":h", options, NULL)) >= 0) {
                switch (c) {
                case OPT_DOWNTIME: /* zerod checks its own range (422) */
                        r = zeroctl_parse_uint("--downtime", optarg, 1, 3600000, &a.downtime_ms, reterr);
                        if (r < 0)
                                return r;
                        break;
                case OPT_BANDWIDTH:
                        r = zeroctl_parse_uint("--bandwidth", optarg, 1, INT64_MAX, &a.bandwidth, reterr);
                        if (r < 0)
                                return r;
                        break;
                case OPT_TARGET_TOKEN:
                        a.target_token = optarg;
                        break;
                case 'h':
                        return ZEROCTL_HELP;
                default:
                        return zeroctl_getopt_error(c, argv, reterr);
                }
        }
        r = zeroctl_instance_and_word(argc, argv, "target (the other node's URL, https://HOST:PORT)", &a.name,
                                      &a.target, reterr);
        if (r < 0)
                return r;
        *ret = a;
        return 0;
}

int zeroctl_migrate_body(const struct zeroctl_migrate_args *a, json_t **ret, struct zero_error *reterr) {
        json_auto_t *body = json_object();
        int r;

        if (!body)
                return -ENOMEM;
        r = zeroctl_json_set_string(body, "target", a->target, "TARGET", reterr);
        if (r >= 0 && a->target_token)
                r = zeroctl_json_set_string(body, "token", a->target_token, "--target-token", reterr);
        if (r < 0)
                return r;
        if (a->downtime_ms >= 0 && json_object_set_new(body, "downtime_ms", json_integer(a->downtime_ms)) < 0)
                return -ENOMEM;
        if (a->bandwidth >= 0 && json_object_set_new(body, "bandwidth", json_integer(a->bandwidth)) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(body);
        return 0;
}

static int64_t num(const json_t *o, const char *key) {
        return json_integer_value(json_object_get(o, key));
}

static const char *str(const json_t *o, const char *key) {
        return json_string_value(json_object_get(o, key));
}

int zeroctl_format_migrate_progress(const json_t *op, char *buf, size_t size) {
        const json_t *p = json_object_get(op, "progress");
        _cleanup_free_ char *sent = NULL, *total = NULL, *left = NULL, *dirty = NULL;

        if (!json_is_object(p) || num(p, "ram_total_bytes") <= 0) {
                snprintf(buf, size, "%s", strempty(str(op, "step")));
                return 0;
        }
        sent = zeroctl_format_bytes((uint64_t) num(p, "ram_transferred_bytes"));
        total = zeroctl_format_bytes((uint64_t) num(p, "ram_total_bytes"));
        left = zeroctl_format_bytes((uint64_t) num(p, "ram_remaining_bytes"));
        dirty = zeroctl_format_bytes((uint64_t) num(p, "dirty_rate_bytes"));
        if (!sent || !total || !left || !dirty)
                return -ENOMEM;
        snprintf(buf, size, "%s: sent %s of %s, %s left, dirtying %s/s, expected downtime %" PRId64 " ms",
                 strempty(str(op, "step")), sent, total, left, dirty, num(p, "expected_downtime_ms"));
        return 0;
}

static void sleep_usec(uint64_t usec) {
        struct timespec ts = {.tv_sec = (time_t) (usec / USEC_PER_SEC), .tv_nsec = (long) (usec % USEC_PER_SEC) * 1000};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* Polls the operation until it ends or the deadline, printing its progress; *ret_final: the
 * last operation seen. */
static int follow(struct zeroctl *z, const char *id, uint64_t deadline, json_t **ret_final, struct zero_error *reterr) {
        _cleanup_free_ char *escaped = zeroctl_path_escape(id), *path = NULL;
        bool tty = !z->opts.json && isatty(fileno(z->out)), shown = false;
        char line[256], last[256] = "";
        uint64_t printed = 0;
        json_t *cur = NULL;
        int r = 0;

        if (!escaped || !(path = zero_strdup_printf("/v1/operations/%s", escaped)))
                return -ENOMEM;
        for (;;) {
                json_t *next = NULL;

                r = zeroctl_http_call(z->http, "GET", path, NULL, 0, &next, NULL, reterr);
                if (r < 0)
                        break;
                json_decref(cur);
                cur = next;
                if (!streq(strempty(str(cur, "status")), "running"))
                        break;
                if (!z->opts.json && zeroctl_format_migrate_progress(cur, line, sizeof(line)) >= 0) {
                        uint64_t now = zero_monotonic_usec();
                        if (tty) {
                                fprintf(z->out, "\r\033[K%s", line);
                                shown = true;
                        } else if (!streq(line, last) && now - printed >= PROGRESS_LOG_INTERVAL_USEC) {
                                fprintf(z->out, "  %s\n", line);
                                printed = now;
                                snprintf(last, sizeof(last), "%s", line);
                        }
                        (void) fflush(z->out);
                }
                if (zero_monotonic_usec() >= deadline) {
                        r = zero_error_set(reterr, -ETIME, ZERO_E_INTERNAL,
                                           "timed out waiting for operation %s; it goes on in zerod: see 'zeroctl op show %s'",
                                           id, id);
                        break;
                }
                sleep_usec(PROGRESS_INTERVAL_USEC);
        }
        if (shown)
                fprintf(z->out, "\r\033[K");
        *ret_final = cur;
        return r;
}

int zeroctl_cmd_migrate(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr) {
        struct zeroctl_migrate_args a;
        json_auto_t *body = NULL, *op = NULL, *last = NULL, *final = NULL;
        _cleanup_free_ char *path = NULL, *id = NULL, *took = NULL;
        unsigned wait_s = z->opts.timeout_s ? z->opts.timeout_s : MIGRATE_WAIT_DEFAULT_S;
        uint64_t started;
        const json_t *res;
        int r;

        r = zeroctl_parse_migrate(argc, argv, &a, reterr);
        if (r != 0)
                return r;
        r = zeroctl_migrate_body(&a, &body, reterr);
        if (r < 0)
                return r;
        path = zeroctl_object_path("instances", a.name, "/migrate");
        if (!path)
                return -ENOMEM;
        started = zero_monotonic_usec();
        r = zeroctl_http_call(z->http, "POST", path, body, 0, &op, NULL, reterr);
        if (r < 0)
                return r;
        r = zeroctl_operation_id(op, &id, reterr);
        if (r < 0)
                return r;
        if (!z->opts.json) {
                fprintf(z->out, "migrating %s to %s (operation %s)\n", a.name, a.target, id);
                (void) fflush(z->out);
        }
        r = follow(z, id, started + (uint64_t) wait_s * USEC_PER_SEC, &last, reterr);
        /* How it ended, as every verb reports it (it ended: no request is made). */
        if (r >= 0)
                r = zeroctl_operation_wait(z, last, NULL, 1, &final, reterr);
        if (z->opts.json) {
                int k = final ? zeroctl_print_json(z->out, final) : 0;
                return r < 0 ? r : k;
        }
        if (r < 0)
                return r;
        res = json_object_get(final, "result");
        took = zeroctl_format_duration(zero_monotonic_usec() - started);
        fprintf(z->out, "migrated %s to %s in %s: downtime %" PRId64 " ms, QEMU's total %" PRId64 " ms\n", a.name,
                a.target, strempty(took), num(res, "downtime_ms"), num(res, "total_ms"));
        return ferror(z->out) ? -EIO : 0;
}
