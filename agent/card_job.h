/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The card's jobs. Every change of the card is a job on one object: a volume (made, removed,
 * exported, unexported, resized, its QoS set), a NIC (attached, detached) or a network (made,
 * removed). Each job is one op of the driver (include/zero/card.h), whose answer comes from the
 * loop; nothing else calls the driver's ops that change the card.
 *
 * One job per object at a time. Jobs on one object run one after the other, in the order they
 * were asked for (an unexport and the next export of the same volume: never both at once), which
 * is what the driver relies on (it serializes nothing itself); jobs on different objects run side
 * by side. Whoever asks for the job that is the last one queued on its object already, the same
 * (two waits for the same export, a volume's state), joins it: everyone waiting hears how it
 * ended. The store's row changes here when the driver is done ("driver first, then the row"),
 * whoever waits, even nobody; so a step that waits for a job, and a step run again after a crash,
 * find the row as the card left it.
 *
 * The states in the store are the journal of the jobs that outlive a request: a volume or network
 * left creating or deleting gets its job again at zerod's start (zero_card_jobs_resume()); an
 * export, an attachment, a resize or a QoS change is journalled by the operation that waits for it,
 * whose step runs again after a crash and asks for the job again (every driver op is idempotent).
 *
 * The card's sync() (card.c) runs when no job runs: the jobs asked for meanwhile wait for it.
 */
#include <stdint.h>

#include "agent/agent.h"
#include "zero/card.h"

enum zero_card_job_kind {
        /* On a volume (object: its name). */
        ZERO_CARD_JOB_VOLUME, /* what its state says: creating -> made, ready; deleting -> removed, row gone */
        ZERO_CARD_JOB_EXPORT, /* exported as `how`; the attachment records the kind and the driver's path */
        ZERO_CARD_JOB_UNEXPORT,
        ZERO_CARD_JOB_RESIZE, /* to `size` bytes; then the row's size */
        ZERO_CARD_JOB_QOS,    /* to `iops` and `bps`; then the row's */
        ZERO_CARD_JOB_RELEASE, /* exported as `how` with the volume released behind (card.h): the
                                * attachment records the export, released */
        ZERO_CARD_JOB_TAKE,    /* exported as `how` with the volume open again: not released */
        /* On a NIC (object: its id). */
        ZERO_CARD_JOB_ATTACH, /* as `how` ("veth" into `netns`, "tap"); the NIC's row records it */
        ZERO_CARD_JOB_DETACH,
        /* On a network (object: its name). */
        ZERO_CARD_JOB_NETWORK, /* what its state says: creating -> made, ready (a card's refusal
                                * undoes what it made and the row goes); deleting -> removed, row gone */
        _ZERO_CARD_JOB_KIND_MAX,
};

/* What a job is asked to do. Strings are copied. */
struct zero_card_job_req {
        enum zero_card_job_kind kind;
        const char *object;
        const char *how;   /* EXPORT, RELEASE, TAKE: the export kind; ATTACH: the NIC kind */
        const char *netns; /* ATTACH of a veth: the namespace's path */
        int64_t size;      /* RESIZE */
        int64_t iops, bps; /* QOS */
        /* Not a job of its own: the last one queued on the object of kind's type (a volume, a
         * NIC, a network), whatever it does, is waited for; none: nothing to wait for. */
        bool last;
};

/* How a job ended: r >= 0 done, else -errno with err. Always from the loop, never from inside the
 * call that asked. */
typedef void (*zero_card_job_fn)(void *userdata, int r, const struct zero_error *err);

/* Queues the job (or joins the same one queued last on its object) and waits for it; done may be
 * NULL (nobody waits). What the driver refuses, or a row that is gone, comes through done. -errno
 * at once only when nothing could be queued (out of memory, a bad request). 1 for a request of
 * the last job when the object has none: nothing to wait for, done never follows. */
int zero_card_job(struct zero_agent *a, const struct zero_card_job_req *req, zero_card_job_fn done, void *userdata,
                  struct zero_error *err);
/* The kind of the last job queued on the object of kind k's object type (a volume, a NIC, a
 * network), or -ENOENT when none is. */
int zero_card_job_last(struct zero_agent *a, enum zero_card_job_kind k, const char *object);
/* Nobody waits any more with this userdata (an operation that is freed). */
void zero_card_jobs_forget(struct zero_agent *a, void *userdata);
/* Asks for the jobs of every volume and network left creating or deleting (zerod's start). */
void zero_card_jobs_resume(struct zero_agent *a);
/* The card's sync() with the store, once no job runs; the jobs asked for meanwhile wait for it
 * (card.c calls this when the driver lost its exports). */
void zero_card_jobs_sync_soon(struct zero_agent *a);
/* The kind's name for messages: "export", "resize", ... */
const char *zero_card_job_kind_name(enum zero_card_job_kind k);
/* Drops every job and waiter, calling nobody (zerod's exit, after the driver is closed). */
void zero_card_jobs_free(struct zero_agent *a);
