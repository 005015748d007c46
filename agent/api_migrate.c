/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Live migration's routes (migration.h) and the cancel of an operation:
 *   POST   /v1/instances/{name}/migrate        the source: 202 and the migrate operation
 *   POST   /v1/migrations                      the target, asked by the source agent: 202 and the
 *                                              migrate_in operation
 *   POST   /v1/migrations/{id}/switchover      the target, asked by the source once its guest is
 *                                              paused and its volumes released: answered once the
 *                                              target's card took them (200), or the operation failed
 *   DELETE /v1/operations/{id}                 cancels an operation whose kind allows it now
 */
#include <string.h>

#include "agent/api.h"
#include "agent/migration.h"
#include "agent/operation.h"
#include "common/util.h"

/* How long the source's switchover request may wait for the target's card. */
#define SWITCHOVER_WAIT_USEC (60ULL * 1000000ULL)

void zero_api_migrate_instance(struct zero_request *req) {
        json_t *body = zero_api_require_body(req, "{\"target\": URL}");
        struct zero_error err = {};
        struct zero_op *op = NULL;
        int r;

        if (!body)
                return;
        r = zero_instance_migrate(zero_request_agent(req), zero_request_param(req, 0), body, &op, &err);
        (void) zero_api_reply_op(req, r, op, &err);
}

void zero_api_post_migration(struct zero_request *req) {
        zero_api_post_op(req, zero_migration_incoming);
}

static void reply_switchover(struct zero_request *req, const char *id) {
        struct zero_agent *a = zero_request_agent(req);
        struct zero_operation_row row = {};
        struct zero_error err = {};
        int r = zero_store_operation_get(a->store, id, &row);

        if (r < 0)
                zero_api_store_error(req, r, "reading the operation");
        else if (zero_op_status_from_name(row.status) == ZERO_OP_FAILED ||
                 (zero_op_status_from_name(row.status) == ZERO_OP_RUNNING && !zero_op_row_reached(&row, "receive"))) {
                /* Failed, or undoing (its step is an undo step, which "reached" counts as the end). */
                err.code = row.error_code ? zero_errc_from_name(row.error_code) : ZERO_E_RUNTIME;
                snprintf(err.message, sizeof(err.message), "the incoming migration failed: %s",
                         row.error_message ? row.error_message : "it is being undone");
                zero_reply_zero_error(req, -EIO, &err);
        } else
                zero_reply_json(req, 200, zero_op_row_to_json(&row));
        zero_operation_row_done(&row);
}

/* Woken when the operation reached its step receive (the card took the volumes) or ended. */
static void on_switchover_wake(struct zero_request *req, bool timed_out, const void *userdata) {
        const char *id = zero_request_param(req, 0);
        struct zero_operation_row row = {};
        bool taken = zero_store_operation_get(zero_request_agent(req)->store, id, &row) >= 0 && zero_migration_taken(&row);

        zero_operation_row_done(&row);
        if (timed_out && !taken)
                return zero_reply_error(req, 504, "timeout", "the target's card did not take the volumes in time");
        reply_switchover(req, id);
}

void zero_api_migration_switchover(struct zero_request *req) {
        struct zero_agent *a = zero_request_agent(req);
        const char *id = zero_request_param(req, 0);
        struct zero_operation_row row = {};
        struct zero_error err = {};
        int r = zero_migration_switchover(a, id, &err);

        if (r < 0)
                return zero_reply_zero_error(req, r, &err);
        r = zero_store_operation_get(a->store, id, &row);
        if (r >= 0 && !zero_migration_taken(&row)) {
                zero_operation_row_done(&row);
                char key[ZERO_OP_WAKE_KEY_MAX];

                /* the key of a long-poll for its step (operation.h) */
                snprintf(key, sizeof(key), "%s@%s", id, ZERO_MIGRATION_TAKEN_STEP);
                r = zero_request_suspend(req, key, SWITCHOVER_WAIT_USEC, on_switchover_wake, NULL);
                if (r >= 0)
                        return;
                return zero_reply_error(req, 503, "busy", "too many requests are waiting: retry");
        }
        zero_operation_row_done(&row);
        reply_switchover(req, id);
}

void zero_api_cancel_operation(struct zero_request *req) {
        struct zero_agent *a = zero_request_agent(req);
        const char *id = zero_request_param(req, 0);
        struct zero_error err = {};
        int r = zero_op_cancel(a, id, &err);

        if (r < 0)
                return zero_reply_zero_error(req, r, &err);
        /* It fails and undoes from the loop: 202 as it stands, its Location long-polls to the end. */
        struct zero_operation_row row = {};
        char loc[64];

        r = zero_store_operation_get(a->store, id, &row);
        if (r < 0)
                return zero_api_store_error(req, r, "reading the operation");
        snprintf(loc, sizeof(loc), "/v1/operations/%s", id);
        zero_reply_json(req, 202, zero_op_row_to_json(&row));
        zero_reply_header(req, "Location", loc);
        zero_operation_row_done(&row);
}
