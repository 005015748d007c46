/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The instance service: what may be done to an instance, decided in the core. Each call checks
 * what the request asks against the store (the instance exists, no operation is in progress on
 * it, the state table allows the verb, the node has room), records the operation with whatever
 * goes with it in one transaction, and launches it; the HTTP front only parses the request and
 * maps the result (api.c, api_attach.c).
 *
 * On success *ret_op is the operation, recorded and launched; it runs from a defer source, so it
 * stays valid until the loop runs again (long enough for the caller's answer). On failure
 * -errno and err: ZERO_E_NOT_FOUND (no such instance), ZERO_E_BUSY (an operation is in
 * progress on it), ZERO_E_WRONG_STATE (the verb is refused in its state), ZERO_E_OVER_CAPACITY
 * (the node has no room), ZERO_E_CONFLICT (a name taken; the node held against an exclusive mode,
 * node_owner.h), ZERO_E_INVALID, ZERO_E_UNAVAILABLE (the
 * store is busy), ZERO_E_INTERNAL; nothing is changed. params are always taken.
 */
#include <jansson.h>
#include <stdbool.h>

#include "agent/agent.h"

struct zero_card_plan;

/* A new instance from a create request's body: validated, admitted (the instance count, CPUs
 * and memory), with its card plan (root volume, data volumes, NICs). */
int zero_instance_create(struct zero_agent *a, json_t *body, struct zero_op **ret_op, struct zero_error *err);
/* start, stop, restart, delete (params: the kind's, e.g. timeout_s, force, delete_volumes). */
int zero_instance_act(struct zero_agent *a, const char *name, const char *kind, json_t *params,
                      struct zero_op **ret_op, struct zero_error *err);
/* Whether name may switch to mode at all (it exists, is not of that mode, and a plugin runs the
 * mode here): the checks of zero_instance_switch() that come before its parameters are read. */
int zero_instance_switch_check(struct zero_agent *a, const char *name, const char *mode, struct zero_error *err);
/* The same instance in another mode, with its volumes and NICs; running before, running after. */
int zero_instance_switch(struct zero_agent *a, const char *name, const char *mode, json_t *params,
                         struct zero_op **ret_op, struct zero_error *err);
/* A volume (body {"name", "path", "personality"}) or NIC (body {"network", "ip", "mac"}) added to
 * an instance; key: the volume's name or the NIC's id, to remove. A running instance whose plugin
 * cannot plug answers ZERO_E_WRONG_STATE. */
int zero_instance_attach(struct zero_agent *a, const char *name, bool volume, json_t *body, struct zero_op **ret_op,
                         struct zero_error *err);
int zero_instance_detach(struct zero_agent *a, const char *name, bool volume, const char *key,
                         struct zero_op **ret_op, struct zero_error *err);

/* The node's room for one more instance of row's size (the instance count, CPUs with the
 * overcommit, memory less what is reserved): ZERO_E_OVER_CAPACITY otherwise. */
int zero_instance_admit(struct zero_agent *a, const struct zero_instance_row *row, struct zero_error *err);
/* The instance named name into row (released by the caller); ZERO_E_NOT_FOUND, or the store's. */
int zero_instance_load(struct zero_agent *a, const char *name, struct zero_instance_row *row, struct zero_error *err);
/* Stores the new instance (if any), the plan (if any), the update (if any) and op in one
 * transaction, then launches op (zero_op_commit_and_launch). Takes op. */
int zero_instance_record_and_launch(struct zero_agent *a, struct zero_instance_row *new_row,
                                    struct zero_card_plan *plan, struct zero_instance_row *update_row,
                                    struct zero_op *op, struct zero_error *err);
