/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The volume service: a volume's create, delete and changes, decided in the core (the HTTP front
 * parses and answers, api_card.c). Each records an operation (card_ops.c), a create or delete with
 * the row's transitional state in one transaction, and launches it; *ret_op as in
 * instance_service.h. Errors: ZERO_E_NOT_FOUND, ZERO_E_IN_USE (attached), ZERO_E_WRONG_STATE (not
 * ready), ZERO_E_CONFLICT (a name taken), ZERO_E_INVALID, ZERO_E_UNAVAILABLE, ZERO_E_INTERNAL, and
 * the card driver's own; nothing is changed then.
 */
#include <jansson.h>

#include "agent/agent.h"

/* A volume's states, as the store keeps them (their names) and the API shows them. creating and
 * deleting are the journal of the card's work on it: a volume in one of them has a job to run
 * (card_job.h), asked for again at zerod's start. */
enum zero_vol_state {
        ZERO_VOL_CREATING, /* its row is in; the card makes it (a job) */
        ZERO_VOL_READY,
        ZERO_VOL_DELETING, /* the card removes it (a job), then its row goes */
        _ZERO_VOL_STATE_MAX,
        _ZERO_VOL_STATE_INVALID = -EINVAL,
};
const char *zero_vol_state_name(enum zero_vol_state s);
enum zero_vol_state zero_vol_state_from_name(const char *s);
static inline enum zero_vol_state zero_vol_state_of(const struct zero_volume_row *row) {
        return zero_vol_state_from_name(row->state);
}
/* A volume in state s has a job to run (creating, deleting). */
bool zero_vol_state_has_job(enum zero_vol_state s);
/* Puts state s (its name) and the time into row, not the store; -ENOMEM. */
int zero_vol_set_state(struct zero_volume_row *row, enum zero_vol_state s);

/* The volume named name into row (released by the caller). */
int zero_volume_load(struct zero_agent *a, const char *name, struct zero_volume_row *row, struct zero_error *err);
/* A new volume from a create body (card_spec.h): blank, or a copy-on-write clone of an image. */
int zero_volume_create(struct zero_agent *a, json_t *body, struct zero_op **ret_op, struct zero_error *err);
/* A ready volume that no instance holds goes. */
int zero_volume_delete(struct zero_agent *a, const char *name, struct zero_op **ret_op, struct zero_error *err);
/* A ready volume grows to size bytes (ZERO_E_INVALID for a smaller size or one the card cannot
 * hold), or takes new QoS limits (iops, bps; < 0: that one as it is): an operation (volume_resize,
 * volume_qos: card_ops.c) whose card job changes the card first, then the row. */
int zero_volume_resize(struct zero_agent *a, const char *name, int64_t size, struct zero_op **ret_op,
                       struct zero_error *err);
int zero_volume_set_qos(struct zero_agent *a, const char *name, int64_t iops, int64_t bps, struct zero_op **ret_op,
                        struct zero_error *err);
