/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* The rows of a card job once its driver op ended (card_job_rows.c), called by card_job.c only. */
#include "agent/card_job.h"

/* What card_job.c knows of a job that ended (not a noop). */
struct zero_card_job_end {
        const struct zero_card_job_req *req;
        const char *id;     /* VOLUME, RESIZE, QOS, NETWORK: the object's id when the job started */
        bool remove;        /* VOLUME, NETWORK: it was removed */
        const char *result; /* what the driver handed back: a path, a tap's name, a network's name */
};

/* The rows follow the driver's answer r (a network's whatever it was; the others only for
 * r >= 0); *r becomes a failure to record them (with err). */
void zero_card_job_rows(struct zero_agent *a, const struct zero_card_job_end *e, int *r, struct zero_error *err);
