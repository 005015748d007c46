/* SPDX-License-Identifier: Apache-2.0 */
/* GET /v1/events: the event log (store/ "events"), paged by id. */
#include <string.h>

#include "agent/agent.h"
#include "agent/api.h"
#include "common/util.h"

#define EVENTS_LIMIT_MAX 1000

/* GET /v1/events?after=ID&limit=N: the event log, oldest first; "next" is the after= that
 * continues where this page ends. */
void zero_api_list_events(struct zero_request *req) {
        struct zero_agent *a = zero_request_agent(req);
        const char *q_after = zero_request_query(req, "after"), *q_limit = zero_request_query(req, "limit");
        struct zero_event_row *rows = NULL;
        int64_t after = 0, limit = 100;
        size_t n = 0;
        json_t *arr;

        if (q_after && zero_parse_int64(q_after, 0, INT64_MAX, &after) < 0)
                return zero_reply_error(req, 422, "invalid", "after: expected an event id (0 or more)");
        if (q_limit && zero_parse_int64(q_limit, 1, EVENTS_LIMIT_MAX, &limit) < 0)
                return zero_reply_error(req, 422, "invalid", "limit: expected 1..%d", EVENTS_LIMIT_MAX);
        if (zero_store_event_list(a->store, after, (size_t) limit, &rows, &n) < 0)
                return zero_reply_error(req, 503, "busy", "cannot read events");
        arr = json_array();
        for (size_t i = 0; arr && i < n; i++) {
                json_t *data = json_loads(rows[i].data ? rows[i].data : "{}", 0, NULL);
                json_array_append_new(arr, json_pack("{s:I,s:o,s:s,s:s?,s:o}", "id", (json_int_t) rows[i].id, "time",
                                                     zero_time_json(rows[i].time), "type", rows[i].type, "instance",
                                                     rows[i].instance, "data", data ? data : json_object()));
                after = rows[i].id;
        }
        zero_event_rows_free(rows, n);
        zero_reply_json(req, 200, json_pack("{s:o,s:I}", "events", arr ? arr : json_array(), "next", (json_int_t) after));
}
