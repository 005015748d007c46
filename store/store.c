/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The table-driven row machinery and the accessors of the first two schema versions (node, images,
 * instances, operations, events). The connection, schema, transactions and the statement cache
 * are in schema.c; the card's rows (volumes, networks, NICs, attachments; schema v3) are in
 * card_rows.c; the API's joined reads in listing.c.
 *
 * Each row struct is described once by a table of columns (name, type, offset into the struct),
 * in the way systemd describes JSON fields and D-Bus properties. Rows are bound by parameter name
 * (":state" binds the state column of the row) and read back by result column name, so the
 * SQL text below can list columns in any order and an UPDATE binds only what it names; the
 * repetitive, easily misnumbered bind and column calls exist once, in row_bind() and row_read().
 * A query that joins tables reads each table's columns into its own struct, named with a prefix
 * ("a_volume" is the volume of the struct read with prefix "a_"): store_parts_*() below.
 *
 * Statements are prepared once (store_prepare(), schema.c) and kept: a list the API serves
 * thousands of times a second must not parse its SQL each time.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "store/store-internal.h"

static void *field(const void *row, size_t offset) {
        return (char *) row + offset;
}

void store_row_done(const struct table *t, void *row) {
        if (!row)
                return;
        for (size_t i = 0; i < t->n_columns; i++)
                if (t->columns[i].type == COLUMN_TEXT)
                        free(*(char **) field(row, t->columns[i].offset));
        memset(row, 0, t->row_size);
}

void store_rows_free(const struct table *t, void *rows, size_t n) {
        for (size_t i = 0; i < n; i++)
                store_row_done(t, (char *) rows + i * t->row_size);
        free(rows);
}

/* Binds every column of the row that the statement names as ":column". Strings are bound
 * SQLITE_STATIC: they outlive the statement's use, which ends with its release (store_releasep()
 * clears the bindings) before the calling function returns. */
static int row_bind(sqlite3_stmt *st, const struct table *t, const void *row) {
        for (size_t i = 0; i < t->n_columns; i++) {
                const struct column *c = &t->columns[i];
                char param[64];
                int idx, rc;

                snprintf(param, sizeof(param), ":%s", c->name);
                idx = sqlite3_bind_parameter_index(st, param);
                if (idx == 0)
                        continue;
                switch (c->type) {
                case COLUMN_TEXT:
                        /* A NULL pointer binds SQL NULL (documented for sqlite3_bind_text()). */
                        rc = sqlite3_bind_text(st, idx, *(char *const *) field(row, c->offset), -1,
                                               SQLITE_STATIC);
                        break;
                case COLUMN_OPT_INT64:
                        if (!*(const bool *) field(row, c->has_offset)) {
                                rc = sqlite3_bind_null(st, idx);
                                break;
                        }
                        __attribute__((fallthrough));
                case COLUMN_INT64:
                        rc = sqlite3_bind_int64(st, idx, *(const int64_t *) field(row, c->offset));
                        break;
                default:
                        return -EINVAL;
                }
                if (rc != SQLITE_OK)
                        return store_errno(rc, STORE_FK_MISSING_PARENT);
        }
        return 0;
}

static const struct column *column_find(const struct table *t, const char *name) {
        for (size_t i = 0; i < t->n_columns; i++)
                if (streq(t->columns[i].name, name))
                        return &t->columns[i];
        return NULL;
}

/* Where each result column goes: the first part whose prefix begins its name and whose table has
 * a column named by the rest. Result columns no part knows are ignored. */
int store_parts_map(sqlite3_stmt *st, const struct store_part *parts, size_t n_parts, struct store_colmap *ret) {
        int n = sqlite3_column_count(st);

        if (n > STORE_COLUMNS_MAX || n_parts > STORE_PARTS_MAX)
                return -E2BIG;
        for (size_t p = 0; p < n_parts; p++)
                if (parts[p].t->row_size > sizeof(union any_row))
                        return -E2BIG;
        ret->n = n;
        for (int i = 0; i < n; i++) {
                const char *name = sqlite3_column_name(st, i);

                ret->col[i] = NULL;
                ret->part[i] = 0;
                for (size_t p = 0; name && p < n_parts && !ret->col[i]; p++) {
                        size_t l = strlen(parts[p].prefix);
                        if (strncmp(name, parts[p].prefix, l) == 0 && (ret->col[i] = column_find(parts[p].t, name + l)))
                                ret->part[i] = (unsigned char) p;
                }
        }
        return 0;
}

