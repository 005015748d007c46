/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Volume operations: POST /v1/volumes and DELETE /v1/volumes/{name} answer 202 with an
 * operation (api_card.c records it with the volume's row in one transaction), whose one step waits
 * for the card's job on the volume (volume_job.h). Making a 16 TiB blank volume takes the
 * softcard a second and more (mkfs.ext4), deleting it half a second (the unlink): never on the
 * loop, and never lost to a crash, since the volume's state (creating, deleting) says what is
 * left to do and the step only waits for it to be done.
 */
#include <string.h>

#include "agent/card.h"
#include "agent/operation.h"
#include "agent/volume_job.h"
#include "common/log.h"
#include "common/util.h"

static void on_volume_done(void *userdata, int r, const struct zero_error *err) {
        struct zero_op *op = userdata;

        if (r < 0 && op->volumes_r >= 0) {
                op->volumes_r = r;
                op->err = err ? *err : (struct zero_error){};
        }
        if (--op->volumes_pending == 0)
                zero_op_continue(op, op->volumes_r);
}

int zero_op_wait_volumes(struct zero_op *op, const char *const *names, size_t n) {
        op->volumes_pending = 0;
        op->volumes_r = 0;
        for (size_t i = 0; i < n; i++) {
                /* Answers come from the loop only: counting as we go is safe. */
                int r = zero_volume_job_wait(op->agent, names[i], on_volume_done, op, &op->err);
                if (r < 0) {
                        zero_volume_jobs_forget(op->agent, op);
                        op->volumes_pending = 0;
                        return r;
                }
                op->volumes_pending++;
        }
        return op->volumes_pending > 0 ? zero_op_wait(op, ZERO_OP_WAIT_VOLUMES, ZERO_OP_THEN_DONE) : 0;
}

/* The operation's volume is made (or removed) by the card: its state says which. */
static int step_card(struct zero_op *op) {
        const char *name = zero_op_volume(op);

        if (!name)
                return zero_error_set(&op->err, -EINVAL, ZERO_E_INTERNAL, "a volume operation without a volume");
        return zero_op_wait_volumes(op, &name, 1);
}

/* A volume that could not be made goes, with what was made of it: the operation's error says
 * why, and the name is free again. */
static void fail_create(struct zero_op *op) {
        const char *name = zero_op_volume(op);
        struct zero_volume_row row = {};
        struct zero_error ignore = {};

        if (name && zero_store_volume_get(op->agent->store, name, &row) >= 0 &&
            zero_vol_state_of(&row) == ZERO_VOL_CREATING && zero_vol_set_state(&row, ZERO_VOL_DELETING) >= 0 &&
            zero_store_volume_update(op->agent->store, &row) >= 0)
                (void) zero_volume_job_wait(op->agent, name, NULL, NULL, &ignore);
        zero_volume_row_done(&row);
}

/* A volume that could not be removed stays deleting: the next zerod tries again. */
static void fail_delete(struct zero_op *op) {
        log_warning("Volume %s stays deleting: %s", strempty(zero_op_volume(op)), op->err.message);
}

static const struct zero_op_step create_steps[] = {{"make", step_card, NULL}};
static const struct zero_op_step delete_steps[] = {{"remove", step_card, NULL}};

const struct zero_op_kind zero_op_kind_volume_create = {"volume_create", create_steps, ELEMENTSOF(create_steps),
                                                        fail_create};
const struct zero_op_kind zero_op_kind_volume_delete = {"volume_delete", delete_steps, ELEMENTSOF(delete_steps),
                                                        fail_delete};
