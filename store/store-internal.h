/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Shared by the parts of the store: schema.c (the connection: open, pragmas, migrations,
 * transactions, error mapping), store.c (the table-driven row machinery and the accessors of
 * schema v1-v2), card_rows.c (the card's rows, schema v3) and token_rows.c (API tokens, v6).
 * Nothing outside store/ includes this; everyone else sees only store.h and never SQL.
 */
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

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

/* The node table's rows; the API hands out only the value. */
struct node_row {
        char *key;
        char *value;
};

/* Reading a row builds it here first, so that ret stays untouched on failure: every row struct
 * that has a table must be a member. */
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
};

/* Frees the row's strings and zeroes it; accepts NULL. */
void store_row_done(const struct table *t, void *row);
void store_rows_free(const struct table *t, void *rows, size_t n);
/* Collects every result row of st into a malloc'd array (NULL when there are none). */
int store_rows_collect(sqlite3_stmt *st, const struct table *t, void **ret, size_t *ret_n);
/* Runs sql with the row bound by name (":column"); for INSERT, UPDATE and DELETE. fk says what a
 * foreign key failure means. With one_row, a statement that changed nothing is -ENOENT. */
int store_row_write(struct zero_store *s, const char *sql, const struct table *t, const void *row,
                    enum store_fk fk, bool one_row);
/* Runs a lookup with key bound to ?1 and reads its first row into ret; -ENOENT when none. */
int store_row_get(struct zero_store *s, const char *sql, const char *key, const struct table *t, void *ret);
/* Runs a query and collects all rows; key, unless NULL, is bound to ?1. */
int store_row_list(struct zero_store *s, const char *sql, const char *key, const struct table *t, void **ret,
                   size_t *ret_n);
/* Runs a "SELECT COUNT(*) ... ?1" with key bound to ?1; the count, capped at INT_MAX. */
int store_count(struct zero_store *s, const char *sql, const char *key);
