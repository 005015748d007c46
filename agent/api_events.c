/* SPDX-License-Identifier: Apache-2.0 */
/* GET /v1/events: the event log (store/ "events"), paged by id or followed as Server-Sent Events. */
#include <stdio.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/api.h"
#include "common/util.h"

#define EVENTS_LIMIT_MAX 1000
/* A stream reads the store this many events at a time, so a far-behind client (up to the
 * 10,000 kept) never has its whole backlog in memory; the stream's buffer bounds it further. */
#define EVENTS_STREAM_PAGE 100

/* One event as the API shows it, in a page and in a stream's data: line alike. */
static json_t *event_to_json(const struct zero_event_row *row) {
        json_t *data = json_loads(row->data ? row->data : "{}", 0, NULL);
        return json_pack("{s:I,s:o,s:s,s:s?,s:o,s:s?}", "id", (json_int_t) row->id, "time", zero_time_json(row->time),
                         "type", row->type, "instance", row->instance, "data", data ? data : json_object(), "actor",
                         row->actor);
}

struct events_follow {
        struct zero_agent *agent;
        int64_t after;  /* the last event sent (or skipped by the filter) */
        char *instance; /* only this instance's events, or NULL for all */
};

static void events_follow_free(void *userdata) {
        struct events_follow *f = userdata;
        if (!f)
                return;
        free(f->instance);
        free(f);
}

/* Appends the frames of the next page: "id: N\nevent: TYPE\ndata: JSON\n\n". JSON_COMPACT
 * escapes newlines inside strings, so data: is always one line. */
static int events_fill(struct zero_stream *s, void *userdata) {
        struct events_follow *f = userdata;
        struct zero_event_row *rows = NULL;
        bool more;
        size_t n = 0, i;
        int r;

        r = zero_store_event_list(f->agent->store, f->after, EVENTS_STREAM_PAGE, &rows, &n);
        if (r < 0)
                return r;
        more = n == EVENTS_STREAM_PAGE;
        for (i = 0; i < n; i++) {
                _cleanup_free_ char *json = NULL, *frame = NULL;
                json_t *o;

                if (f->instance && (!rows[i].instance || !streq(rows[i].instance, f->instance))) {
                        f->after = rows[i].id;
                        continue;
                }
                o = event_to_json(&rows[i]);
                json = o ? json_dumps(o, JSON_COMPACT) : NULL;
                json_decref(o);
                if (!json) {
                        r = -ENOMEM;
                        break;
                }
                frame = zero_strdup_printf("id: %lld\nevent: %s\ndata: %s\n\n", (long long) rows[i].id, rows[i].type, json);
                if (!frame) {
                        r = -ENOMEM;
                        break;
                }
                r = zero_stream_write(s, frame, strlen(frame));
                if (r == -ENOBUFS) { /* the buffer is full: this event goes with the next fill */
                        more = true;
                        r = 0;
                        break;
                }
                if (r < 0)
                        break;
                f->after = rows[i].id;
        }
        zero_event_rows_free(rows, n);
        return r < 0 ? r : more;
}

static bool wants_stream(struct zero_request *req) {
        const char *accept = zero_request_header(req, "Accept"), *q = zero_request_query(req, "stream");

        if (q)
                return streq(q, "1") || streq(q, "true");
        return accept && strstr(accept, "text/event-stream");
}

/* GET /v1/events?after=ID&limit=N: the event log, oldest first; "next" is the after= that
 * continues where this page ends. ?last=N instead of after=: the newest N, oldest first (what
 * just happened: zeroctl events), "next" as for a page. With Accept: text/event-stream or stream=1: every event after
 * ID (or the Last-Event-ID header), then each new one as it is recorded, as Server-Sent Events;
 * instance=NAME keeps only that instance's. */
void zero_api_list_events(struct zero_request *req) {
        struct zero_agent *a = zero_request_agent(req);
        const char *q_after = zero_request_query(req, "after"), *q_limit = zero_request_query(req, "limit"),
                   *q_last = zero_request_query(req, "last");
        struct zero_event_row *rows = NULL;
        int64_t after = 0, limit = 100, newest = 0;
        size_t n = 0;
        json_t *arr;
        int r;

        if (q_after && zero_parse_int64(q_after, 0, INT64_MAX, &after) < 0)
                return zero_reply_error(req, 422, "invalid", "after: expected an event id (0 or more)");
        if (q_limit && zero_parse_int64(q_limit, 1, EVENTS_LIMIT_MAX, &limit) < 0)
                return zero_reply_error(req, 422, "invalid", "limit: expected 1..%d", EVENTS_LIMIT_MAX);
        if (q_last && zero_parse_int64(q_last, 1, EVENTS_LIMIT_MAX, &newest) < 0)
                return zero_reply_error(req, 422, "invalid", "last: expected 1..%d", EVENTS_LIMIT_MAX);
        if (q_last && (q_after || q_limit || wants_stream(req)))
                return zero_reply_error(req, 422, "invalid", "last: the newest events are a page of their own: "
                                                              "not with after, limit or a stream");
        if (wants_stream(req)) {
                const char *last = zero_request_header(req, "Last-Event-ID"), *inst = zero_request_query(req, "instance");
                struct events_follow *f;

                /* A reconnecting EventSource sends the last id it saw: that wins over the URL's after=. */
                if (last && zero_parse_int64(last, 0, INT64_MAX, &after) < 0)
                        return zero_reply_error(req, 422, "invalid", "Last-Event-ID: expected an event id (0 or more)");
                if (inst && !zero_name_is_valid(inst))
                        return zero_reply_error(req, 422, "invalid", "instance: not a valid instance name");
                f = calloc(1, sizeof(*f));
                if (!f || (inst && !(f->instance = strdup(inst)))) {
                        events_follow_free(f);
                        return zero_reply_error(req, 500, "internal", "out of memory");
                }
                f->agent = a;
                f->after = after;
                return zero_reply_stream(req, "text/event-stream", events_fill, events_follow_free, f);
        }
        r = newest > 0 ? zero_store_event_list_last(a->store, (size_t) newest, &rows, &n)
                       : zero_store_event_list(a->store, after, (size_t) limit, &rows, &n);
        if (r < 0)
                return zero_reply_error(req, 503, "busy", "cannot read events");
        arr = json_array();
        for (size_t i = 0; arr && i < n; i++) {
                json_array_append_new(arr, event_to_json(&rows[i]));
                after = rows[i].id;
        }
        zero_event_rows_free(rows, n);
        zero_reply_json(req, 200, json_pack("{s:o,s:I}", "events", arr ? arr : json_array(), "next", (json_int_t) after));
}
