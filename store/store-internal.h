/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Shared by the two halves of the store: schema.c (the connection: open, pragmas, migrations,
 * transactions, error mapping) and store.c (the row accessors). Nothing outside store/ includes
 * this; everyone else sees only store.h and never SQL.
 */
#include <sqlite3.h>
#include <stdbool.h>

#include "common/macro.h"
#include "store/store.h"

struct zero_store {
        sqlite3 *db; /* opened NOMUTEX: only zerod's event loop uses it */
};

DEFINE_TRIVIAL_CLEANUP_FUNC(sqlite3_stmt *, sqlite3_finalize)

/* Public entry points check their arguments and return instead of crashing the daemon. */
#define assert_return(expr, r)                                                                     \
        do {                                                                                       \
                if (!(expr))                                                                       \
                        return (r);                                                                \
        } while (0)

/* What a foreign key violation means depends on the statement that hit it. */
enum store_fk {
        STORE_FK_MISSING_PARENT, /* INSERT referencing a row that does not exist: -ENOENT */
        STORE_FK_HAS_CHILDREN,   /* DELETE of a row still referenced (ON DELETE RESTRICT): -ENOTEMPTY */
};

/* Maps an (extended) SQLite result code to -errno; see the table in store.h. */
int store_errno(int rc, enum store_fk fk);

int store_exec(struct zero_store *s, const char *sql);
int store_prepare(struct zero_store *s, const char *sql, sqlite3_stmt **ret);
/* Steps to the single row of a lookup: 0 on a row, -ENOENT when there is none. */
int store_step_row(sqlite3_stmt *st);

/* For accessors that change several rows: BEGIN IMMEDIATE unless the caller already holds a
 * transaction (then the caller's COMMIT or ROLLBACK decides). store_tx_leave() commits on r >= 0,
 * rolls back otherwise, and returns r or the COMMIT failure. */
int store_tx_enter(struct zero_store *s, bool *ret_owned);
int store_tx_leave(struct zero_store *s, bool owned, int r);
