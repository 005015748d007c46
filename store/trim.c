/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The logs that only grow, trimmed to their newest rows: the events, and the finished operations
 * (a create and a delete left two rows each, forever: the database and SQLite's page cache grew
 * with every cycle, bench_density).
 */
#include "store/store-internal.h"

/* Runs sql (one DELETE, ?1 the rows kept) in a transaction like every multi-row change, so that a
 * second statement added later cannot make it half-applied; how many rows it deleted. */
static int trim(struct zero_store *s, const char *sql, int64_t keep) {
        _cleanup_(store_releasep) sqlite3_stmt *st = NULL;
        bool owned;
        int r, rc;

        assert_return(s && keep >= 0, -EINVAL);
        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        rc = sqlite3_bind_int64(st, 1, keep);
        if (rc != SQLITE_OK)
                return store_errno(rc, STORE_FK_MISSING_PARENT);
        r = store_tx_enter(s, &owned);
        if (r < 0)
                return r;
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                r = sqlite3_changes(s->db);
        else
                r = store_errno(rc, STORE_FK_MISSING_PARENT);
        /* Reset before COMMIT, so that no statement is still active on the connection. */
        sqlite3_reset(st);
        return store_tx_leave(s, owned, r);
}

int zero_store_event_trim(struct zero_store *s, int64_t keep) {
        /* Everything up to the newest row that is not kept; nothing when there are <= keep rows
         * (the subquery is then NULL). */
        return trim(s, "DELETE FROM events WHERE id <= (SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?1)",
                    keep);
}

int zero_store_operation_trim(struct zero_store *s, int64_t keep) {
        /* In the order they were made (rowid: GET /v1/operations pages by it); running ones are
         * never deleted, nor counted. */
        return trim(s,
                    "DELETE FROM operations WHERE status != 'running' AND rowid <= "
                    "(SELECT rowid FROM operations WHERE status != 'running' ORDER BY rowid DESC LIMIT 1 OFFSET ?1)",
                    keep);
}
