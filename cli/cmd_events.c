/* SPDX-License-Identifier: Apache-2.0 */
/* zeroctl events: one page of GET /v1/events, or (--follow) every event as it comes, by polling
 * with "after" set to the previous page's "next". */
#include <getopt.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "cli/output.h"
#include "cli/zeroctl.h"
#include "common/util.h"

/* zerod's bound on ?limit=; --follow asks for the most, so a backlog drains quickly. */
#define EVENTS_LIMIT_MAX 1000
/* The newest events zeroctl events shows without --after or --limit (zerod's default page). */
#define EVENTS_NEWEST_DEFAULT 100
/* How long --follow waits after a page that was not full before asking again. */
#define FOLLOW_INTERVAL_USEC USEC_PER_SEC

int zeroctl_parse_events(int argc, char **argv, struct zeroctl_events_args *ret,
                         struct zero_error *reterr) {
        enum { OPT_AFTER = 0x100, OPT_LIMIT, OPT_FOLLOW };
        static const struct option options[] = {
                {"after", required_argument, NULL, OPT_AFTER},
                {"limit", required_argument, NULL, OPT_LIMIT},
                {"follow", no_argument, NULL, OPT_FOLLOW},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        struct zeroctl_events_args a = {.after = -1, .limit = -1};
        int c, r;

        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":fh", options, NULL)) >= 0) {
                switch (c) {
                case OPT_AFTER:
                        r = zeroctl_parse_uint("--after", optarg, 0, INT64_MAX, &a.after, reterr);
                        if (r < 0)
                                return r;
                        break;
                case OPT_LIMIT:
                        r = zeroctl_parse_uint("--limit", optarg, 1, EVENTS_LIMIT_MAX, &a.limit,
                                               reterr);
                        if (r < 0)
                                return r;
                        break;
                case 'f':
                case OPT_FOLLOW:
                        a.follow = true;
                        break;
                case 'h':
                        return ZEROCTL_HELP;
                default:
                        return zeroctl_getopt_error(c, argv, reterr);
                }
        }
        if (optind < argc)
                return zeroctl_usage_error(reterr, "unexpected argument '%s'", argv[optind]);
        if (a.follow && a.limit > 0)
                return zeroctl_usage_error(reterr, "--limit is for one page, not with --follow");
        *ret = a;
        return 0;
}

char *zeroctl_events_path(int64_t after, int64_t limit) {
        if (after < 0)
                return zero_strdup_printf("/v1/events?last=%" PRId64, limit > 0 ? limit : EVENTS_NEWEST_DEFAULT);
        if (limit > 0)
                return zero_strdup_printf("/v1/events?after=%" PRId64 "&limit=%" PRId64, after,
                                          limit);
        return zero_strdup_printf("/v1/events?after=%" PRId64, after);
}

int zeroctl_print_event(FILE *f, const json_t *event) {
        json_t *id = json_object_get(event, "id"), *data = json_object_get(event, "data");
        const char *instance = json_string_value(json_object_get(event, "instance"));
        _cleanup_free_ char *d = NULL;

        if (!json_is_object(event) || !json_is_integer(id))
                return -EBADMSG;
        d = data ? json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY) : strdup("{}");
        if (!d)
                return -ENOMEM;
        fprintf(f, "%" JSON_INTEGER_FORMAT " %s %s %s %s\n", json_integer_value(id),
                json_string_value(json_object_get(event, "time")) ?: "-",
                json_string_value(json_object_get(event, "type")) ?: "-",
                instance && *instance ? instance : "-", d);
        return ferror(f) ? -EIO : 0;
}

static void sleep_usec(uint64_t usec) {
        struct timespec ts = {.tv_sec = (time_t) (usec / USEC_PER_SEC),
                              .tv_nsec = (long) (usec % USEC_PER_SEC) * 1000};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* GETs one page from *after on; prints its events (one line each, or --follow's JSON lines);
 * *after becomes the page's "next". *ret_n: how many events the page had. */
static int page(struct zeroctl *z, int64_t limit, bool follow, int64_t *after, size_t *ret_n,
                struct zero_error *reterr) {
        _cleanup_free_ char *path = zeroctl_events_path(*after, limit);
        json_auto_t *j = NULL;
        json_t *events, *next, *e;
        size_t i;
        int r;

        if (!path)
                return -ENOMEM;
        r = zeroctl_http_call(z->http, "GET", path, NULL, 0, &j, NULL, reterr);
        if (r < 0)
                return r;
        events = json_object_get(j, "events");
        next = json_object_get(j, "next");
        if (!json_is_array(events) || !json_is_integer(next))
                return zero_error_set(reterr, -EBADMSG, ZERO_E_INTERNAL,
                                      "zerod answered %s without \"events\" and \"next\"", path);
        if (z->opts.json && !follow)
                r = zeroctl_print_json(z->out, j);
        else
                json_array_foreach (events, i, e) {
                        if (z->opts.json) {
                                /* JSON Lines: one event per line, for a script reading on. */
                                r = json_dumpf(e, z->out, JSON_COMPACT | JSON_PRESERVE_ORDER) < 0
                                            ? -EIO
                                            : 0;
                                fputc('\n', z->out);
                        } else
                                r = zeroctl_print_event(z->out, e);
                        if (r == -EBADMSG)
                                return zero_error_set(reterr, r, ZERO_E_INTERNAL,
                                                      "zerod answered %s with an event without "
                                                      "an id",
                                                      path);
                        if (r < 0)
                                return r;
                }
        if (r < 0)
                return r;
        /* An older zerod (or a trimmed log) must not send the loop backwards. */
        if (json_integer_value(next) > *after)
                *after = json_integer_value(next);
        *ret_n = json_array_size(events);
        return 0;
}

int zeroctl_cmd_events(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr) {
        struct zeroctl_events_args a;
        size_t n;
        int r;

        r = zeroctl_parse_events(argc, argv, &a, reterr);
        if (r != 0)
                return r;
        if (!a.follow) {
                bool newest = a.after < 0;
                r = page(z, a.limit, false, &a.after, &n, reterr);
                /* A full page of the newest: there were more before them (issue 16: nothing said
                 * so). On stderr: stdout is the events'. */
                if (r >= 0 && newest && !z->opts.json && n == (size_t) (a.limit > 0 ? a.limit : EVENTS_NEWEST_DEFAULT)) {
                        /* After the events, also where both go to one file (2>&1: stdout is
                         * buffered there, stderr is not, and the hint came out amid them). */
                        if (fflush(z->out) != 0)
                                return zero_error_set(reterr, -errno, ZERO_E_INTERNAL, "cannot write output: %m");
                        fprintf(stderr, "zeroctl: the newest %zu events; --after ID for those after an event "
                                        "(--after 0: from the oldest), --limit N for up to 1000\n", n);
                }
                return r;
        }
        /* Without --after: the newest page first, then on from its end. */
        if (a.after < 0) {
                r = page(z, EVENTS_NEWEST_DEFAULT, true, &a.after, &n, reterr);
                if (r < 0)
                        return r;
        }
        /* Until interrupted (or zerod goes away: that ends it with the error). */
        for (;;) {
                r = page(z, EVENTS_LIMIT_MAX, true, &a.after, &n, reterr);
                if (r < 0)
                        return r;
                if (fflush(z->out) != 0)
                        return zero_error_set(reterr, -errno, ZERO_E_INTERNAL, "cannot write output: %m");
                /* A full page means more are waiting: ask again at once. */
                if (n < EVENTS_LIMIT_MAX)
                        sleep_usec(FOLLOW_INTERVAL_USEC);
        }
}
