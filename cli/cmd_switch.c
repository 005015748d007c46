/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zeroctl switch NAME MODE: POST /v1/instances/NAME/switch, then each step as zerod finishes it
 * and the total time.
 *
 * The steps come from the event stream (GET /v1/events?instance=NAME as Server-Sent Events),
 * opened right after the POST from after=0: zerod replays the events it keeps, so none of the
 * operation's is missed however quickly it runs, without first paging through the whole log to
 * learn its last id; the instance's older events are told apart by the operation id. The
 * operation itself (GET /v1/operations/ID) has the last word on how it ended and on the steps:
 * any the stream did not show are printed from it. A stream that breaks after progress is
 * reopened from the last event seen; one that fails outright leaves the waiting to
 * zeroctl_operation_wait's polling.
 */
#include <getopt.h>
#include <inttypes.h>
#include <string.h>

#include "cli/operation.h"
#include "cli/output.h"
#include "cli/sse.h"
#include "cli/zeroctl.h"
#include "common/util.h"

/* Extra time the wait gets beyond the stop's grace period: the kill, the cleanup and the boot
 * in the new mode. */
#define SWITCH_WAIT_SLACK_S 30
/* zerod sends ": keepalive" after 15 s without an event: three missed is a dead stream. */
#define STREAM_IDLE_S 45

int zeroctl_parse_switch(int argc, char **argv, struct zeroctl_switch_args *ret,
                         struct zero_error *reterr) {
        enum { OPT_GRACE = 0x100, OPT_FORCE };
        static const struct option options[] = {
                {"grace", required_argument, NULL, OPT_GRACE},
                {"force", no_argument, NULL, OPT_FORCE},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        struct zeroctl_switch_args a = {.timeout_s = -1};
        int c, r;

        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":h", options, NULL)) >= 0) {
                switch (c) {
                case OPT_GRACE:
                        /* zerod's bound: an hour between SIGTERM and SIGKILL. */
                        r = zeroctl_parse_uint("--grace", optarg, 0, 3600, &a.timeout_s, reterr);
                        if (r < 0)
                                return r;
                        break;
                case OPT_FORCE:
                        a.force = true;
                        break;
                case 'h':
                        return ZEROCTL_HELP;
                default:
                        return zeroctl_getopt_error(c, argv, reterr);
                }
        }
        r = zeroctl_instance_and_word(argc, argv, "mode (vm or container)", &a.name, &a.mode, reterr);
        if (r < 0)
                return r;
        *ret = a;
        return 0;
}

