/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Shared by the parts of the store: schema.c (the connection: open, pragmas, migrations,
 * error mapping), tx.c (transactions and batches), store.c (the table-driven row machinery and the accessors of
 * schema v1-v2), card_rows.c (the card's rows, schema v3) and token_rows.c (API tokens, v6).
 * Nothing outside store/ includes this; everyone else sees only store.h and never SQL.
 */
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/hashmap.h"
#include "common/macro.h"
#include "store/store.h"

struct zero_store {
        sqlite3 *db; /* opened NOMUTEX: only zerod's event loop uses it */
        /* Every statement, prepared once (store_prepare()) and kept until the store closes, keyed
         * by its SQL text (the statement's own copy, sqlite3_sql()). */
        struct zero_hashmap stmts;
        uint64_t n_prepared;
        uint64_t n_commits; /* transactions committed since the store opened (its commit hook) */
        zero_store_watch_fn watch;
        void *watch_userdata;
        /* Batches (tx.c): how many are open (nested ones share the outermost's transaction),
         * whether the open transaction is the batch's, and the callers' groups (savepoints) in it. */
        unsigned batch_depth;
        bool batch_open;
        unsigned groups;
};

/* For statements of store_prepare(): reset and unbound, ready for the next user; never
 * finalized (the store does that when it closes). */
static inline void store_releasep(sqlite3_stmt **st) {
        if (*st) {
                (void) sqlite3_reset(*st);
                (void) sqlite3_clear_bindings(*st);
        }
}

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
/* One statement without rows (BEGIN, COMMIT, ROLLBACK, SAVEPOINT), from the cache. */
int store_run(struct zero_store *s, const char *sql);
/* The statement of sql, prepared the first time and cached after: release it with
 * _cleanup_(store_releasep), never finalize it. One user at a time: an accessor never runs the
 * same SQL text twice at once (-EBUSY if it tried while the statement is mid-step). */
int store_prepare(struct zero_store *s, const char *sql, sqlite3_stmt **ret);
/* Tells the watcher (store.h, zero_store_watch()) that instance_id's rows changed; NULL: any. */
void store_changed(struct zero_store *s, const char *instance_id);
/* Steps to the single row of a lookup: 0 on a row, -ENOENT when there is none. */
int store_step_row(sqlite3_stmt *st);

/* For accessors that change several rows: BEGIN IMMEDIATE unless the caller already holds a
 * transaction (then the caller's COMMIT or ROLLBACK decides). store_tx_leave() commits on r >= 0,
 * rolls back otherwise, and returns r or the COMMIT failure. */
int store_tx_enter(struct zero_store *s, bool *ret_owned);
int store_tx_leave(struct zero_store *s, bool owned, int r);

/* --- table-driven rows (store.c) --- */

enum column_type {
        COLUMN_TEXT,      /* char *, NULL <-> SQL NULL */
        COLUMN_INT64,     /* int64_t */
        COLUMN_OPT_INT64, /* int64_t with a bool beside it; false <-> SQL NULL */
};

/* One column of a row struct; its name is both the SQL column and the ":name" parameter. */
struct column {
        const char *name;
        enum column_type type;
        size_t offset;
        size_t has_offset; /* COLUMN_OPT_INT64: where the bool is */
};

struct table {
        size_t row_size;
        const struct column *columns;
        size_t n_columns;
};

#define TEXT(type, field) { #field, COLUMN_TEXT, offsetof(type, field), 0 }
#define INT64(type, field) { #field, COLUMN_INT64, offsetof(type, field), 0 }
#define OPT_INT64(type, field, has) { #field, COLUMN_OPT_INT64, offsetof(type, field), offsetof(type, has) }
#define TABLE(type, cols) { sizeof(type), cols, ELEMENTSOF(cols) }

/* The row structs' tables (store.c, card_rows.c, token_rows.c), for the joined reads (listing.c). */
extern const struct table store_image_table, store_instance_table, store_operation_table, store_event_table,
        store_volume_table, store_network_table, store_nic_table, store_attachment_table, store_token_table;

/* The node table's rows; the API hands out only the value. */
struct node_row {
        char *key;
        char *value;
};

/* Reading a row builds it here first, so that ret stays untouched on failure: every row struct
 * that has a table must fit (store_parts_map() refuses a table whose rows are larger). */
union any_row {
        struct node_row node;
        struct zero_image_row image;
        struct zero_instance_row instance;
        struct zero_operation_row operation;
        struct zero_event_row event;
        struct zero_volume_row volume;
        struct zero_network_row network;
        struct zero_nic_row nic;
        struct zero_attachment_row attachment;
        struct zero_token_row token;
        struct zero_instance_count count;
};

/* A query that joins tables reads each one's columns into a struct of its own: the result
 * columns named PREFIX + a column of the table (store.c). */
struct store_part {
        const struct table *t;
        const char *prefix; /* "" for the unprefixed columns */
};
#define STORE_PARTS_MAX 4
#define STORE_COLUMNS_MAX 64
/* Which part and column each result column goes to (NULL: ignored); made once per statement run. */
struct store_colmap {
        int n;
        unsigned char part[STORE_COLUMNS_MAX];
        const struct column *col[STORE_COLUMNS_MAX];
};
int store_parts_map(sqlite3_stmt *st, const struct store_part *parts, size_t n_parts, struct store_colmap *ret);
/* Reads the current row into rets[p] for each part p, all of them or (on failure) none. */
int store_parts_read(sqlite3_stmt *st, const struct store_part *parts, size_t n_parts, const struct store_colmap *m,
                     void *const *rets);

/* Frees the row's strings and zeroes it; accepts NULL. */
void store_row_done(const struct table *t, void *row);
void store_rows_free(const struct table *t, void *rows, size_t n);
/* Collects every result row of st into a malloc'd array (NULL when there are none). */
int store_rows_collect(sqlite3_stmt *st, const struct table *t, void **ret, size_t *ret_n);
/* Runs sql with the row bound by name (":column"); for INSERT, UPDATE and DELETE. fk says what a
 * foreign key failure means. With one_row, a statement that changed nothing is -ENOENT. */
int store_row_write(struct zero_store *s, const char *sql, const struct table *t, const void *row,
                    enum store_fk fk, bool one_row);
/* The same for a statement with RETURNING: its first row's first column (text, NULL when SQL NULL
 * or no row) in *ret_text. */
int store_row_write_returning(struct zero_store *s, const char *sql, const struct table *t, const void *row,
                              enum store_fk fk, bool one_row, char **ret_text);
/* Runs a lookup with key bound to ?1 and reads its first row into ret; -ENOENT when none. */
int store_row_get(struct zero_store *s, const char *sql, const char *key, const struct table *t, void *ret);
/* Runs a query and collects all rows; key, unless NULL, is bound to ?1. */
int store_row_list(struct zero_store *s, const char *sql, const char *key, const struct table *t, void **ret,
                   size_t *ret_n);
/* Runs a "SELECT COUNT(*) ... ?1" with key bound to ?1; the count, capped at INT_MAX. */
int store_count(struct zero_store *s, const char *sql, const char *key);
