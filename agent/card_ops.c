/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The operations on the card's own objects, each one step that waits for the card's job on its
 * volume or network (card_job.h); the services record them (volume_service.h, network_service.h).
 *  - volume_create, volume_delete: POST /v1/volumes and DELETE /v1/volumes/{name} answer 202.
 *    Making a 16 TiB blank volume takes the softcard a second and more (mkfs.ext4), deleting it
 *    half a second (the unlink): never on the loop, and never lost to a crash, since the volume's
 *    state (creating, deleting) says what is left to do and the step only waits for it.
 *  - volume_resize, volume_qos: the new size or limits are the operation's params, the row takes
 *    them when the card is done; a crash runs the step again, and the card's op again (it is
 *    idempotent), or finds it done.
 *  - network_create, network_delete: like a volume's create and delete (network_service.h).
 * The last four answer their request once they ended (api_card.c), with what it answered when
 * the card's ops were synchronous; each shows in /v1/operations like any other.
 */
#include <string.h>

#include "agent/card.h"
#include "agent/card_job.h"
#include "agent/operation.h"
#include "agent/volume_service.h"
#include "common/log.h"
#include "common/util.h"

/* The operation's one job: on its volume or network, what its kind and params say. */
static int step_card(struct zero_op *op) {
        const char *volume = zero_op_volume(op), *network = zero_op_network(op);
        struct zero_card_job_req q = {.kind = ZERO_CARD_JOB_VOLUME, .object = volume};
        json_t *p = op->params;

        if (network)
                q = (struct zero_card_job_req){.kind = ZERO_CARD_JOB_NETWORK, .object = network};
        else if (streq(op->kind->name, "volume_resize"))
                q = (struct zero_card_job_req){.kind = ZERO_CARD_JOB_RESIZE, .object = volume,
                                               .size = json_integer_value(json_object_get(p, "size_bytes"))};
        else if (streq(op->kind->name, "volume_qos"))
                q = (struct zero_card_job_req){.kind = ZERO_CARD_JOB_QOS, .object = volume,
                                               .iops = json_integer_value(json_object_get(p, "iops")),
                                               .bps = json_integer_value(json_object_get(p, "bps"))};
        if (!q.object)
                return zero_error_set(&op->err, -EINVAL, ZERO_E_INTERNAL, "a %s operation without its object",
                                      op->kind->name);
        return zero_op_wait_card(op, &q, 1, ZERO_OP_THEN_DONE);
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
                (void) zero_card_job(op->agent, &(struct zero_card_job_req){.kind = ZERO_CARD_JOB_VOLUME, .object = name},
                                     NULL, NULL, &ignore);
        zero_volume_row_done(&row);
}

/* A volume that could not be removed stays deleting: the next zerod tries again. */
static void fail_delete(struct zero_op *op) {
        log_warning("Volume %s stays deleting: %s", strempty(zero_op_volume(op)), op->err.message);
}

/* A change the card refused leaves the row as it was (driver first, then the row); a network the
 * card could not make or remove was put back by its job (network_service.h). */
static void fail_unchanged(struct zero_op *op) {
        log_warning("%s of %s failed: %s; nothing changed", op->kind->name,
                    strempty(zero_op_volume(op) ? zero_op_volume(op) : zero_op_network(op)), op->err.message);
}

static const struct zero_op_step make_steps[] = {{"make", step_card, NULL}};
static const struct zero_op_step remove_steps[] = {{"remove", step_card, NULL}};
static const struct zero_op_step resize_steps[] = {{"resize", step_card, NULL}};
static const struct zero_op_step qos_steps[] = {{"qos", step_card, NULL}};

const struct zero_op_kind zero_op_kind_volume_create = ZERO_OP_KIND("volume_create", make_steps, fail_create);
const struct zero_op_kind zero_op_kind_volume_delete = ZERO_OP_KIND("volume_delete", remove_steps, fail_delete);
const struct zero_op_kind zero_op_kind_volume_resize = ZERO_OP_KIND("volume_resize", resize_steps, fail_unchanged);
const struct zero_op_kind zero_op_kind_volume_qos = ZERO_OP_KIND("volume_qos", qos_steps, fail_unchanged);
const struct zero_op_kind zero_op_kind_network_create = ZERO_OP_KIND("network_create", make_steps, fail_unchanged);
const struct zero_op_kind zero_op_kind_network_delete = ZERO_OP_KIND("network_delete", remove_steps, fail_unchanged);
