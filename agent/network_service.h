/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The network service: a network's create and delete, decided in the core (the HTTP front parses
 * and answers, api_card.c). Each records an operation (network_create, network_delete: card_ops.c)
 * with the row's transitional state in one transaction and launches it; its one step waits for
 * the card's job on the network (card_job.h), after which the row follows: a network made is
 * ready and shows the driver's name for it, one removed is gone, one the card refused is gone
 * too (with what the card made of it), one the card could not remove is ready again.
 *
 * A crash leaves the row creating or deleting and the operation at its step: the next zerod's
 * sync keeps the bridges of networks creating (and removes those of networks deleting), then the
 * operation resumes and asks for the same job, which the card does again (idempotent) or finds
 * done. *ret_op as in instance_service.h. Errors: ZERO_E_NOT_FOUND, ZERO_E_IN_USE (NICs on it),
 * ZERO_E_WRONG_STATE (not ready), ZERO_E_CONFLICT (a name or subnet taken), ZERO_E_INVALID,
 * ZERO_E_UNAVAILABLE, ZERO_E_INTERNAL; nothing is changed then.
 */
#include <jansson.h>

#include "agent/agent.h"

enum zero_net_state {
        ZERO_NET_CREATING, /* its row is in; the card makes it (a job) */
        ZERO_NET_READY,
        ZERO_NET_DELETING, /* the card removes it (a job), then its row goes */
        _ZERO_NET_STATE_MAX,
        _ZERO_NET_STATE_INVALID = -EINVAL,
};
const char *zero_net_state_name(enum zero_net_state s);
/* A row's state; a row without one (written before schema v8) is ready. */
enum zero_net_state zero_net_state_of(const struct zero_network_row *row);

/* The network named name into row (released by the caller). */
int zero_network_load(struct zero_agent *a, const char *name, struct zero_network_row *row, struct zero_error *err);
/* A new network from a create body (card_spec.h). */
int zero_network_create(struct zero_agent *a, json_t *body, struct zero_op **ret_op, struct zero_error *err);
/* A ready network without NICs goes. */
int zero_network_delete(struct zero_agent *a, const char *name, struct zero_op **ret_op, struct zero_error *err);
