/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Following an operation of an instance step by step (operation.h, zeroctl_operation_follow):
 * `zeroctl switch`, and `zeroctl create` of a bms instance.
 *
 * The steps come from the event stream (GET /v1/events?instance=NAME as Server-Sent Events),
 * opened right after the request from after=0: zerod replays the events it keeps, so none of the
 * operation's is missed however quickly it runs, without first paging through the whole log to
 * learn its last id; the instance's older events are told apart by the operation id. The
 * operation itself (GET /v1/operations/ID) has the last word on how it ended and on the steps:
 * any the stream did not show are printed from it. A stream that breaks after progress is
 * reopened from the last event seen; one that fails outright leaves the waiting to
 * zeroctl_operation_wait's polling.
 *
 * A hand-over of the host (bms): once handover_load has loaded a kernel (it took a while: a step
 * that passes takes microseconds), the stream is left, since zerod goes with the host's kernel
 * and its stream would only go quiet; the polling says "host handed to the tenant; the card
 * answers" while zerod does not, and "host taken back" once it answers again, and the steps left
 * (handover, spawn, boot, running) are printed from the operation.
 */
#include <inttypes.h>
#include <string.h>

#include "cli/operation.h"
#include "cli/output.h"
#include "cli/sse.h"
#include "cli/zeroctl.h"
#include "common/util.h"

/* zerod sends ": keepalive" after 15 s without an event: three missed is a dead stream. */
#define STREAM_IDLE_S 45
/* A handover_load that took this long loaded a kernel: the host goes next. */
#define HANDOVER_LOADED_USEC 1000

int zeroctl_print_step(FILE *f, const char *step, uint64_t duration_usec) {
        _cleanup_free_ char *d = zeroctl_format_duration(duration_usec);

        if (!d)
                return -ENOMEM;
        /* As wide as the longest step name (volumes_delete), so that handover_load lines up too. */
        fprintf(f, "    %-14s %8s\n", strempty(step), d);
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
        bool handing;     /* handover_load loaded a kernel: the host goes to a tenant */
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
        int r;

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
        if (streq(type, "operation.step")) {
                r = print_step(w, d);
                if (r >= 0 && streq(strempty(str(d, "step")), "handover_load") &&
                    json_integer_value(json_object_get(d, "duration_us")) >= HANDOVER_LOADED_USEC) {
                        w->handing = true;
                        return 1; /* zerod goes with the host: the polling takes over */
                }
                return r;
        }
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

/* Prints the operation's steps as the stream brings them until its end, the hand-over or the
 * deadline. Its failures are not the operation's: the caller then polls it. */
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
                if (r > 0 || w->ended || w->handing)
                        return;
                /* Closed or gone quiet: reopen after the last event seen, but only when this
                 * stream brought one, so a stream that keeps failing is not retried forever. */
                if (r == -EPROTONOSUPPORT || s.r < 0 || w->last_id == before)
                        return;
        }
}

int zeroctl_operation_follow(struct zeroctl *z, const char *name, json_t *op, const char *location,
                             unsigned wait_s, json_t **ret_final, struct zero_error *reterr) {
        struct watch w = {.z = z, .quiet = z->opts.json};
        uint64_t deadline = zero_monotonic_usec() + (uint64_t) wait_s * USEC_PER_SEC, now;
        _cleanup_free_ char *id = NULL;
        json_auto_t *final = NULL;
        json_t *steps, *step;
        unsigned left;
        size_t i;
        int r, k;

        r = zeroctl_operation_id(op, &id, reterr);
        if (r < 0)
                return r;
        w.id = id;
        watch_stream(&w, name, deadline);

        /* The operation's own word on its end: at once after its final event, else by polling
         * until the deadline (at least one look, even when the stream used up the time). */
        now = zero_monotonic_usec();
        left = now < deadline ? (unsigned) ((deadline - now + USEC_PER_SEC - 1) / USEC_PER_SEC) : 1;
        r = zeroctl_operation_wait_from(z, op, location, left, w.handing ? "handover" : NULL, &w.n_printed, &final,
                                        reterr);
        if (r == -ETIME) {
                const char *s = str(final, "step");
                r = zero_error_set(reterr, -ETIME, ZERO_E_INTERNAL,
                                   "timed out after %u s waiting for operation %s%s%s%s; it goes "
                                   "on in zerod: see 'zeroctl op show %s'",
                                   wait_s, id, s ? " (step " : "", strempty(s), s ? ")" : "", id);
        }

        /* The steps the stream did not show (it broke, the host went, or zerod has no stream). */
        steps = json_object_get(final, "steps");
        json_array_foreach (steps, i, step)
                if (i >= w.n_printed && (k = print_step(&w, step)) < 0 && r >= 0)
                        r = k;
        if (r < 0 && !w.quiet && streq(strempty(str(final, "status")), "failed") && str(final, "step"))
                fprintf(z->out, "    %-8s %8s\n", str(final, "step"), "failed");
        if (ret_final)
                *ret_final = TAKE_PTR(final);
        return r;
}