/* Reads the current result row into the parts' structs (rets[p] for parts[p]), each one whole or,
 * on failure, not at all: every part is built aside first. */
int store_parts_read(sqlite3_stmt *st, const struct store_part *parts, size_t n_parts, const struct store_colmap *m,
                     void *const *rets) {
        union any_row buf[STORE_PARTS_MAX] = {};

        for (int i = 0; i < m->n; i++) {
                const struct column *c = m->col[i];
                void *row = &buf[m->part[i]];
                bool null;

                if (!c)
                        continue;
                null = sqlite3_column_type(st, i) == SQLITE_NULL;
                switch (c->type) {
                case COLUMN_TEXT: {
                        const unsigned char *v;
                        char *copy;
                        if (null)
                                break;
                        v = sqlite3_column_text(st, i); /* NULL here only when out of memory */
                        copy = v ? strdup((const char *) v) : NULL;
                        if (!copy) {
                                for (size_t p = 0; p < n_parts; p++)
                                        store_row_done(parts[p].t, &buf[p]);
                                return -ENOMEM;
                        }
                        free(*(char **) field(row, c->offset)); /* a column named twice: the last wins */
                        *(char **) field(row, c->offset) = copy;
                        break;
                }
                case COLUMN_OPT_INT64:
                        *(bool *) field(row, c->has_offset) = !null;
                        __attribute__((fallthrough));
                case COLUMN_INT64:
                        *(int64_t *) field(row, c->offset) = sqlite3_column_int64(st, i);
                        break;
                }
        }
        for (size_t p = 0; p < n_parts; p++)
                memcpy(rets[p], &buf[p], parts[p].t->row_size);
        return 0;
}

/* Reads the current result row of a one-table query; ret stays untouched on failure. */
static int row_read(sqlite3_stmt *st, const struct table *t, void *ret) {
        const struct store_part part = {t, ""};
        struct store_colmap m;
        int r = store_parts_map(st, &part, 1, &m);

        return r < 0 ? r : store_parts_read(st, &part, 1, &m, (void *const[]){ret});
}

/* Collects every result row into a malloc'd array (NULL when there are none). The map from result
 * columns to the struct's is made once for all rows. */
int store_rows_collect(sqlite3_stmt *st, const struct table *t, void **ret, size_t *ret_n) {
        const struct store_part part = {t, ""};
        struct store_colmap m;
        char *rows = NULL;
        size_t n = 0, cap = 0;
        int r;

        r = store_parts_map(st, &part, 1, &m);
        if (r < 0)
                return r;
        for (;;) {
                int rc = sqlite3_step(st);
                if (rc == SQLITE_DONE)
                        break;
                if (rc != SQLITE_ROW) {
                        r = store_errno(rc, STORE_FK_MISSING_PARENT);
                        goto fail;
                }
                if (n == cap) {
                        size_t ncap = cap ? cap * 2 : 16;
                        char *p = reallocarray(rows, ncap, t->row_size);
                        if (!p) {
                                r = -ENOMEM;
                                goto fail;
                        }
                        rows = p;
                        cap = ncap;
                }
                r = store_parts_read(st, &part, 1, &m, (void *const[]){rows + n * t->row_size});
                if (r < 0)
                        goto fail;
                n++;
        }
        *ret = rows;
        *ret_n = n;
        return 0;
fail:
        store_rows_free(t, rows, n);
        return r;
}

/* Runs sql with the row bound by name; for INSERT, UPDATE and DELETE. With one_row, a statement
 * that changed nothing (UPDATE or DELETE of a missing key) fails with -ENOENT. A statement with
 * RETURNING gives its first row's first column (text) in *ret_text, when asked. */
static int row_write(struct zero_store *s, const char *sql, const struct table *t, const void *row, enum store_fk fk,
                     bool one_row, char **ret_text) {
        _cleanup_(store_releasep) sqlite3_stmt *st = NULL;
        _cleanup_free_ char *text = NULL;
        int r, rc;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        r = row_bind(st, t, row);
        if (r < 0)
                return r;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
                if (ret_text && !text && sqlite3_column_type(st, 0) != SQLITE_NULL &&
                    !(text = strdup((const char *) sqlite3_column_text(st, 0))))
                        return -ENOMEM;
        if (rc != SQLITE_DONE)
                return store_errno(rc, fk);
        if (one_row && sqlite3_changes(s->db) == 0)
                return -ENOENT;
        if (ret_text)
                *ret_text = TAKE_PTR(text);
        return 0;
}

