/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Transactions (store.h): the callers' (zero_store_begin/commit/rollback), the accessors' own
 * (store_tx_enter/leave), and batches.
 *
 * A batch is one transaction around a stretch of work on the event loop that writes many times:
 * the operation engine's step (its record, the instance's state changes, the events) is one
 * commit instead of one per write. Inside a batch, zero_store_begin() is a savepoint, so that
 * code which groups its writes (and rolls them back on error) works the same in a batch or out
 * of one. A batch is ended (committed) before the loop turns: no lock is held while zerod waits.
 */
#include <errno.h>

#include "common/log.h"
#include "store/store-internal.h"

static bool in_tx(struct zero_store *s) {
        return !sqlite3_get_autocommit(s->db);
}

/* The open transaction is the batch's. SQLite may have rolled it back after an error (the
 * rollback hook told the watcher): then the writes after it commit one by one. */
static bool batch_held(struct zero_store *s) {
        if (s->batch_open && !in_tx(s)) {
                s->batch_open = false;
                s->groups = 0;
        }
        return s->batch_open;
}

int zero_store_begin(struct zero_store *s) {
        assert_return(s, -EINVAL);
        if (batch_held(s)) {
                int r = store_run(s, "SAVEPOINT zero_group");
                if (r >= 0)
                        s->groups++;
                return r;
        }
        if (in_tx(s))
                return -EALREADY; /* no nesting */
        /* IMMEDIATE takes the write lock now, where the busy timeout applies, rather than failing
         * with SQLITE_BUSY later when a read transaction tries to become a write transaction. */
        return store_run(s, "BEGIN IMMEDIATE");
}

int zero_store_commit(struct zero_store *s) {
        assert_return(s, -EINVAL);
        if (!in_tx(s))
                return -EINVAL;
        if (s->groups > 0) {
                int r = store_run(s, "RELEASE zero_group");
                if (r >= 0)
                        s->groups--;
                return r;
        }
        if (batch_held(s))
                return -EINVAL; /* a commit without its begin: the batch's end commits */
        /* When this fails the transaction may still be open (SQLITE_BUSY): callers roll back. */
        return store_run(s, "COMMIT");
}

int zero_store_rollback(struct zero_store *s) {
        assert_return(s, -EINVAL);
        /* A no-op without a transaction, so that error paths can call it whatever a failed
         * statement or COMMIT left behind (SQLite rolls back by itself after some errors). */
        if (!in_tx(s)) {
                (void) batch_held(s);
                return 0;
        }
        if (s->groups > 0) {
                /* The rollback hook is not called for a savepoint's: the watcher is told here, as
                 * what it read since may be undone. */
                int r = store_run(s, "ROLLBACK TO zero_group");
                if (r >= 0)
                        r = store_run(s, "RELEASE zero_group");
                s->groups--;
                store_changed(s, NULL);
                return r;
        }
        if (batch_held(s))
                return 0; /* the caller's group was never begun: the batch's writes stay */
        return store_run(s, "ROLLBACK");
}

int zero_store_sync(struct zero_store *s) {
        sqlite3_file *log = NULL;
        int rc;

        assert_return(s, -EINVAL);
        if (in_tx(s))
                return -EINVAL;
        /* The log's file as SQLite has it open: its xSync is SQLite's own fsync (which also syncs
         * the directory of a log it has just made). No log open: nothing is written yet. */
        rc = sqlite3_file_control(s->db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &log);
        if (rc != SQLITE_OK)
                return store_errno(rc, STORE_FK_MISSING_PARENT);
        if (!log || !log->pMethods)
                return 0;
        rc = log->pMethods->xSync(log, SQLITE_SYNC_NORMAL);
        return rc == SQLITE_OK ? 0 : store_errno(rc, STORE_FK_MISSING_PARENT);
}

int store_tx_enter(struct zero_store *s, bool *ret_owned) {
        int r;

        *ret_owned = false;
        if (in_tx(s))
                return 0;
        r = store_run(s, "BEGIN IMMEDIATE");
        if (r < 0)
                return r;
        *ret_owned = true;
        return 0;
}

int store_tx_leave(struct zero_store *s, bool owned, int r) {
        if (!owned)
                return r;
        if (r >= 0) {
                int q = store_run(s, "COMMIT");
                if (q >= 0)
                        return r;
                r = q;
        }
        if (in_tx(s))
                (void) store_run(s, "ROLLBACK");
        return r;
}

/* --- batches --- */

void zero_store_batch_begin(struct zero_store *s) {
        if (!s)
                return;
        if (s->batch_depth++ > 0)
                return; /* inside another batch (an operation continued from another's step) */
        if (in_tx(s) || store_run(s, "BEGIN IMMEDIATE") < 0)
                /* Inside a caller's transaction, or the lock not had: the writes commit as they
                 * would without a batch. */
                s->batch_open = false;
        else
                s->batch_open = true;
}

/* COMMIT of the batch's transaction; on failure what it held is lost, as a failed write's would
 * be, and the writes after it commit one by one. */
static int batch_commit(struct zero_store *s) {
        int r;

        if (!s->batch_open)
                return 0;
        if (!batch_held(s))
                return -EIO; /* SQLite rolled it back after an error */
        s->batch_open = false;
        if (s->groups > 0) {
                log_error("Store: %u savepoint(s) still open at the end of a batch, rolled back", s->groups);
                (void) store_run(s, "ROLLBACK");
                s->groups = 0;
                return -EPROTO;
        }
        r = store_run(s, "COMMIT");
        if (r < 0) {
                log_error_errno(r, "Store: a batch's commit failed: %m");
                (void) store_run(s, "ROLLBACK");
        }
        return r;
}

int zero_store_batch_flush(struct zero_store *s) {
        int r;

        if (!s || s->batch_depth == 0 || s->groups > 0)
                return 0; /* no batch, or a caller's group is open: it commits later */
        r = batch_commit(s);
        if (!in_tx(s) && store_run(s, "BEGIN IMMEDIATE") >= 0)
                s->batch_open = true;
        return r;
}

int zero_store_batch_end(struct zero_store *s) {
        if (!s || s->batch_depth == 0)
                return 0;
        if (--s->batch_depth > 0)
                return 0;
        return batch_commit(s);
}
