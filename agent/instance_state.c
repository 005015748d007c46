/* SPDX-License-Identifier: Apache-2.0 */
/* An instance's states and the one transition table (instance_state.h). */
#include "agent/instance_state.h"

#include <string.h>

#include "common/util.h"

#define LIVE (ZERO_INST_SET(ZERO_INST_RUNNING) | ZERO_INST_SET(ZERO_INST_PAUSED))
#define IDLE (ZERO_INST_SET(ZERO_INST_STOPPED) | ZERO_INST_SET(ZERO_INST_ERROR))
#define ENDS_BY_EXIT (LIVE | ZERO_INST_SET(ZERO_INST_STOPPING))
#define EXPECTS_SHIM (ENDS_BY_EXIT | ZERO_INST_SET(ZERO_INST_STARTING) | ZERO_INST_SET(ZERO_INST_CREATING))

/* The names as the store keeps them and the API shows them; the order is the metrics'. */
static const char *const state_names[_ZERO_INST_STATE_MAX] = {
        [ZERO_INST_CREATING] = "creating", [ZERO_INST_STARTING] = "starting",   [ZERO_INST_RUNNING] = "running",
        [ZERO_INST_PAUSED] = "paused",     [ZERO_INST_STOPPING] = "stopping",   [ZERO_INST_SWITCHING] = "switching",
        [ZERO_INST_STOPPED] = "stopped",   [ZERO_INST_ERROR] = "error",         [ZERO_INST_DELETING] = "deleting",
        [ZERO_INST_MIGRATING] = "migrating", [ZERO_INST_INCOMING] = "incoming",
};

int zero_state_index(const char *const *names, int n, const char *s) {
        for (int i = 0; s && i < n; i++)
                if (names[i] && streq(s, names[i]))
                        return i;
        return -EINVAL;
}

const char *zero_inst_state_name(enum zero_inst_state s) {
        return zero_state_name_at(state_names, _ZERO_INST_STATE_MAX, s);
}

enum zero_inst_state zero_inst_state_from_name(const char *s) {
        return (enum zero_inst_state) zero_state_index(state_names, _ZERO_INST_STATE_MAX, s);
}

static bool in(enum zero_inst_state s, uint32_t set) {
        return s >= 0 && s < _ZERO_INST_STATE_MAX && (set & ZERO_INST_SET(s));
}

bool zero_inst_state_live(enum zero_inst_state s) {
        return in(s, LIVE);
}

bool zero_inst_state_idle(enum zero_inst_state s) {
        return in(s, IDLE);
}

bool zero_inst_state_ends_by_exit(enum zero_inst_state s) {
        return in(s, ENDS_BY_EXIT);
}

bool zero_inst_state_expects_shim(enum zero_inst_state s) {
        return in(s, EXPECTS_SHIM);
}

bool zero_inst_state_runtime_may_set(enum zero_inst_state from, enum zero_inst_state to) {
        return in(from, LIVE) && in(to, LIVE) && from != to;
}

#define K ZERO_INST_KEEP
#define CREATING ZERO_INST_CREATING
#define STARTING ZERO_INST_STARTING
#define RUNNING ZERO_INST_RUNNING
#define STOPPING ZERO_INST_STOPPING
#define SWITCHING ZERO_INST_SWITCHING
#define STOPPED ZERO_INST_STOPPED
#define ERROR ZERO_INST_ERROR
#define DELETING ZERO_INST_DELETING
#define MIGRATING ZERO_INST_MIGRATING
#define INCOMING ZERO_INST_INCOMING
#define GONE ZERO_INST_GONE

/*
 * The table. A start that fails kills what it started: its failure is error either way. A stop
 * or delete that fails leaves a runtime that still runs running. A switch that fails leaves the
 * instance in its old mode: running if the old runtime never stopped, else stopped (and started
 * again there, instance_ops.c). attach and detach change the instance's set of volumes and NICs,
 * never its state. delete takes every state: it is how an instance stuck anywhere goes.
 * migrate (the source) and migrate_in (the target) are one live migration's two halves
 * (migrate_ops.c, migrate_in_ops.c): on the source a running instance is migrating until the
 * target took it, then its row goes; a migration that failed resumes it there (running), or finds
 * its QEMU gone (error). The target's row is made incoming and is running once the guest runs
 * there; a migration that failed there takes the row away again, whatever ran.
 */
static const struct zero_inst_transition table[] = {
        /* kind      from                  accepted   stopping  stopped  starting   done     done_exited failed failed_live */
        {"create",  0,                     CREATING,  K,        K,       CREATING,  RUNNING, STOPPED,    ERROR,   ERROR},
        {"start",   IDLE,                  K,         K,        K,       STARTING,  RUNNING, STOPPED,    ERROR,   ERROR},
        {"stop",    LIVE,                  K,         STOPPING, STOPPED, K,         STOPPED, STOPPED,    ERROR,   RUNNING},
        {"restart", LIVE | IDLE,           K,         STOPPING, STOPPED, STARTING,  RUNNING, STOPPED,    ERROR,   ERROR},
        {"delete",  ZERO_INST_ANY,         DELETING,  K,        K,       K,         GONE,    GONE,       ERROR,   RUNNING},
        {"switch",  LIVE | IDLE,           SWITCHING, K,        K,       SWITCHING, RUNNING, STOPPED,    STOPPED, RUNNING},
        {"attach",  LIVE | IDLE,           K,         K,        K,       K,         K,       K,          K,       K},
        {"detach",  LIVE | IDLE,           K,         K,        K,       K,         K,       K,          K,       K},
        {"migrate", ZERO_INST_SET(RUNNING), MIGRATING, K,       K,       K,         GONE,    GONE,       ERROR,   RUNNING},
        {"migrate_in", 0,                  INCOMING,  K,        K,       INCOMING,  RUNNING, STOPPED,    GONE,    GONE},
};

const struct zero_inst_transition *zero_inst_transition_find(const char *kind) {
        for (size_t i = 0; kind && i < ELEMENTSOF(table); i++)
                if (streq(table[i].kind, kind))
                        return &table[i];
        return NULL;
}

const struct zero_inst_transition *zero_inst_transitions(unsigned *ret_n) {
        *ret_n = ELEMENTSOF(table);
        return table;
}

bool zero_inst_transition_allows(const struct zero_inst_transition *t, enum zero_inst_state s) {
        /* A verb from any state takes also one this zerod does not know (a newer zerod's). */
        return t && (t->from == ZERO_INST_ANY || in(s, t->from));
}

enum zero_inst_state zero_inst_transition_end(const struct zero_inst_transition *t, bool ok, bool live) {
        return ok ? (live ? t->done : t->done_exited) : (live ? t->failed_live : t->failed);
}
