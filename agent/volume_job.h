/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The card's slow work on one volume, off the event loop: a volume in state creating is made
 * by the driver and becomes ready; one in deleting is removed and its row goes. The state in
 * the store is the journal: whatever starts or resumes such a volume (a volume_create or
 * volume_delete operation, an instance's create or delete, zerod's start for what an older zerod
 * left) asks for its job here and waits; a job runs at most once per volume at a time, and
 * everyone waiting on it hears how it ended. The rows change here, when the driver is done
 * ("driver first, then the row"), whoever waits.
 *
 * A driver with the asynchronous ops (card.h) does the work in children watched on the loop; one
 * without them does it synchronously, and its answer still comes from the loop.
 */
#include "agent/agent.h"

/* A volume's states, as the store keeps them (their names) and the API shows them. */
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

/* How a job ended: r >= 0 done, else -errno with err. From the loop, never from inside the call
 * that asked. */
typedef void (*zero_volume_job_fn)(void *userdata, int r, const struct zero_error *err);

/* Waits for the job on volume name, starting it if none runs: a volume in creating or
 * deleting has one. done may be NULL (started, nobody waits). A volume in another state, or
 * gone, is done at once (r = 0, from the loop). -errno at once when the job cannot start. */
int zero_volume_job_wait(struct zero_agent *a, const char *name, zero_volume_job_fn done, void *userdata,
                         struct zero_error *err);
/* Nobody waits any more with this userdata (an operation that is freed). */
void zero_volume_jobs_forget(struct zero_agent *a, void *userdata);
/* Starts the jobs of every volume left creating or deleting (zerod's start). */
void zero_volume_jobs_resume(struct zero_agent *a);
/* Drops every job and waiter, calling nobody (zerod's exit, after the driver is closed). */
void zero_volume_jobs_free(struct zero_agent *a);
