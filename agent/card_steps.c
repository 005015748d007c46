/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Steps that wait for the card's jobs (card_job.h). The step asks for its jobs and pauses
 * (ZERO_OP_WAIT_CARD); the engine goes on when the last has ended, or fails the operation with
 * the first failure. A step run again after a crash asks for the same jobs again: each is one
 * idempotent driver op, and the rows say what the card did before the crash.
 */
#include <string.h>

#include "agent/card_job.h"
#include "agent/operation.h"
#include "common/log.h"
#include "common/util.h"

static void on_card_done(void *userdata, int r, const struct zero_error *err) {
        struct zero_op *op = userdata;

        if (r < 0 && op->card_r >= 0) {
                op->card_r = r;
                op->err = err ? *err : (struct zero_error){};
        }
        if (--op->card_pending == 0)
                zero_op_continue(op, op->card_r);
}

int zero_op_wait_card(struct zero_op *op, const struct zero_card_job_req *reqs, size_t n, enum zero_op_then then) {
        op->card_pending = 0;
        op->card_r = 0;
        for (size_t i = 0; i < n; i++) {
                /* Answers come from the loop only: counting as we go is safe. */
                int r = zero_card_job(op->agent, &reqs[i], on_card_done, op, &op->err);
                if (r < 0) {
                        zero_card_jobs_forget(op->agent, op);
                        op->card_pending = 0;
                        return r;
                }
                op->card_pending++;
        }
        return op->card_pending > 0 ? zero_op_wait(op, ZERO_OP_WAIT_CARD, then) : 0;
}