int zeroctl_switch_body(const struct zeroctl_switch_args *a, json_t **ret,
                        struct zero_error *reterr) {
        json_auto_t *body = json_object();
        int r;

        if (!body)
                return -ENOMEM;
        /* Whether zerod runs the mode here is zerod's to say (422, with its plugin's reason). */
        r = zeroctl_json_set_string(body, "mode", a->mode, "MODE", reterr);
        if (r < 0)
                return r;
        if (a->timeout_s >= 0 &&
            json_object_set_new(body, "timeout_s", json_integer(a->timeout_s)) < 0)
                return -ENOMEM;
        if (a->force && json_object_set_new(body, "force", json_true()) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(body);
        return 0;
}

int zeroctl_print_step(FILE *f, const char *step, uint64_t duration_usec) {
        _cleanup_free_ char *d = zeroctl_format_duration(duration_usec);

        if (!d)
                return -ENOMEM;
        fprintf(f, "    %-8s %8s\n", strempty(step), d);
        return ferror(f) ? -EIO : 0;
}

static const char *str(const json_t *o, const char *key) {
        return json_string_value(json_object_get(o, key));
}

/* Following one operation in the event stream. */
struct watch {
        struct zeroctl *z;
        const char *id;
        bool quiet;       /* --json: only the final operation is printed */
        size_t n_printed; /* steps printed so far, in the order zerod ran them */
        bool ended;       /* the operation's final "operation" event came */
        int64_t last_id;  /* the last event id seen (0: none), to reopen the stream after */
};

static int print_step(struct watch *w, const json_t *step) {
        json_t *d = json_object_get(step, "duration_us");
        int r;

        w->n_printed++;
        if (w->quiet)
                return 0;
        r = zeroctl_print_step(w->z->out, str(step, "step"),
                               json_integer_value(d) > 0 ? (uint64_t) json_integer_value(d) : 0);
        if (r >= 0 && fflush(w->z->out) != 0)
                r = -errno;
        return r;
}

/* One event of the stream: {"id","time","type","instance","data"}. */
static int on_event(const char *event_id, const char *type, const char *data, void *userdata) {
        struct watch *w = userdata;
        json_auto_t *e = json_loads(data, 0, NULL);
        json_t *d = json_object_get(e, "data");
        int64_t n;

        /* A reopened stream starts after the last id seen; one that repeats an event anyway
         * must not print a step twice (zerod gives every frame its id). */
        if (zero_parse_int64(event_id, 1, INT64_MAX, &n) >= 0) {
                if (n <= w->last_id)
                        return 0;
                w->last_id = n;
        }
        /* The instance's other events, and what a newer zerod may add, are not ours. */
        if (!json_is_object(d) || !streq(strempty(str(d, "id")), w->id))
                return 0;
        if (str(e, "type"))
                type = str(e, "type");
        if (streq(type, "operation.step"))
                return print_step(w, d);
        if (streq(type, "operation") && !streq(strempty(str(d, "status")), "running")) {
                w->ended = true;
                return 1; /* done: the operation itself says how */
        }
        return 0;
}

struct stream_ctx {
        struct zeroctl_sse sse;
        int r; /* the parser's error, for the message */
};

static int on_data(const char *data, size_t len, void *userdata) {
        struct stream_ctx *s = userdata;
        int r = zeroctl_sse_feed(&s->sse, data, len);

        if (r < 0)
                s->r = r;
        return r;
}

/* Prints the operation's steps as the stream brings them until its end or the deadline. Its
 * failures are not the switch's: the caller then polls the operation. */
static void watch_stream(struct watch *w, const char *name, uint64_t deadline) {
        _cleanup_free_ char *escaped = zeroctl_path_escape(name);

        if (!escaped)
                return;
        for (;;) {
                _cleanup_free_ char *path = NULL;
                int64_t before = w->last_id;
                struct stream_ctx s = {};
                struct zero_error ignore = {};
                uint64_t now = zero_monotonic_usec();
                unsigned left;
                int r;

                if (now >= deadline)
                        return;
                left = (unsigned) ((deadline - now + USEC_PER_SEC - 1) / USEC_PER_SEC);
                path = zero_strdup_printf("/v1/events?after=%" PRId64 "&instance=%s", w->last_id,
                                          escaped);
                if (!path)
                        return;
                zeroctl_sse_init(&s.sse, on_event, w);
                r = zeroctl_http_stream(w->z->http, path, "text/event-stream", left,
                                        STREAM_IDLE_S, on_data, &s, &ignore);
                zeroctl_sse_done(&s.sse);
                if (r > 0 || w->ended)
                        return;
                /* Closed or gone quiet: reopen after the last event seen, but only when this
                 * stream brought one, so a stream that keeps failing is not retried forever. */
                if (r == -EPROTONOSUPPORT || s.r < 0 || w->last_id == before)
                        return;
        }
}

/* "web is a vm, running": the instance as zerod now has it. */
static int print_outcome(struct zeroctl *z, const char *name, const char *mode,
                         uint64_t total_usec) {
        _cleanup_free_ char *path = zeroctl_object_path("instances", name, NULL);
        _cleanup_free_ char *total = zeroctl_format_duration(total_usec);
        json_auto_t *inst = NULL;
        struct zero_error ignore = {};
        const char *m, *state;

        if (!path || !total)
                return -ENOMEM;
        /* The switch is done either way: a failed look at the result does not undo it. */
        (void) zeroctl_http_call(z->http, "GET", path, NULL, 0, &inst, NULL, &ignore);
        m = str(inst, "mode");
        state = str(inst, "state");
        if (m && state)
                fprintf(z->out, "%s is a%s %s, %s (total %s)\n", name,
                        m[0] && strchr("aeiou", m[0]) ? "n" : "", m, state, total);
        else
                fprintf(z->out, "switched %s to %s (total %s)\n", name, mode, total);
        return ferror(z->out) ? -EIO : 0;
}

int zeroctl_cmd_switch(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr) {
        struct zeroctl_switch_args a;
        json_auto_t *body = NULL, *op = NULL, *final = NULL;
        _cleanup_free_ char *path = NULL, *location = NULL, *id = NULL;
        struct watch w = {.z = z, .quiet = z->opts.json};
        unsigned wait_s = z->opts.timeout_s, left;
        uint64_t started, deadline, now;
        json_t *steps, *step;
        size_t i;
        int r, k;

        r = zeroctl_parse_switch(argc, argv, &a, reterr);
        if (r != 0)
                return r;
        r = zeroctl_switch_body(&a, &body, reterr);
        if (r < 0)
                return r;
        path = zeroctl_object_path("instances", a.name, "/switch");
        if (!path)
                return -ENOMEM;
        /* Waiting less than the grace period would report a timeout for a switch that is going
         * exactly as asked. */
        if (wait_s > 0 && a.timeout_s >= 0 && wait_s < a.timeout_s + SWITCH_WAIT_SLACK_S)
                wait_s = (unsigned) a.timeout_s + SWITCH_WAIT_SLACK_S;
        if (wait_s == 0) /* --timeout 0: do not wait */
                return zeroctl_operation_run(z, "POST", path, body, 0, "switch", "switched",
                                             a.name, reterr);

        started = zero_monotonic_usec();
        deadline = started + (uint64_t) wait_s * USEC_PER_SEC;
        r = zeroctl_http_call(z->http, "POST", path, body, 0, &op, &location, reterr);
        if (r < 0)
                return r;
        r = zeroctl_operation_id(op, &id, reterr);
        if (r < 0)
                return r;
        w.id = id;
        if (!w.quiet) {
                fprintf(z->out, "switching %s to %s (operation %s)\n", a.name, a.mode, id);
                if (fflush(z->out) != 0)
                        return zero_error_set(reterr, -errno, ZERO_E_INTERNAL, "cannot write output: %m");
        }

        watch_stream(&w, a.name, deadline);

        /* The operation's own word on its end: at once after its final event, else by polling
         * until the deadline (at least one look, even when the stream used up the time). */
        now = zero_monotonic_usec();
        left = now < deadline ? (unsigned) ((deadline - now + USEC_PER_SEC - 1) / USEC_PER_SEC)
                              : 1;
        r = zeroctl_operation_wait(z, op, location, left, &final, reterr);
        if (r == -ETIME) {
                const char *s = str(final, "step");
                r = zero_error_set(reterr, -ETIME, ZERO_E_INTERNAL,
                                   "timed out after %u s waiting for operation %s%s%s%s; it goes "
                                   "on in zerod: see 'zeroctl op show %s'",
                                   wait_s, id, s ? " (step " : "", strempty(s), s ? ")" : "", id);
        }
        now = zero_monotonic_usec();

        /* The steps the stream did not show (it broke, or zerod has no stream). */
        steps = json_object_get(final, "steps");
        json_array_foreach (steps, i, step)
                if (i >= w.n_printed && (k = print_step(&w, step)) < 0 && r >= 0)
                        r = k;

        if (z->opts.json) {
                /* Also when it failed: a script reads error.code from it. */
                k = final ? zeroctl_print_json(z->out, final) : 0;
                return r < 0 ? r : k;
        }
        if (r < 0) {
                if (streq(strempty(str(final, "status")), "failed") && str(final, "step"))
                        fprintf(z->out, "    %-8s %8s\n", str(final, "step"), "failed");
                return r;
        }
        return print_outcome(z, a.name, a.mode, now - started);
}
