/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * A fake card driver of card ABI 4, built into the test (no .so, no daemon): what the agent's card
 * jobs and steps are tested against (test_card_jobs, test_operation). Its "card" is files under
 * the env's state_dir, so that what it did outlives an agent killed at a fault point, as a real
 * card's work does:
 *   STATE/volumes/ID         a volume made: "SIZE IOPS BPS"
 *   STATE/exports/ID         its export: the kind (the path handed back is RUN/ID.KIND)
 *   STATE/nics/ID            a NIC attached: "KIND TARGET"
 *   STATE/networks/ID        a network made
 *   STATE/tenant/OPERATION   the host handed over by OPERATION: "running", or "ended CODE" once
 *                            the test (the card's take-back) says so
 * Every op that changes the card answers from a timer (fake_card.delay_ms later), or fails then,
 * or is refused at once, as the test sets; an op may be held (answered only when released). It
 * counts what the ABI forbids: two ops in flight on one object, sync() while an op is in flight,
 * a done called from inside the call (impossible by construction: only timers answer).
 */
#include <stdbool.h>
#include <stddef.h>

#include "zero/card.h"

enum fake_card_op {
        FAKE_VOLUME_CREATE,
        FAKE_VOLUME_DELETE,
        FAKE_VOLUME_RESIZE,
        FAKE_VOLUME_QOS,
        FAKE_EXPORT,
        FAKE_UNEXPORT,
        FAKE_NETWORK_CREATE,
        FAKE_NETWORK_DELETE,
        FAKE_NIC_ATTACH,
        FAKE_NIC_DETACH,
        FAKE_TENANT_HANDOVER, /* STATE/tenant/OPERATION: "running" (the test writes "ended CODE") */
        FAKE_TENANT_STATUS,
        _FAKE_OP_MAX,
};

#define FAKE_CARD_LOG_MAX 256

extern struct fake_card_ctl {
        unsigned delay_ms;                /* when an op answers (default 5) */
        int fail[_FAKE_OP_MAX];           /* this op fails with this -errno (in done), 0: none */
        int refuse[_FAKE_OP_MAX];         /* this op is refused at once with this -errno, 0: none */
        bool hold[_FAKE_OP_MAX];          /* this op waits for fake_card_release() */
        unsigned calls[_FAKE_OP_MAX];     /* ops started (not refused) */
        unsigned in_flight;               /* ops started, not answered */
        unsigned max_in_flight;           /* the most at once, over all objects */
        unsigned overlaps;                /* an op started while another ran on its object: the ABI says never */
        unsigned syncs;                   /* sync() calls */
        unsigned syncs_busy;              /* sync() while an op ran: the ABI says never */
        unsigned closes;
        char log[FAKE_CARD_LOG_MAX][80];  /* "export:ID", in the order the ops started */
        size_t n_log;
} fake_card;

/* The driver struct; fake_card_reset() puts the knobs back (keeps no state on disk). */
const struct zero_card_driver *fake_card_driver(void);
void fake_card_reset(void);
/* Answers the held ops (the agent's loop then hears them). */
struct zero_card;
void fake_card_release(struct zero_card *card);
/* What the card holds now (the files), for assertions; NULL / false when it holds nothing. */
bool fake_card_volume_exists(const char *state_dir, const char *id);
char *fake_card_export_kind(const char *state_dir, const char *id); /* freed by the caller */
char *fake_card_nic(const char *state_dir, const char *id);         /* "KIND TARGET", freed by the caller */
bool fake_card_network_exists(const char *state_dir, const char *id);
/* Index in the log of the first "what:id", -1 when none. */
int fake_card_logged(const char *what, const char *id);
