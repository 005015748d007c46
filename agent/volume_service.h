/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The volume service: a volume's create, delete and changes, decided in the core (the HTTP front
 * parses and answers, api_card.c). A create or delete records an operation (volume_ops.c) with
 * the row's transitional state in one transaction and launches it; *ret_op as in
 * instance_service.h. Errors: ZERO_E_NOT_FOUND, ZERO_E_IN_USE (attached), ZERO_E_WRONG_STATE (not
 * ready), ZERO_E_CONFLICT (a name taken), ZERO_E_INVALID, ZERO_E_UNAVAILABLE, ZERO_E_INTERNAL, and
 * the card driver's own; nothing is changed then.
 */
#include <jansson.h>

#include "agent/agent.h"

/* The volume named name into row (released by the caller). */
int zero_volume_load(struct zero_agent *a, const char *name, struct zero_volume_row *row, struct zero_error *err);
/* A new volume from a create body (card_spec.h): blank, or a copy-on-write clone of an image. */
int zero_volume_create(struct zero_agent *a, json_t *body, struct zero_op **ret_op, struct zero_error *err);
/* A ready volume that no instance holds goes. */
int zero_volume_delete(struct zero_agent *a, const char *name, struct zero_op **ret_op, struct zero_error *err);
/* Applies row's new size (resize) or QoS to a ready volume, in the driver first, then in the store. */
int zero_volume_change(struct zero_agent *a, struct zero_volume_row *row, bool resize, int64_t new_size,
                       struct zero_error *err);
