/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * What the steps of an instance's operations share (instance_ops.c), for the kinds written in
 * other files (a live migration's, migrate_ops.c and migrate_in_ops.c): the context a step loads
 * fresh from the store, and the steps several kinds run as they are.
 */
#include "agent/agent.h"
#include "agent/operation.h"

/* Everything a step needs, loaded fresh from the store. */
struct zero_step_ctx {
        struct zero_instance_row row;
        struct zero_inst *inst;
        const struct zero_plugin *plugin;
        struct zero_info_holder info; /* info.incoming: the operation's params say "incoming" */
        struct zero_plugin_ctx *pctx;
};

/* -errno with op->err: the instance is gone (ZERO_E_NOT_FOUND, -ENOENT), no plugin runs its mode. */
int zero_step_ctx_load(struct zero_op *op, struct zero_step_ctx *c);
void zero_step_ctx_done(struct zero_step_ctx *c);
/* Whether the instance's shim is there (its runtime runs): 0 and *ret, or the ctx's failure. A
 * gone instance is ignore_gone ? 0 with *ret false : -ENOENT. */
int zero_step_shim_alive(struct zero_op *op, bool ignore_gone, bool *ret);
/* The states the operation's steps record (instance_state.h): its kind's row of the table. */
const struct zero_inst_transition *zero_op_states(struct zero_op *op);
/* A plugin op's answer: ZERO_PLUGIN_PENDING becomes the wait for its done() (then: done, or the
 * op called again), anything else is returned. */
int zero_step_plugin_pending(struct zero_op *op, int r, enum zero_op_then then);

/* The steps of the same names (instance_ops.c): the card's part made and taken down, the
 * plugin's prepare and the shim's spawn (its report: a kind that runs it names the answer
 * "reported"), the stop (params timeout_s, force) and the cleanup. */
int zero_step_card_up(struct zero_op *op);
int zero_step_card_down(struct zero_op *op);
int zero_step_prepare(struct zero_op *op);
int zero_step_spawn(struct zero_op *op);
int zero_step_stop(struct zero_op *op);
int zero_step_cleanup(struct zero_op *op);