int store_row_write(struct zero_store *s, const char *sql, const struct table *t, const void *row,
                    enum store_fk fk, bool one_row) {
        return row_write(s, sql, t, row, fk, one_row, NULL);
}

int store_row_write_returning(struct zero_store *s, const char *sql, const struct table *t, const void *row,
                              enum store_fk fk, bool one_row, char **ret_text) {
        return row_write(s, sql, t, row, fk, one_row, ret_text);
}

/* Prepares sql and binds key, unless NULL, to ?1. */
static int prepare_keyed(struct zero_store *s, const char *sql, const char *key, sqlite3_stmt **ret) {
        _cleanup_(store_releasep) sqlite3_stmt *st = NULL;
        int r, rc;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        if (key) {
                rc = sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
                if (rc != SQLITE_OK)
                        return store_errno(rc, STORE_FK_MISSING_PARENT);
        }
        *ret = TAKE_PTR(st);
        return 0;
}

/* Runs a lookup with key bound to ?1 and reads its first row; -ENOENT when none. */
int store_row_get(struct zero_store *s, const char *sql, const char *key, const struct table *t, void *ret) {
        _cleanup_(store_releasep) sqlite3_stmt *st = NULL;
        int r;

        r = prepare_keyed(s, sql, key, &st);
        if (r < 0)
                return r;
        r = store_step_row(st);
        if (r < 0)
                return r;
        return row_read(st, t, ret);
}

/* Runs a query and collects all rows; key, unless NULL, is bound to ?1. */
int store_row_list(struct zero_store *s, const char *sql, const char *key, const struct table *t, void **ret,
                   size_t *ret_n) {
        _cleanup_(store_releasep) sqlite3_stmt *st = NULL;
        int r;

        r = prepare_keyed(s, sql, key, &st);
        if (r < 0)
                return r;
        return store_rows_collect(st, t, ret, ret_n);
}

/* Runs a "SELECT COUNT(*) ... ?1" with key bound to ?1; the count, capped at INT_MAX. */
int store_count(struct zero_store *s, const char *sql, const char *key) {
        _cleanup_(store_releasep) sqlite3_stmt *st = NULL;
        int64_t n;
        int r;

        r = prepare_keyed(s, sql, key, &st);
        if (r < 0)
                return r;
        r = store_step_row(st);
        if (r < 0)
                return r == -ENOENT ? -EIO : r;
        n = sqlite3_column_int64(st, 0);
        return n > INT_MAX ? INT_MAX : (int) n;
}

/* --- node --- */

static const struct column node_columns[] = {
        TEXT(struct node_row, key),
        TEXT(struct node_row, value),
};
const struct table store_node_table = TABLE(struct node_row, node_columns);

int zero_store_node_get(struct zero_store *s, const char *key, char **ret) {
        struct node_row row = {};
        int r;

        assert_return(s && key && ret, -EINVAL);
        r = store_row_get(s, "SELECT value FROM node WHERE key = ?1", key, &store_node_table, &row);
        if (r < 0)
                return r;
        *ret = row.value; /* NULL when the value is NULL */
        return 0;
}

