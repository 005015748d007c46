/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The event log: every event is appended to the store (trimmed to the newest EVENTS_KEEP, and the
 * finished operations with it to the newest OPERATIONS_KEEP), and published to the core's
 * subscribers (the HTTP front's event streams send it).
 */
#include <stdlib.h>

#include "agent/agent.h"
#include "common/log.h"

#define EVENTS_KEEP 10000
#define EVENTS_TRIM_EVERY 1000
/* Finished operations kept (GET /v1/operations/{id} of an older one is 404); trimmed with the
 * events, which every operation appends several of. */
#define OPERATIONS_KEEP 10000

void zero_agent_event(struct zero_agent *a, const char *type, const char *instance, json_t *data) {
        char *s = data ? json_dumps(data, JSON_COMPACT) : NULL;
        int r;

        json_decref(data);
        r = zero_store_event_append(a->store, type, instance, s ? s : "{}", a->actor, NULL);
        free(s);
        if (r < 0)
                log_warning_errno(r, "Failed to record event %s: %m", type);
        else
                zero_publish(a, ZERO_TOPIC_EVENT_APPENDED, type); /* GET /v1/events streams send it */
        if (++a->events_since_trim >= EVENTS_TRIM_EVERY) {
                a->events_since_trim = 0;
                (void) zero_store_event_trim(a->store, EVENTS_KEEP);
                (void) zero_store_operation_trim(a->store, OPERATIONS_KEEP);
        }
}
