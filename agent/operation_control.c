/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What an operation shows while it runs and how it is stopped from outside (operation.h): its
 * progress and result, whether it has come to a step (the long-polls that wait for one), and
 * its cancel (DELETE /v1/operations/{id}), which fails the step that waits and lets the kind's
 * undo steps run.
 */
#include <string.h>

#include "agent/operation.h"
#include "common/log.h"
#include "common/util.h"

struct zero_op *zero_op_find(struct zero_agent *a, const char *id) {
        for (struct zero_op *op = a->ops; op && id; op = op->next)
                if (streq(op->row.id, id))
                        return op;
        return NULL;
}

bool zero_op_row_reached(const struct zero_operation_row *row, const char *name) {
        const struct zero_op_kind *k = zero_op_kind_find(row->kind);
        size_t want = SIZE_MAX;

        if (!k || zero_op_status_from_name(row->status) != ZERO_OP_RUNNING)
                return true;
        for (size_t i = 0; i < k->n_steps; i++)
                if (streq(k->steps[i].name, name))
                        want = i;
        for (size_t i = 0; i < k->n_steps; i++)
                if (row->step_name && streq(k->steps[i].name, row->step_name))
                        return want != SIZE_MAX && i >= want;
        return true; /* an undo step: the forward steps will not come */
}

bool zero_op_kind_has_step(const char *kind, const char *name) {
        const struct zero_op_kind *k = zero_op_kind_find(kind);

        for (size_t i = 0; k && i < k->n_steps; i++)
                if (streq(k->steps[i].name, name))
                        return true;
        return false;
}

static int on_cancel(sd_event_source *s, void *userdata) {
        struct zero_op *op = userdata;

        op->cancel = sd_event_source_disable_unref(op->cancel);
        if (op->undoing)
                return 0; /* it failed meanwhile: its undo runs */
        if (op->wait == ZERO_OP_WAIT_NONE)
                return 0; /* between steps: the next one sees cancel_asked */
        zero_error_set(&op->err, -ECANCELED, ZERO_E_CANCELED, "canceled in step %s", op->row.step_name);
        zero_op_continue(op, -ECANCELED);
        return 0;
}

int zero_op_cancel(struct zero_agent *a, const char *id, struct zero_error *err) {
        struct zero_op *op = zero_op_find(a, id);
        struct zero_operation_row row = {};
        int r;

        if (!op) {
                r = zero_store_operation_get(a->store, id, &row);
                if (r == -ENOENT)
                        return zero_error_set(err, r, ZERO_E_NOT_FOUND, "no operation '%s'", id);
                if (r < 0)
                        return zero_error_store(err, r, "reading the operation");
                zero_error_set(err, -EALREADY, ZERO_E_WRONG_STATE, "operation %s (%s) has ended: %s", id, row.kind,
                               row.status);
                zero_operation_row_done(&row);
                return -EALREADY;
        }
        if (!op->kind->can_cancel || op->undoing || !op->kind->can_cancel(op))
                return zero_error_set(err, -EBUSY, ZERO_E_WRONG_STATE, "operation %s (%s) cannot be canceled %s", id,
                                      op->row.kind,
                                      op->kind->can_cancel && !op->undoing ? "any more: it is past its point of no return"
                                                                           : "");
        if (op->cancel_asked)
                return 0;
        op->cancel_asked = true;
        log_info("Operation %s %s of %s: canceled by %s", op->row.id, op->row.kind, strempty(op->row.instance_name),
                 strempty(a->actor));
        /* From the loop, not inside the caller (an HTTP handler): the undo steps run there. */
        r = sd_event_add_defer(a->event, &op->cancel, on_cancel, op);
        if (r < 0) {
                op->cancel_asked = false;
                return zero_error_set(err, r, ZERO_E_INTERNAL, "cannot cancel: %s", strerror(-r));
        }
        return 0;
}

void zero_op_set_progress(struct zero_op *op, json_t *progress) {
        json_decref(op->progress);
        op->progress = progress;
}

json_t *zero_op_progress_json(struct zero_agent *a, const char *id) {
        struct zero_op *op = zero_op_find(a, id);
        return op && op->progress ? json_incref(op->progress) : NULL;
}

int zero_op_set_result(struct zero_op *op, const char *key, json_t *value) {
        json_t *res = json_object_get(op->params, "result");

        if (!json_is_object(res)) {
                res = json_object();
                if (!res || json_object_set_new(op->params, "result", res) < 0) {
                        json_decref(value);
                        return -ENOMEM;
                }
        }
        if (json_object_set_new(res, key, value) < 0)
                return -ENOMEM;
        return zero_op_params_sync(op);
}
