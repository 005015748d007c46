/* SPDX-License-Identifier: Apache-2.0 */
/* The lab driver's ops: steps on zerod's loop, answered exactly once (lab.h). */
#include <stdio.h>
#include <string.h>

#include "common/subprocess.h"
#include "common/util.h"
#include "io/lab/lab.h"

struct lab_op *lab_op_new(struct zero_card *card) {
        struct lab_op *op = calloc(1, sizeof(*op));

        if (op)
                op->card = card;
        return op;
}

static void op_free(struct lab_op *op) {
        for (struct lab_op **p = &op->card->ops; *p; p = &(*p)->next)
                if (*p == op) {
                        *p = op->next;
                        break;
                }
        op->req = lab_request_cancel(op->req);
        op->child = zero_subprocess_free(op->child);
        op->timer = sd_event_source_disable_unref(op->timer);
        op->defer = sd_event_source_disable_unref(op->defer);
        json_decref(op->body);
        free(op);
}

static void op_end(struct lab_op *op, int r) {
        zero_card_done_fn done = op->done;
        void *userdata = op->userdata;
        struct zero_card_result res = r >= 0 ? op->res : (struct zero_card_result){};
        struct zero_error err = op->err;

        if (r < 0)
                (void) zero_error_default(&err, r, "the lab's card");
        op_free(op);
        done(userdata, r, &res, &err);
}

static void op_run(struct lab_op *op) {
        while (op->steps[op->step]) {
                int r = op->steps[op->step](op);
                if (r == 0)
                        return;
                if (r < 0)
                        return op_end(op, r);
                op->step++;
        }
        op_end(op, 0);
}

static int on_defer(sd_event_source *s, void *userdata) {
        struct lab_op *op = userdata;

        op->defer = sd_event_source_disable_unref(op->defer);
        op_run(op);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct lab_op *op = userdata;

        op->timer = sd_event_source_disable_unref(op->timer);
        op_run(op);
        return 0;
}

int lab_op_start(struct zero_card *card, struct lab_op *op, const lab_step_fn *steps, zero_card_done_fn done,
                 void *userdata, struct zero_error *err) {
        int r;

        if (!done) {
                op_free(op);
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL, "lab: an op without done");
        }
        op->steps = steps;
        op->done = done;
        op->userdata = userdata;
        op->next = card->ops;
        card->ops = op;
        r = sd_event_add_defer(card->event, &op->defer, on_defer, op);
        if (r < 0) {
                op_free(op);
                return zero_error_default(err, r, "lab: cannot schedule the op");
        }
        return 0;
}

void lab_op_next(struct lab_op *op, int r, const struct zero_error *err) {
        if (r < 0) {
                if (err)
                        op->err = *err;
                return op_end(op, r);
        }
        op->step++;
        if (!op->defer && sd_event_add_defer(op->card->event, &op->defer, on_defer, op) < 0)
                op_end(op, zero_error_set(&op->err, -ENOMEM, ZERO_E_INTERNAL, "lab: out of memory"));
}

void lab_op_again(struct lab_op *op, uint64_t usec) {
        if (!op->timer &&
            sd_event_add_time_relative(op->card->event, &op->timer, CLOCK_MONOTONIC, usec, 1000, on_timer, op) < 0)
                op_end(op, zero_error_set(&op->err, -ENOMEM, ZERO_E_INTERNAL, "lab: out of memory"));
}

void lab_ops_drop(struct zero_card *card) {
        while (card->ops)
                op_free(card->ops);
}

static void on_answer(void *userdata, int r, long status, json_t *body, const struct zero_error *err) {
        struct lab_op *op = userdata;

        op->req = NULL; /* gone with its answer */
        if (r == -ENOENT && op->ok_if_missing)
                r = 0;
        /* What the card names it (a network's bridge), for display. */
        if (r >= 0 && json_is_string(json_object_get(body, "bridge")))
                snprintf(op->res.text, sizeof(op->res.text), "%s", json_string_value(json_object_get(body, "bridge")));
        lab_op_next(op, r, err);
}

int lab_op_send(struct lab_op *op, const char *method, const char *suffix, uint64_t timeout_usec) {
        _cleanup_free_ char *path = zero_strdup_printf("%s%s", op->path, strempty(suffix));
        int r;

        if (!path)
                return -ENOMEM;
        r = lab_client_request(op->card->client, method, path, json_incref(op->body), NULL, timeout_usec, on_answer, op,
                               &op->req);
        if (r < 0)
                return zero_error_set(&op->err, r, ZERO_E_INTERNAL, "lab: cannot ask the card: %s", strerror(-r));
        return 0;
}
