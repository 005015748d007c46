/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Who owns the node: an instance of an exclusive mode (zero_probe.exclusive, the bms plugin's)
 * needs the node to itself, so it is admitted only while no other instance holds the node, and
 * no other instance is admitted while one of it does. "Holds" is the state table's: an instance
 * that is not idle (instance_state.h: stopped and error hold nothing). Asked by the instance
 * service before it records a create, start, restart or a switch that runs the instance.
 */
#include <jansson.h>
#include <stdbool.h>

#include "agent/agent.h"

/* The longest list of holders a refusal names; more are counted ("and 3 more"). */
#define ZERO_NODE_OWNER_NAMED 8

/* Whether an instance of mode may run on the node now. self: the instance's id (it does not hold
 * the node against itself), NULL for a new one; name: its name, for the message. evict: the
 * request says "evict": "stop", so the instances that hold the node against an exclusive mode are
 * no refusal (the operation's evict step stops them); an exclusive owner still is. 0, or -EBUSY
 * with ZERO_E_CONFLICT naming what holds the node; the store's error. Changes nothing. */
int zero_node_owner_check(struct zero_agent *a, const char *self, const char *name, const char *mode, bool evict,
                          struct zero_error *err);

/* A request's "evict" (v: NULL when it has none) for an instance of mode: 0 and *ret whether to
 * evict, or ZERO_E_INVALID: a value other than "stop", or a mode that is not exclusive. */
int zero_node_owner_evict_param(struct zero_agent *a, const char *mode, json_t *v, bool *ret, struct zero_error *err);

/* The first step of create and start (instance_ops.c). Without "evict" in the operation's params
 * it passes. With it, every other instance that holds the node is stopped by a stop operation of
 * its own (recorded, journalled and resumed like any other; the instance's own operation, if it
 * has one, is waited for instead), and the step waits (ZERO_OP_WAIT_NODE, looked at again every
 * ZERO_NODE_EVICT_POLL_MS and when an operation ends) until none holds the node. It fails, and so
 * the operation, when an exclusive instance holds the node, when a stop cannot be recorded, or
 * when an instance it stopped holds the node again without an operation (its stop failed). Each
 * stop it starts is kept in its params ("evicted": [{"instance", "operation"}], with its row).
 * Idempotent: run again after a crash, it finds the stops it recorded running or ended. */
#define ZERO_NODE_EVICT_POLL_MS 100
struct zero_op;
int zero_node_owner_evict_step(struct zero_op *op);
