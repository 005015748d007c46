/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * An instance's state machine: the states (one enum, with the names the store and the API spell),
 * what each state means to the rest of the agent, and one transition table that says, for every
 * operation kind on an instance, the states it may start from, the states its steps record and
 * where it ends. The API's 409s, the steps, the shim's exit handling, the node's mode and the
 * metrics all ask here; nothing else compares a state's name (the store keeps the names as text:
 * rows are converted here, at the edge).
 *
 * Pure: no store, no loop, no HTTP (tests/unit/test_instance_state.c).
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum zero_inst_state {
        ZERO_INST_CREATING,
        ZERO_INST_STARTING,
        ZERO_INST_RUNNING,
        ZERO_INST_PAUSED,
        ZERO_INST_STOPPING,
        ZERO_INST_SWITCHING,
        ZERO_INST_STOPPED,
        ZERO_INST_ERROR,
        ZERO_INST_DELETING,
        ZERO_INST_MIGRATING, /* live migration: the source's while its QEMU sends it away */
        ZERO_INST_INCOMING,  /* live migration: the target's while its QEMU receives it */
        _ZERO_INST_STATE_MAX,
        /* Not states: in the transition table, "the state stays as it is" and "the row is gone". */
        ZERO_INST_KEEP = _ZERO_INST_STATE_MAX,
        ZERO_INST_GONE,
        _ZERO_INST_STATE_INVALID = -EINVAL,
};

/* A set of states, for the table's "from" column. */
#define ZERO_INST_SET(s) (UINT32_C(1) << (s))
#define ZERO_INST_ANY ((UINT32_C(1) << _ZERO_INST_STATE_MAX) - 1)

/* The index of s among names[0..n), -EINVAL when absent: the name tables of the state enums
 * (instance, volume, operation) share it. */
int zero_state_index(const char *const *names, int n, const char *s);
static inline const char *zero_state_name_at(const char *const *names, int n, int i) {
        return i >= 0 && i < n ? names[i] : NULL;
}

/* "running", ...; NULL for what is not a state. */
const char *zero_inst_state_name(enum zero_inst_state s);
/* The state named s; _ZERO_INST_STATE_INVALID for NULL or a name this zerod does not know. */
enum zero_inst_state zero_inst_state_from_name(const char *s);

/* What a state means (false for an invalid one): */
/* the runtime runs and no operation is changing that: running, paused */
bool zero_inst_state_live(enum zero_inst_state s);
/* it holds no runtime and none of the node's CPUs and memory: stopped, error */
bool zero_inst_state_idle(enum zero_inst_state s);
/* an exit the shim reports outside an operation is the instance ending by itself: its plugin's
 * cleanup runs and it becomes stopped (error without an exit record): running, paused, stopping */
bool zero_inst_state_ends_by_exit(enum zero_inst_state s);
/* after zerod's start, a shim that is gone left an exit record to collect: the states above and
 * those of a start (creating, starting) */
bool zero_inst_state_expects_shim(enum zero_inst_state s);
/* The runtime may move it from `from` to `to` by itself (plugin's notify(): QEMU's STOP and
 * RESUME): only between running and paused; the other states belong to operations. */
bool zero_inst_state_runtime_may_set(enum zero_inst_state from, enum zero_inst_state to);

/* One operation kind's transitions. ZERO_INST_KEEP in a column: that point changes nothing. */
struct zero_inst_transition {
        const char *kind;
        uint32_t from;                    /* the states it may start from (0: it makes the instance) */
        enum zero_inst_state accepted;    /* recorded with the operation, in its transaction */
        enum zero_inst_state stopping;    /* while its stop step waits for the exit */
        enum zero_inst_state stopped;     /* once its cleanup step undid the runtime */
        enum zero_inst_state starting;    /* from its prepare step on */
        enum zero_inst_state done;        /* success, the runtime runs */
        enum zero_inst_state done_exited; /* success, no runtime (it ended already, or was not to start) */
        enum zero_inst_state failed;      /* failure, no runtime left */
        enum zero_inst_state failed_live; /* failure, the runtime runs on */
};

/* The kind's row; NULL for a kind that is not an instance's (import, volume_create, ...). */
const struct zero_inst_transition *zero_inst_transition_find(const char *kind);
/* Every row, for tests and docs. */
const struct zero_inst_transition *zero_inst_transitions(unsigned *ret_n);
/* May kind start from state s? */
bool zero_inst_transition_allows(const struct zero_inst_transition *t, enum zero_inst_state s);
/* Where an operation of t ends: ok or failed, with the runtime running or not. */
enum zero_inst_state zero_inst_transition_end(const struct zero_inst_transition *t, bool ok, bool live);