int zero_store_node_set(struct zero_store *s, const char *key, const char *value) {
        const struct node_row row = { .key = (char *) key, .value = (char *) value };

        assert_return(s && key, -EINVAL);
        return store_row_write(s,
                               "INSERT INTO node (key, value) VALUES (:key, :value) "
                               "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                               &store_node_table, &row, STORE_FK_MISSING_PARENT, false);
}

/* --- images --- */

static const struct column image_columns[] = {
        TEXT(struct zero_image_row, name),
        TEXT(struct zero_image_row, source),
        TEXT(struct zero_image_row, path),
        INT64(struct zero_image_row, size_bytes),
        INT64(struct zero_image_row, created_at),
};
const struct table store_image_table = TABLE(struct zero_image_row, image_columns);

void zero_image_row_done(struct zero_image_row *r) {
        store_row_done(&store_image_table, r);
}

void zero_image_rows_free(struct zero_image_row *rows, size_t n) {
        store_rows_free(&store_image_table, rows, n);
}

int zero_store_image_insert(struct zero_store *s, const struct zero_image_row *r) {
        assert_return(s && r && r->name, -EINVAL);
        return store_row_write(s,
                               "INSERT INTO images (name, source, path, size_bytes, created_at) "
                               "VALUES (:name, :source, :path, :size_bytes, :created_at)",
                               &store_image_table, r, STORE_FK_MISSING_PARENT, false);
}

int zero_store_image_get(struct zero_store *s, const char *name, struct zero_image_row *ret) {
        assert_return(s && name && ret, -EINVAL);
        return store_row_get(s, "SELECT * FROM images WHERE name = ?1", name, &store_image_table, ret);
}

int zero_store_image_list(struct zero_store *s, struct zero_image_row **ret, size_t *ret_n) {
        assert_return(s && ret && ret_n, -EINVAL);
        return store_row_list(s, "SELECT * FROM images ORDER BY name", NULL, &store_image_table, (void **) ret, ret_n);
}

int zero_store_image_delete(struct zero_store *s, const char *name) {
        struct zero_image_row key = { .name = (char *) name };

        assert_return(s && name, -EINVAL);
        return store_row_write(s, "DELETE FROM images WHERE name = :name", &store_image_table, &key,
                               STORE_FK_HAS_CHILDREN, true);
}

int zero_store_image_users(struct zero_store *s, const char *name) {
        assert_return(s && name, -EINVAL);
        return store_count(s, "SELECT COUNT(*) FROM instances WHERE image = ?1", name);
}

/* --- instances --- */

static const struct column instance_columns[] = {
        TEXT(struct zero_instance_row, id),
        TEXT(struct zero_instance_row, name),
        TEXT(struct zero_instance_row, mode),
        TEXT(struct zero_instance_row, state),
        TEXT(struct zero_instance_row, image),
        INT64(struct zero_instance_row, cpus),
        INT64(struct zero_instance_row, memory_mib),
        TEXT(struct zero_instance_row, spec),
        INT64(struct zero_instance_row, pid),
        OPT_INT64(struct zero_instance_row, exit_code, has_exit_code),
        TEXT(struct zero_instance_row, error),
        INT64(struct zero_instance_row, created_at),
        INT64(struct zero_instance_row, started_at),
        INT64(struct zero_instance_row, stopped_at),
        INT64(struct zero_instance_row, updated_at),
};
const struct table store_instance_table = TABLE(struct zero_instance_row, instance_columns);

void zero_instance_row_done(struct zero_instance_row *r) {
        store_row_done(&store_instance_table, r);
}

void zero_instance_rows_free(struct zero_instance_row *rows, size_t n) {
        store_rows_free(&store_instance_table, rows, n);
}

int zero_store_instance_insert(struct zero_store *s, const struct zero_instance_row *r) {
        int q;

        assert_return(s && r && r->id && r->name && r->state, -EINVAL);
        q = store_row_write(s,
                               "INSERT INTO instances (id, name, mode, state, image, cpus, memory_mib, spec, pid,"
                               " exit_code, error, created_at, started_at, stopped_at, updated_at) "
                               "VALUES (:id, :name, :mode, :state, :image, :cpus, :memory_mib, :spec, :pid,"
                               " :exit_code, :error, :created_at, :started_at, :stopped_at, :updated_at)",
                               &store_instance_table, r, STORE_FK_MISSING_PARENT, false);
        if (q >= 0)
                store_changed(s, r->id);
        return q;
}

int zero_store_instance_get(struct zero_store *s, const char *name, struct zero_instance_row *ret) {
        assert_return(s && name && ret, -EINVAL);
        return store_row_get(s, "SELECT * FROM instances WHERE name = ?1", name, &store_instance_table, ret);
}

int zero_store_instance_get_by_id(struct zero_store *s, const char *id, struct zero_instance_row *ret) {
        assert_return(s && id && ret, -EINVAL);
        return store_row_get(s, "SELECT * FROM instances WHERE id = ?1", id, &store_instance_table, ret);
}

int zero_store_instance_list(struct zero_store *s, struct zero_instance_row **ret, size_t *ret_n) {
        assert_return(s && ret && ret_n, -EINVAL);
        return store_row_list(s, "SELECT * FROM instances ORDER BY created_at, name", NULL, &store_instance_table,
                              (void **) ret, ret_n);
}

int zero_store_instance_update(struct zero_store *s, const struct zero_instance_row *r) {
        int q;

        assert_return(s && r && r->id && r->state, -EINVAL);
        /* id, name, image, cpus, memory_mib, spec and created_at are fixed at creation. */
        q = store_row_write(s,
                            "UPDATE instances SET mode = :mode, state = :state, pid = :pid,"
                            " exit_code = :exit_code, error = :error, started_at = :started_at,"
                            " stopped_at = :stopped_at, updated_at = :updated_at "
                            "WHERE id = :id",
                            &store_instance_table, r, STORE_FK_MISSING_PARENT, true);
        if (q >= 0)
                store_changed(s, r->id);
        return q;
}

int zero_store_instance_delete(struct zero_store *s, const char *id) {
        struct zero_instance_row key = { .id = (char *) id };
        int q;

        assert_return(s && id, -EINVAL);
        /* Its operations stay, with instance_id set to NULL (ON DELETE SET NULL); its NICs and
         * attachments go with it (ON DELETE CASCADE), which this one notice covers. */
        q = store_row_write(s, "DELETE FROM instances WHERE id = :id", &store_instance_table, &key,
                            STORE_FK_HAS_CHILDREN, true);
        if (q >= 0)
                store_changed(s, id);
        return q;
}

int zero_store_instance_allocated(struct zero_store *s, int64_t *ret_cpus, int64_t *ret_memory_mib) {
        _cleanup_(store_releasep) sqlite3_stmt *st = NULL;
        int r;

        assert_return(s, -EINVAL);

        /* Every state but stopped and error holds its resources, including creating and
         * deleting: the scheduler must count what is on its way in or not yet out. */
        r = store_prepare(s,
                          "SELECT COALESCE(SUM(cpus), 0), COALESCE(SUM(memory_mib), 0) FROM instances "
                          "WHERE state NOT IN ('stopped', 'error')",
                          &st);
        if (r < 0)
                return r;
        r = store_step_row(st);
        if (r < 0)
                return r == -ENOENT ? -EIO : r;
        if (ret_cpus)
                *ret_cpus = sqlite3_column_int64(st, 0);
        if (ret_memory_mib)
                *ret_memory_mib = sqlite3_column_int64(st, 1);
        return 0;
}

/* --- operations --- */

static const struct column operation_columns[] = {
        TEXT(struct zero_operation_row, id),
        TEXT(struct zero_operation_row, kind),
        TEXT(struct zero_operation_row, instance_id),
        TEXT(struct zero_operation_row, instance_name),
        TEXT(struct zero_operation_row, status),
        INT64(struct zero_operation_row, step),
        TEXT(struct zero_operation_row, step_name),
        TEXT(struct zero_operation_row, params),
        TEXT(struct zero_operation_row, error_code),
        TEXT(struct zero_operation_row, error_message),
        INT64(struct zero_operation_row, created_at),
        INT64(struct zero_operation_row, updated_at),
        INT64(struct zero_operation_row, finished_at),
        TEXT(struct zero_operation_row, steps),
        TEXT(struct zero_operation_row, actor),
};
const struct table store_operation_table = TABLE(struct zero_operation_row, operation_columns);

void zero_operation_row_done(struct zero_operation_row *r) {
        store_row_done(&store_operation_table, r);
}

void zero_operation_rows_free(struct zero_operation_row *rows, size_t n) {
        store_rows_free(&store_operation_table, rows, n);
}

int zero_store_operation_insert(struct zero_store *s, const struct zero_operation_row *r) {
        assert_return(s && r && r->id && r->kind && r->status, -EINVAL);
        return store_row_write(s,
                               "INSERT INTO operations (id, kind, instance_id, instance_name, status, step,"
                               " step_name, params, error_code, error_message, created_at, updated_at, finished_at,"
                               " steps, actor) "
                               "VALUES (:id, :kind, :instance_id, :instance_name, :status, :step, :step_name,"
                               " :params, :error_code, :error_message, :created_at, :updated_at, :finished_at,"
                               " :steps, :actor)",
                               &store_operation_table, r, STORE_FK_MISSING_PARENT, false);
}

int zero_store_operation_get(struct zero_store *s, const char *id, struct zero_operation_row *ret) {
        assert_return(s && id && ret, -EINVAL);
        return store_row_get(s, "SELECT * FROM operations WHERE id = ?1", id, &store_operation_table, ret);
}

int zero_store_operation_update(struct zero_store *s, const struct zero_operation_row *r) {
        assert_return(s && r && r->id && r->status, -EINVAL);
        return store_row_write(s,
                               "UPDATE operations SET status = :status, step = :step, step_name = :step_name,"
                               " steps = :steps, params = :params, error_code = :error_code,"
                               " error_message = :error_message,"
                               " updated_at = :updated_at, finished_at = :finished_at "
                               "WHERE id = :id",
                               &store_operation_table, r, STORE_FK_MISSING_PARENT, true);
}

/* Ties on created_at (same microsecond) go by insertion order. */
int zero_store_operation_list_unfinished(struct zero_store *s, struct zero_operation_row **ret, size_t *ret_n) {
        assert_return(s && ret && ret_n, -EINVAL);
        return store_row_list(s, "SELECT * FROM operations WHERE status = 'running' ORDER BY created_at, rowid", NULL,
                              &store_operation_table, (void **) ret, ret_n);
}

int zero_store_operation_running_for(struct zero_store *s, const char *instance_id,
                                     struct zero_operation_row *ret) {
        assert_return(s && instance_id && ret, -EINVAL);
        return store_row_get(s,
                             "SELECT * FROM operations WHERE status = 'running' AND instance_id = ?1 "
                             "ORDER BY created_at DESC, rowid DESC LIMIT 1",
                             instance_id, &store_operation_table, ret);
}

/* --- events --- */

static const struct column event_columns[] = {
        INT64(struct zero_event_row, id),
        INT64(struct zero_event_row, time),
        TEXT(struct zero_event_row, type),
        TEXT(struct zero_event_row, instance),
        TEXT(struct zero_event_row, data),
        TEXT(struct zero_event_row, actor),
};
const struct table store_event_table = TABLE(struct zero_event_row, event_columns);

void zero_event_row_done(struct zero_event_row *r) {
        store_row_done(&store_event_table, r);
}

void zero_event_rows_free(struct zero_event_row *rows, size_t n) {
        store_rows_free(&store_event_table, rows, n);
}

int zero_store_event_append(struct zero_store *s, const char *type, const char *instance,
                            const char *data, const char *actor, int64_t *ret_id) {
        struct zero_event_row row = {
                .time = (int64_t) zero_now_usec(),
                .type = (char *) type,
                .instance = (char *) instance,
                .data = (char *) data,
                .actor = (char *) actor,
        };
        int r;

        assert_return(s && type, -EINVAL);
        r = store_row_write(s,
                            "INSERT INTO events (time, type, instance, data, actor) "
                            "VALUES (:time, :type, :instance, :data, :actor)",
                            &store_event_table, &row, STORE_FK_MISSING_PARENT, false);
        if (r < 0)
                return r;
        if (ret_id)
                *ret_id = sqlite3_last_insert_rowid(s->db);
        return 0;
}

/* The events of sql, which takes ?1 = after and ?2 = limit. */
static int event_rows(struct zero_store *s, const char *sql, int64_t after, size_t limit, struct zero_event_row **ret,
                      size_t *ret_n) {
        _cleanup_(store_releasep) sqlite3_stmt *st = NULL;
        int r, rc;

        assert_return(s && ret && ret_n, -EINVAL);

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        rc = sqlite3_bind_int64(st, 1, after);
        if (rc == SQLITE_OK)
                rc = sqlite3_bind_int64(st, 2, limit > INT64_MAX ? INT64_MAX : (int64_t) limit);
        if (rc != SQLITE_OK)
                return store_errno(rc, STORE_FK_MISSING_PARENT);
        return store_rows_collect(st, &store_event_table, (void **) ret, ret_n);
}

int zero_store_event_list(struct zero_store *s, int64_t after, size_t limit, struct zero_event_row **ret,
                          size_t *ret_n) {
        return event_rows(s, "SELECT * FROM events WHERE id > ?1 ORDER BY id LIMIT ?2", after, limit, ret, ret_n);
}

int zero_store_event_list_last(struct zero_store *s, size_t limit, struct zero_event_row **ret, size_t *ret_n) {
        /* The newest by the primary key's index, backwards; then in the log's order. */
        return event_rows(s, "SELECT * FROM (SELECT * FROM events WHERE id > ?1 ORDER BY id DESC LIMIT ?2) ORDER BY id",
                          0, limit, ret, ret_n);
}
