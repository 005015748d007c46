/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Who owns the node: an instance of an exclusive mode (zero_probe.exclusive, the bms plugin's)
 * needs the node to itself, so it is admitted only while no other instance holds the node, and
 * no other instance is admitted while one of it does. "Holds" is the state table's: an instance
 * that is not idle (instance_state.h: stopped and error hold nothing). Asked by the instance
 * service before it records a create, start, restart or a switch that runs the instance.
 */
#include <stdbool.h>

#include "agent/agent.h"

/* The longest list of holders a refusal names; more are counted ("and 3 more"). */
#define ZERO_NODE_OWNER_NAMED 8

/* Whether an instance of mode may run on the node now. self: the instance's id (it does not hold
 * the node against itself), NULL for a new one; name: its name, for the message. 0, or -EBUSY
 * with ZERO_E_CONFLICT naming what holds the node; the store's error. Changes nothing. */
int zero_node_owner_check(struct zero_agent *a, const char *self, const char *name, const char *mode,
                          struct zero_error *err);
