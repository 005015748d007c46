/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the SQLite store: each test gets a fresh temporary directory (removed afterwards)
 * and checks what ends up in the file, through the store's API and, where the API cannot show it
 * (schema, pragmas, a hand-made old file), through a raw sqlite3 connection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "common/util.h"
#include "store/store.h"
#include "tests/unit/store_fixture.h"

/* --- raw sqlite3, to look under the store and to make files it did not make --- */

static sqlite3 *raw_open(const char *path) {
        sqlite3 *db = NULL;

        assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
        return db;
}

static void raw_exec(sqlite3 *db, const char *sql) {
        char *msg = NULL;
        int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

        if (rc != SQLITE_OK)
                fail_msg("%s: %s", sql, msg);
}

static int64_t raw_int(sqlite3 *db, const char *sql) {
        sqlite3_stmt *st = NULL;
        int64_t v;

        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return v;
}

static char *raw_text(sqlite3 *db, const char *sql) {
        sqlite3_stmt *st = NULL;
        char *v;

        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        v = strdup((const char *) sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        return v;
}

static bool raw_has(sqlite3 *db, const char *type, const char *name) {
        char *sql = zero_strdup_printf("SELECT COUNT(*) FROM sqlite_master WHERE type = '%s' AND name = '%s'",
                                       type, name);
        bool found = raw_int(db, sql) == 1;
        free(sql);
        return found;
}

/* Strings that may be NULL compare equal when both are NULL. */
static void assert_str(const char *got, const char *want) {
        if (!want)
                assert_null(got);
        else {
                assert_non_null(got);
                assert_string_equal(got, want);
        }
}

/* --- rows used by several tests --- */

static struct zero_image_row image_row(char *name) {
        return (struct zero_image_row) {
                .name = name,
                .source = "docker://debian:12",
                .path = "/var/lib/zero/images/x",
                .size_bytes = 123456789,
                .created_at = 1000,
        };
}

static struct zero_instance_row instance_row(char *id, char *name, char *image, char *state,
                                             int64_t cpus, int64_t mem, int64_t created) {
        return (struct zero_instance_row) {
                .id = id,
                .name = name,
                .mode = "container",
                .state = state,
                .image = image,
                .cpus = cpus,
                .memory_mib = mem,
                .spec = "{\"command\":[\"sleep\",\"1\"]}",
                .created_at = created,
        };
}

static struct zero_operation_row operation_row(char *id, char *instance_id, char *status, int64_t created) {
        return (struct zero_operation_row) {
                .id = id,
                .kind = "start",
                .instance_id = instance_id,
                .instance_name = "web",
                .status = status,
                .step = 1,
                .step_name = "spawn",
                .params = "{}",
                .created_at = created,
                .updated_at = created,
        };
}

#define ID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define ID_C "cccccccccccccccccccccccccccccccc"
#define ID_D "dddddddddddddddddddddddddddddddd"

/* --- schema --- */

static void test_create_from_empty(void **state) {
        struct fixture *f = *state;
        sqlite3 *db;

        assert_int_equal(zero_store_schema_version(f->s), ZERO_STORE_SCHEMA_VERSION);

        db = raw_open(f->path);
        assert_int_equal(raw_int(db, "PRAGMA user_version"), ZERO_STORE_SCHEMA_VERSION);
        assert_true(raw_has(db, "table", "node"));
        assert_true(raw_has(db, "table", "images"));
        assert_true(raw_has(db, "table", "instances"));
        assert_true(raw_has(db, "table", "operations"));
        assert_true(raw_has(db, "table", "events"));
        assert_true(raw_has(db, "index", "operations_status"));
        assert_true(raw_has(db, "index", "operations_instance_id"));
        assert_true(raw_has(db, "table", "volumes"));
        assert_true(raw_has(db, "table", "networks"));
        assert_true(raw_has(db, "table", "nics"));
        assert_true(raw_has(db, "table", "attachments"));
        assert_true(raw_has(db, "index", "volumes_image"));
        assert_true(raw_has(db, "index", "volumes_owner_instance"));
        sqlite3_close(db);
}

static void test_pragmas(void **state) {
        struct fixture *f = *state;
        struct zero_instance_row in = instance_row(ID_A, "web", "no-such-image", "creating", 1, 64, 1);
        char *wal, *mode;
        sqlite3 *db;

        /* WAL is a property of the file: a second connection sees it, and the -wal file exists. */
        db = raw_open(f->path);
        mode = raw_text(db, "PRAGMA journal_mode");
        assert_string_equal(mode, "wal");
        free(mode);
        sqlite3_close(db);
        wal = zero_strdup_printf("%s-wal", f->path);
        assert_int_equal(access(wal, F_OK), 0);
        free(wal);

        /* foreign_keys is per connection, so only behaviour shows that the store turned it on:
         * a dangling image reference is refused. */
        assert_int_equal(zero_store_instance_insert(f->s, &in), -ENOENT);
}

static void test_reopen_keeps_data(void **state) {
        struct fixture *f = *state;
        struct zero_image_row im = image_row("debian"), gi = {};
        struct zero_instance_row in = instance_row(ID_A, "web", "debian", "running", 2, 512, 10), gn = {};
        struct zero_error err = {};
        char *v = (char *) "untouched";

        assert_int_equal(zero_store_node_get(f->s, "name", &v), -ENOENT);
        assert_string_equal(v, "untouched");
        assert_int_equal(zero_store_node_set(f->s, "name", "node-1"), 0);
        assert_int_equal(zero_store_node_set(f->s, "name", "node-2"), 0); /* overwrites */
        assert_int_equal(zero_store_node_set(f->s, "empty", NULL), 0);
        assert_int_equal(zero_store_image_insert(f->s, &im), 0);
        assert_int_equal(zero_store_instance_insert(f->s, &in), 0);

        f->s = zero_store_close(f->s);
        assert_null(f->s);
        assert_int_equal(zero_store_open(f->path, &f->s, &err), 0);
        assert_int_equal(zero_store_schema_version(f->s), ZERO_STORE_SCHEMA_VERSION);

        assert_int_equal(zero_store_node_get(f->s, "name", &v), 0);
        assert_string_equal(v, "node-2");
        free(v);
        assert_int_equal(zero_store_node_get(f->s, "empty", &v), 0);
        assert_null(v);
        assert_int_equal(zero_store_image_get(f->s, "debian", &gi), 0);
        assert_string_equal(gi.source, im.source);
        assert_int_equal(gi.size_bytes, im.size_bytes);
        assert_int_equal(zero_store_instance_get(f->s, "web", &gn), 0);
        assert_string_equal(gn.id, ID_A);
        zero_image_row_done(&gi);
        zero_instance_row_done(&gn);
}

/* Schema version 1 as released; frozen here on purpose so that the upgrade path is tested
 * against what old files really contain, not against the current migration text. */
static const char schema_v1[] =
        "CREATE TABLE node (key TEXT PRIMARY KEY NOT NULL, value TEXT);"
        "CREATE TABLE images (name TEXT PRIMARY KEY NOT NULL, source TEXT, path TEXT,"
        "  size_bytes INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL DEFAULT 0);"
        "CREATE TABLE instances (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL UNIQUE, mode TEXT,"
        "  state TEXT NOT NULL, image TEXT REFERENCES images(name) ON DELETE RESTRICT,"
        "  cpus INTEGER NOT NULL DEFAULT 0, memory_mib INTEGER NOT NULL DEFAULT 0, spec TEXT,"
        "  pid INTEGER NOT NULL DEFAULT 0, exit_code INTEGER, error TEXT,"
        "  created_at INTEGER NOT NULL DEFAULT 0, started_at INTEGER NOT NULL DEFAULT 0,"
        "  stopped_at INTEGER NOT NULL DEFAULT 0, updated_at INTEGER NOT NULL DEFAULT 0);"
        "CREATE INDEX instances_image ON instances(image);"
        "CREATE TABLE operations (id TEXT PRIMARY KEY NOT NULL, kind TEXT NOT NULL,"
        "  instance_id TEXT REFERENCES instances(id) ON DELETE SET NULL, instance_name TEXT,"
        "  status TEXT NOT NULL, step INTEGER NOT NULL DEFAULT 0, step_name TEXT, params TEXT,"
        "  error_code TEXT, error_message TEXT, created_at INTEGER NOT NULL DEFAULT 0,"
        "  updated_at INTEGER NOT NULL DEFAULT 0, finished_at INTEGER NOT NULL DEFAULT 0);"
        "CREATE INDEX operations_status ON operations(status);"
        "CREATE INDEX operations_instance_id ON operations(instance_id);"
        "PRAGMA user_version = 1;";

static void test_migrate_from_v1(void **state) {
        struct fixture *f = *state;
        struct zero_instance_row in = {};
        struct zero_operation_row op = {};
        struct zero_event_row *ev = NULL;
        struct zero_error err = {};
        size_t n = 0;
        int64_t id = 0;
        char *v = NULL;
        sqlite3 *db;

        db = raw_open(f->path);
        raw_exec(db, schema_v1);
        raw_exec(db, "INSERT INTO node VALUES ('name', 'old-node');"
                     "INSERT INTO images (name, path) VALUES ('debian', '/images/debian');"
                     "INSERT INTO instances (id, name, state, image, cpus, memory_mib, exit_code)"
                     "  VALUES ('" ID_A "', 'web', 'stopped', 'debian', 2, 256, 137);"
                     "INSERT INTO operations (id, kind, instance_id, status, step)"
                     "  VALUES ('" ID_B "', 'stop', '" ID_A "', 'running', 3);");
        assert_false(raw_has(db, "table", "events"));
        sqlite3_close(db);

        assert_int_equal(zero_store_open(f->path, &f->s, &err), 0);
        assert_int_equal(zero_store_schema_version(f->s), ZERO_STORE_SCHEMA_VERSION);

        assert_int_equal(zero_store_node_get(f->s, "name", &v), 0);
        assert_string_equal(v, "old-node");
        free(v);
        assert_int_equal(zero_store_instance_get(f->s, "web", &in), 0);
        assert_string_equal(in.image, "debian");
        assert_int_equal(in.memory_mib, 256);
        assert_true(in.has_exit_code);
        assert_int_equal(in.exit_code, 137);
        assert_null(in.mode);
        zero_instance_row_done(&in);
        assert_int_equal(zero_store_operation_get(f->s, ID_B, &op), 0);
        assert_string_equal(op.instance_id, ID_A);
        assert_int_equal(op.step, 3);
        zero_operation_row_done(&op);

        /* Version 2's table works. */
        assert_int_equal(zero_store_event_append(f->s, "instance.state", "web", "{}", NULL, &id), 0);
        assert_int_equal(id, 1);
        assert_int_equal(zero_store_event_list(f->s, 0, 10, &ev, &n), 0);
        assert_int_equal(n, 1);
        zero_event_rows_free(ev, n);
}

/* A step that fails leaves the file at the version before it: the step and its user_version
 * bump are one transaction. */
static void test_failed_migration_rolls_back(void **state) {
        struct fixture *f = *state;
        struct zero_error err = {};
        struct zero_store *s = NULL;
        sqlite3 *db;

        db = raw_open(f->path);
        raw_exec(db, schema_v1);
        raw_exec(db, "CREATE TABLE events (squatter TEXT); INSERT INTO events VALUES ('x');");
        sqlite3_close(db);

        assert_int_equal(zero_store_open(f->path, &s, &err), -EIO);
        assert_null(s);
        assert_non_null(strstr(err.message, "version 2"));
        assert_non_null(strstr(err.message, "already exists"));

        db = raw_open(f->path);
        assert_int_equal(raw_int(db, "PRAGMA user_version"), 1);
        assert_int_equal(raw_int(db, "SELECT COUNT(*) FROM events WHERE squatter = 'x'"), 1);
        sqlite3_close(db);
}

/* Schema version 2 as released, on top of version 1; frozen like schema_v1. */
static const char schema_v2_step[] =
        "CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL,"
        "  type TEXT NOT NULL, instance TEXT, data TEXT);"
        "PRAGMA user_version = 2;";

static sqlite3 *raw_make_v2(const char *path) {
        sqlite3 *db = raw_open(path);

        raw_exec(db, schema_v1);
        raw_exec(db, schema_v2_step);
        return db;
}

static void test_migrate_from_v2(void **state) {
        struct fixture *f = *state;
        struct zero_instance_row in = {};
        struct zero_operation_row op = {};
        struct zero_event_row *ev = NULL;
        struct zero_volume_row vol = {
                .name = "web-root",
                .id = ID_C,
                .size_bytes = 1 << 30,
                .image = "debian",
                .locator = "qcow2:/var/lib/zero/volumes/web-root.qcow2",
                .format = "qcow2",
                .state = "ready",
                .owner_instance = ID_A,
        };
        struct zero_attachment_row at = {
                .volume = "web-root", .instance_id = ID_A, .role = "root", .personality = "virtio-blk",
        };
        struct zero_error err = {};
        size_t n = 0;
        sqlite3 *db;

        db = raw_make_v2(f->path);
        raw_exec(db, "INSERT INTO images (name, path) VALUES ('debian', '/images/debian');"
                     "INSERT INTO instances (id, name, state, image, cpus, memory_mib)"
                     "  VALUES ('" ID_A "', 'web', 'running', 'debian', 2, 256);"
                     "INSERT INTO operations (id, kind, instance_id, status, step)"
                     "  VALUES ('" ID_B "', 'start', '" ID_A "', 'running', 2);"
                     "INSERT INTO events (time, type, instance) VALUES (5, 'instance.state', 'web');");
        assert_false(raw_has(db, "table", "volumes"));
        sqlite3_close(db);

        assert_int_equal(zero_store_open(f->path, &f->s, &err), 0);
        assert_int_equal(zero_store_schema_version(f->s), ZERO_STORE_SCHEMA_VERSION);

        /* The v2 rows are all there. */
        assert_int_equal(zero_store_instance_get(f->s, "web", &in), 0);
        assert_string_equal(in.id, ID_A);
        assert_string_equal(in.image, "debian");
        assert_int_equal(in.cpus, 2);
        zero_instance_row_done(&in);
        assert_int_equal(zero_store_operation_get(f->s, ID_B, &op), 0);
        assert_int_equal(op.step, 2);
        zero_operation_row_done(&op);
        assert_int_equal(zero_store_event_list(f->s, 0, 10, &ev, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(ev[0].time, 5);
        zero_event_rows_free(ev, n);

        /* And version 3's tables reference them. */
        assert_int_equal(zero_store_volume_insert(f->s, &vol), 0);
        assert_int_equal(zero_store_attachment_insert(f->s, &at), 0);
        assert_int_equal(zero_store_image_delete(f->s, "debian"), -ENOTEMPTY);
}

/* Version 3 is one step: a failure in its last statement undoes its first. */
static void test_failed_migration_v3_rolls_back(void **state) {
        struct fixture *f = *state;
        struct zero_error err = {};
        struct zero_store *s = NULL;
        sqlite3 *db;

        db = raw_make_v2(f->path);
        raw_exec(db, "CREATE TABLE attachments (squatter TEXT);");
        sqlite3_close(db);

        assert_int_equal(zero_store_open(f->path, &s, &err), -EIO);
        assert_null(s);
        assert_non_null(strstr(err.message, "version 3"));

        db = raw_open(f->path);
        assert_int_equal(raw_int(db, "PRAGMA user_version"), 2);
        assert_false(raw_has(db, "table", "volumes"));
        assert_false(raw_has(db, "table", "networks"));
        assert_true(raw_has(db, "table", "events"));
        sqlite3_close(db);
}

static void test_newer_version_refused(void **state) {
        struct fixture *f = *state;
        struct zero_store *s = NULL;
        struct zero_error err = {};
        char *sql, *want, *mode;
        sqlite3 *db;

        db = raw_open(f->path);
        sql = zero_strdup_printf("CREATE TABLE future (x); PRAGMA user_version = %d;", ZERO_STORE_SCHEMA_VERSION + 1);
        raw_exec(db, sql);
        free(sql);
        sqlite3_close(db);

        assert_int_equal(zero_store_open(f->path, &s, &err), -EPROTONOSUPPORT);
        assert_null(s);
        assert_int_equal(err.code, ZERO_E_INTERNAL);
        want = zero_strdup_printf("schema version %d", ZERO_STORE_SCHEMA_VERSION + 1);
        assert_non_null(strstr(err.message, want));
        free(want);
        assert_non_null(strstr(err.message, f->path));

        /* Refused before anything was written: still the newer version, journal mode untouched. */
        db = raw_open(f->path);
        assert_int_equal(raw_int(db, "PRAGMA user_version"), ZERO_STORE_SCHEMA_VERSION + 1);
        mode = raw_text(db, "PRAGMA journal_mode");
        assert_string_equal(mode, "delete");
        free(mode);
        sqlite3_close(db);
}

static void test_open_errors(void **state) {
        struct fixture *f = *state;
        struct zero_store *s = NULL;
        struct zero_error err = {};
        char *path = zero_strdup_printf("%s/missing/zero.db", f->dir);
        char junk[4096];

        assert_int_equal(zero_store_open(path, &s, &err), -ENOENT);
        assert_null(s);
        assert_non_null(strstr(err.message, path));
        free(path);

        /* A file that is not a database (large enough that SQLite reads its header). */
        memset(junk, 'x', sizeof(junk));
        assert_int_equal(zero_write_file_atomic(f->path, junk, sizeof(junk), 0600), 0);
        err = (struct zero_error) {};
        assert_int_equal(zero_store_open(f->path, &s, &err), -EIO);
        assert_null(s);
        assert_true(err.message[0] != '\0');
        assert_null(zero_store_close(NULL));
}

/* --- transactions and constraints --- */

static void test_failed_transaction(void **state) {
        struct fixture *f = *state;
        struct zero_instance_row a = instance_row(ID_A, "web", NULL, "creating", 1, 64, 1);
        struct zero_instance_row b = instance_row(ID_B, "web", NULL, "creating", 1, 64, 2);
        struct zero_instance_row *rows = (void *) 1;
        struct zero_instance_row got = {};
        size_t n = 99;

        assert_int_equal(zero_store_begin(f->s), 0);
        assert_int_equal(zero_store_begin(f->s), -EALREADY);
        assert_int_equal(zero_store_instance_insert(f->s, &a), 0);
        assert_int_equal(zero_store_instance_insert(f->s, &b), -EEXIST);
        /* The failed statement did not end the transaction: a is still visible inside it. */
        assert_int_equal(zero_store_instance_get(f->s, "web", &got), 0);
        zero_instance_row_done(&got);
        assert_int_equal(zero_store_rollback(f->s), 0);

        assert_int_equal(zero_store_instance_get(f->s, "web", &got), -ENOENT);
        assert_int_equal(zero_store_instance_get_by_id(f->s, ID_A, &got), -ENOENT);
        assert_int_equal(zero_store_instance_list(f->s, &rows, &n), 0);
        assert_int_equal(n, 0);
        assert_null(rows);

        /* Outside a transaction: commit is a caller bug, rollback a harmless no-op. */
        assert_int_equal(zero_store_commit(f->s), -EINVAL);
        assert_int_equal(zero_store_rollback(f->s), 0);

        /* And a committed one stays. */
        assert_int_equal(zero_store_begin(f->s), 0);
        assert_int_equal(zero_store_instance_insert(f->s, &a), 0);
        assert_int_equal(zero_store_commit(f->s), 0);
        assert_int_equal(zero_store_instance_get(f->s, "web", &got), 0);
        zero_instance_row_done(&got);

        /* The sync of what is committed (an fsync of the log): outside a transaction only. */
        assert_int_equal(zero_store_sync(f->s), 0);
        assert_int_equal(zero_store_begin(f->s), 0);
        assert_int_equal(zero_store_sync(f->s), -EINVAL);
        assert_int_equal(zero_store_rollback(f->s), 0);
        assert_int_equal(zero_store_sync(f->s), 0);
}

/* A batch is one transaction: nothing is seen from another connection until it ends (or is
 * flushed); groups inside it are savepoints, rolled back alone; nested batches share the
 * outermost's transaction. */
static void test_batch(void **state) {
        struct fixture *f = *state;
        struct zero_instance_row a = instance_row(ID_A, "a", NULL, "creating", 1, 64, 1);
        struct zero_instance_row b = instance_row(ID_B, "b", NULL, "creating", 1, 64, 2);
        struct zero_instance_row c = instance_row(ID_C, "c", NULL, "creating", 1, 64, 3);
        struct zero_instance_row got = {};
        struct zero_store *other = NULL;
        struct zero_error err = {};

        assert_int_equal(zero_store_open(f->path, &other, &err), 0);

        zero_store_batch_begin(f->s);
        assert_int_equal(zero_store_instance_insert(f->s, &a), 0);
        assert_int_equal(zero_store_instance_get(f->s, "a", &got), 0); /* seen inside */
        zero_instance_row_done(&got);
        assert_int_equal(zero_store_instance_get(other, "a", &got), -ENOENT); /* not outside */

        /* A group that fails is undone alone; the batch's writes stay. */
        assert_int_equal(zero_store_begin(f->s), 0);
        assert_int_equal(zero_store_instance_insert(f->s, &b), 0);
        assert_int_equal(zero_store_rollback(f->s), 0);
        assert_int_equal(zero_store_instance_get(f->s, "b", &got), -ENOENT);
        assert_int_equal(zero_store_instance_get(f->s, "a", &got), 0);
        zero_instance_row_done(&got);
        /* A rollback outside a group keeps them too; a commit outside one is a caller bug. */
        assert_int_equal(zero_store_rollback(f->s), 0);
        assert_int_equal(zero_store_commit(f->s), -EINVAL);
        assert_int_equal(zero_store_instance_get(f->s, "a", &got), 0);
        zero_instance_row_done(&got);

        /* A group that commits joins the batch, still unseen outside. */
        assert_int_equal(zero_store_begin(f->s), 0);
        assert_int_equal(zero_store_instance_insert(f->s, &b), 0);
        assert_int_equal(zero_store_commit(f->s), 0);
        assert_int_equal(zero_store_instance_get(other, "b", &got), -ENOENT);

        /* A flush commits what the batch holds and goes on. */
        assert_int_equal(zero_store_batch_flush(f->s), 0);
        assert_int_equal(zero_store_instance_get(other, "a", &got), 0);
        zero_instance_row_done(&got);
        assert_int_equal(zero_store_instance_get(other, "b", &got), 0);
        zero_instance_row_done(&got);

        /* A nested batch's end commits nothing; the outermost's does. */
        zero_store_batch_begin(f->s);
        assert_int_equal(zero_store_instance_insert(f->s, &c), 0);
        assert_int_equal(zero_store_batch_end(f->s), 0);
        assert_int_equal(zero_store_instance_get(other, "c", &got), -ENOENT);
        assert_int_equal(zero_store_batch_end(f->s), 0);
        assert_int_equal(zero_store_instance_get(other, "c", &got), 0);
        zero_instance_row_done(&got);

        /* Ended, the store is as without batches: begin, no nesting, commit. */
        assert_int_equal(zero_store_batch_end(f->s), 0); /* an end too many: nothing */
        assert_int_equal(zero_store_begin(f->s), 0);
        assert_int_equal(zero_store_begin(f->s), -EALREADY);
        assert_int_equal(zero_store_commit(f->s), 0);

        /* A batch begun inside a caller's transaction leaves it to the caller. */
        assert_int_equal(zero_store_begin(f->s), 0);
        zero_store_batch_begin(f->s);
        assert_int_equal(zero_store_instance_delete(f->s, ID_C), 0);
        assert_int_equal(zero_store_batch_end(f->s), 0);
        assert_int_equal(zero_store_rollback(f->s), 0);
        assert_int_equal(zero_store_instance_get(f->s, "c", &got), 0);
        zero_instance_row_done(&got);

        zero_store_close(other);
}

static void test_unique(void **state) {
        struct fixture *f = *state;
        struct zero_instance_row a = instance_row(ID_A, "web", NULL, "creating", 1, 64, 1);
        struct zero_instance_row same_name = instance_row(ID_B, "web", NULL, "creating", 1, 64, 2);
        struct zero_instance_row same_id = instance_row(ID_A, "db", NULL, "creating", 1, 64, 3);
        struct zero_instance_row no_state = instance_row(ID_C, "x", NULL, NULL, 1, 64, 3);
        struct zero_image_row im = image_row("debian");
        struct zero_operation_row op = operation_row(ID_D, NULL, "running", 1);
        struct zero_instance_row *rows = NULL;
        size_t n = 0;

        assert_int_equal(zero_store_instance_insert(f->s, &a), 0);
        assert_int_equal(zero_store_instance_insert(f->s, &same_name), -EEXIST);
        assert_int_equal(zero_store_instance_insert(f->s, &same_id), -EEXIST);
        assert_int_equal(zero_store_instance_insert(f->s, &no_state), -EINVAL);
        assert_int_equal(zero_store_image_insert(f->s, &im), 0);
        assert_int_equal(zero_store_image_insert(f->s, &im), -EEXIST);
        assert_int_equal(zero_store_operation_insert(f->s, &op), 0);
        assert_int_equal(zero_store_operation_insert(f->s, &op), -EEXIST);

        assert_int_equal(zero_store_instance_list(f->s, &rows, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(rows[0].id, ID_A);
        zero_instance_rows_free(rows, n);
}

/* --- images --- */

static void test_image_in_use(void **state) {
        struct fixture *f = *state;
        struct zero_image_row deb = image_row("debian"), alp = image_row("alpine"), got = {};
        struct zero_instance_row a = instance_row(ID_A, "web", "debian", "running", 1, 64, 1);
        struct zero_instance_row b = instance_row(ID_B, "db", "debian", "stopped", 1, 64, 2);
        struct zero_image_row *list = NULL;
        size_t n = 0;

        alp.source = NULL;
        alp.path = NULL;
        assert_int_equal(zero_store_image_insert(f->s, &deb), 0);
        assert_int_equal(zero_store_image_insert(f->s, &alp), 0);
        assert_int_equal(zero_store_image_users(f->s, "debian"), 0);
        assert_int_equal(zero_store_instance_insert(f->s, &a), 0);
        assert_int_equal(zero_store_instance_insert(f->s, &b), 0);
        assert_int_equal(zero_store_image_users(f->s, "debian"), 2);
        assert_int_equal(zero_store_image_users(f->s, "alpine"), 0);
        assert_int_equal(zero_store_image_users(f->s, "unknown"), 0);

        assert_int_equal(zero_store_image_delete(f->s, "debian"), -ENOTEMPTY);
        assert_int_equal(zero_store_image_get(f->s, "debian", &got), 0);
        assert_string_equal(got.name, "debian");
        assert_string_equal(got.source, deb.source);
        assert_string_equal(got.path, deb.path);
        assert_int_equal(got.size_bytes, deb.size_bytes);
        assert_int_equal(got.created_at, deb.created_at);
        zero_image_row_done(&got);
        assert_int_equal(zero_store_image_users(f->s, "debian"), 2);

        /* Listed by name; NULL strings come back NULL. */
        assert_int_equal(zero_store_image_list(f->s, &list, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(list[0].name, "alpine");
        assert_null(list[0].source);
        assert_null(list[0].path);
        assert_string_equal(list[1].name, "debian");
        zero_image_rows_free(list, n);

        assert_int_equal(zero_store_instance_delete(f->s, ID_A), 0);
        assert_int_equal(zero_store_instance_delete(f->s, ID_B), 0);
        assert_int_equal(zero_store_instance_delete(f->s, ID_B), -ENOENT);
        assert_int_equal(zero_store_image_users(f->s, "debian"), 0);
        assert_int_equal(zero_store_image_delete(f->s, "debian"), 0);
        assert_int_equal(zero_store_image_delete(f->s, "debian"), -ENOENT);
        assert_int_equal(zero_store_image_get(f->s, "debian", &got), -ENOENT);
        zero_image_row_done(&got); /* a zeroed row is fine */
}

/* --- instances --- */

static void assert_instance(const struct zero_instance_row *got, const struct zero_instance_row *want) {
        assert_str(got->id, want->id);
        assert_str(got->name, want->name);
        assert_str(got->mode, want->mode);
        assert_str(got->state, want->state);
        assert_str(got->image, want->image);
        assert_int_equal(got->cpus, want->cpus);
        assert_int_equal(got->memory_mib, want->memory_mib);
        assert_str(got->spec, want->spec);
        assert_int_equal(got->pid, want->pid);
        assert_int_equal(got->has_exit_code, want->has_exit_code);
        assert_int_equal(got->exit_code, want->exit_code);
        assert_str(got->error, want->error);
        assert_int_equal(got->created_at, want->created_at);
        assert_int_equal(got->started_at, want->started_at);
        assert_int_equal(got->stopped_at, want->stopped_at);
        assert_int_equal(got->updated_at, want->updated_at);
}

static void test_instance_roundtrip(void **state) {
        struct fixture *f = *state;
        struct zero_image_row im = image_row("debian");
        struct zero_instance_row full = {
                .id = ID_A,
                .name = "web",
                .mode = "vm",
                .state = "stopped",
                .image = "debian",
                .cpus = 4,
                .memory_mib = 4096,
                .spec = "{\"hostname\":\"web\",\"env\":[\"A=1\"]}",
                .pid = 4242,
                .has_exit_code = true,
                .exit_code = -9,
                .error = "killed by the OOM killer",
                .created_at = 1700000000000001,
                .started_at = 1700000000000002,
                .stopped_at = 1700000000000003,
                .updated_at = 1700000000000004,
        };
        struct zero_instance_row bare = { .id = ID_B, .name = "bare", .state = "creating" };
        struct zero_instance_row got = {}, upd, missing = { .id = ID_C, .state = "running" };

        assert_int_equal(zero_store_image_insert(f->s, &im), 0);
        assert_int_equal(zero_store_instance_insert(f->s, &full), 0);
        assert_int_equal(zero_store_instance_insert(f->s, &bare), 0);

        assert_int_equal(zero_store_instance_get(f->s, "web", &got), 0);
        assert_instance(&got, &full);
        zero_instance_row_done(&got);
        assert_null(got.id);
        assert_int_equal(zero_store_instance_get_by_id(f->s, ID_A, &got), 0);
        assert_instance(&got, &full);
        zero_instance_row_done(&got);

        /* Every optional string NULL, no exit code. */
        assert_int_equal(zero_store_instance_get(f->s, "bare", &got), 0);
        assert_instance(&got, &bare);
        zero_instance_row_done(&got);

        /* Update every mutable column: strings to NULL, exit code away. */
        upd = full;
        upd.mode = NULL;
        upd.state = "running";
        upd.pid = 99;
        upd.has_exit_code = false;
        upd.exit_code = 0;
        upd.error = NULL;
        upd.started_at = 11;
        upd.stopped_at = 0;
        upd.updated_at = 12;
        assert_int_equal(zero_store_instance_update(f->s, &upd), 0);
        assert_int_equal(zero_store_instance_get_by_id(f->s, ID_A, &got), 0);
        assert_instance(&got, &upd);
        zero_instance_row_done(&got);

        /* Exit code 0 is an exit code, not "none"; and the immutable columns are left alone. */
        upd.has_exit_code = true;
        upd.exit_code = 0;
        upd.mode = "container";
        upd.error = "exited";
        upd.cpus = 64;
        upd.spec = "{}";
        upd.created_at = 5;
        assert_int_equal(zero_store_instance_update(f->s, &upd), 0);
        assert_int_equal(zero_store_instance_get(f->s, "web", &got), 0);
        assert_true(got.has_exit_code);
        assert_int_equal(got.exit_code, 0);
        assert_string_equal(got.mode, "container");
        assert_string_equal(got.error, "exited");
        assert_int_equal(got.cpus, full.cpus);
        assert_string_equal(got.spec, full.spec);
        assert_int_equal(got.created_at, full.created_at);
        zero_instance_row_done(&got);

        assert_int_equal(zero_store_instance_update(f->s, &missing), -ENOENT);
}

static void test_instance_list_order(void **state) {
        struct fixture *f = *state;
        struct zero_instance_row r[] = {
                instance_row(ID_A, "c", NULL, "running", 1, 1, 20),
                instance_row(ID_B, "b", NULL, "running", 1, 1, 10),
                instance_row(ID_C, "a", NULL, "running", 1, 1, 20),
        };
        struct zero_instance_row *list = NULL;
        size_t n = 0;

        for (size_t i = 0; i < ELEMENTSOF(r); i++)
                assert_int_equal(zero_store_instance_insert(f->s, &r[i]), 0);
        assert_int_equal(zero_store_instance_list(f->s, &list, &n), 0);
        assert_int_equal(n, 3);
        assert_string_equal(list[0].name, "b"); /* created first */
        assert_string_equal(list[1].name, "a"); /* same time: by name */
        assert_string_equal(list[2].name, "c");
        assert_string_equal(list[2].id, ID_A);
        zero_instance_rows_free(list, n);
}

static void test_allocated(void **state) {
        struct fixture *f = *state;
        struct zero_instance_row r[] = {
                instance_row(ID_A, "run", NULL, "running", 2, 512, 1),
                instance_row(ID_B, "new", NULL, "creating", 1, 256, 2),
                instance_row(ID_C, "off", NULL, "stopped", 4, 1024, 3),
                instance_row(ID_D, "bad", NULL, "error", 8, 2048, 4),
        };
        int64_t cpus = -1, mem = -1;

        assert_int_equal(zero_store_instance_allocated(f->s, &cpus, &mem), 0);
        assert_int_equal(cpus, 0);
        assert_int_equal(mem, 0);
        for (size_t i = 0; i < ELEMENTSOF(r); i++)
                assert_int_equal(zero_store_instance_insert(f->s, &r[i]), 0);
        assert_int_equal(zero_store_instance_allocated(f->s, &cpus, &mem), 0);
        assert_int_equal(cpus, 3);
        assert_int_equal(mem, 768);

        /* Stopping releases; starting again takes. */
        r[0].state = "stopped";
        r[2].state = "starting";
        assert_int_equal(zero_store_instance_update(f->s, &r[0]), 0);
        assert_int_equal(zero_store_instance_update(f->s, &r[2]), 0);
        assert_int_equal(zero_store_instance_allocated(f->s, &cpus, &mem), 0);
        assert_int_equal(cpus, 5);
        assert_int_equal(mem, 1280);
}

/* --- operations --- */

static void test_operations(void **state) {
        struct fixture *f = *state;
        struct zero_instance_row in = instance_row(ID_A, "web", NULL, "starting", 1, 64, 1);
        struct zero_operation_row o1 = operation_row(ID_B, ID_A, "running", 100);
        struct zero_operation_row o2 = operation_row(ID_C, ID_A, "running", 200);
        struct zero_operation_row done = operation_row(ID_D, ID_A, "succeeded", 300);
        struct zero_operation_row dangling = operation_row("eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", ID_D, "running", 1);
        struct zero_operation_row *list = NULL, got = {}, upd;
        size_t n = 0;

        assert_int_equal(zero_store_instance_insert(f->s, &in), 0);
        assert_int_equal(zero_store_operation_insert(f->s, &o2), 0);
        assert_int_equal(zero_store_operation_insert(f->s, &done), 0);
        assert_int_equal(zero_store_operation_insert(f->s, &o1), 0);
        assert_int_equal(zero_store_operation_insert(f->s, &dangling), -ENOENT);

        assert_int_equal(zero_store_operation_list_unfinished(f->s, &list, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(list[0].id, ID_B); /* oldest first */
        assert_string_equal(list[1].id, ID_C);
        assert_string_equal(list[0].step_name, "spawn");
        assert_null(list[0].error_code);
        zero_operation_rows_free(list, n);

        assert_int_equal(zero_store_operation_running_for(f->s, ID_A, &got), 0);
        assert_string_equal(got.id, ID_C); /* newest first */
        zero_operation_row_done(&got);
        assert_int_equal(zero_store_operation_running_for(f->s, ID_D, &got), -ENOENT);

        /* o2 fails: every written column comes back. */
        upd = o2;
        upd.status = "failed";
        upd.step = 4;
        upd.step_name = "cleanup";
        upd.error_code = "spawn_failed";
        upd.error_message = "exec: no such file";
        upd.updated_at = 250;
        upd.finished_at = 251;
        upd.params = "{\"volumes\":[\"web-root\"]}"; /* what a step learnt for the next ones */
        assert_int_equal(zero_store_operation_update(f->s, &upd), 0);
        assert_int_equal(zero_store_operation_get(f->s, ID_C, &got), 0);
        assert_string_equal(got.id, ID_C);
        assert_string_equal(got.kind, "start");
        assert_string_equal(got.instance_id, ID_A);
        assert_string_equal(got.instance_name, "web");
        assert_string_equal(got.status, "failed");
        assert_int_equal(got.step, 4);
        assert_string_equal(got.step_name, "cleanup");
        assert_string_equal(got.params, "{\"volumes\":[\"web-root\"]}");
        assert_string_equal(got.error_code, "spawn_failed");
        assert_string_equal(got.error_message, "exec: no such file");
        assert_int_equal(got.created_at, 200);
        assert_int_equal(got.updated_at, 250);
        assert_int_equal(got.finished_at, 251);
        zero_operation_row_done(&got);

        assert_int_equal(zero_store_operation_running_for(f->s, ID_A, &got), 0);
        assert_string_equal(got.id, ID_B);
        zero_operation_row_done(&got);

        upd.id = "ffffffffffffffffffffffffffffffff";
        assert_int_equal(zero_store_operation_update(f->s, &upd), -ENOENT);
        assert_int_equal(zero_store_operation_get(f->s, upd.id, &got), -ENOENT);

        /* Deleting the instance keeps its operations, detached. */
        assert_int_equal(zero_store_instance_delete(f->s, ID_A), 0);
        assert_int_equal(zero_store_operation_get(f->s, ID_B, &got), 0);
        assert_null(got.instance_id);
        assert_string_equal(got.instance_name, "web");
        zero_operation_row_done(&got);
        assert_int_equal(zero_store_operation_running_for(f->s, ID_A, &got), -ENOENT);

        /* Trimmed to the newest finished ones in the order they were made (C failed, then D
         * succeeded); the running one (B) is never trimmed, nor counted. */
        assert_int_equal(zero_store_operation_trim(f->s, -1), -EINVAL);
        assert_int_equal(zero_store_operation_trim(f->s, 2), 0);
        assert_int_equal(zero_store_operation_trim(f->s, 1), 1);
        assert_int_equal(zero_store_operation_get(f->s, ID_C, &got), -ENOENT);
        assert_int_equal(zero_store_operation_get(f->s, ID_D, &got), 0);
        zero_operation_row_done(&got);
        assert_int_equal(zero_store_operation_trim(f->s, 0), 1);
        assert_int_equal(zero_store_operation_get(f->s, ID_D, &got), -ENOENT);
        assert_int_equal(zero_store_operation_get(f->s, ID_B, &got), 0);
        zero_operation_row_done(&got);
}

/* --- events --- */

static void test_events(void **state) {
        struct fixture *f = *state;
        struct zero_event_row *list = NULL;
        uint64_t before = zero_now_usec();
        int64_t id = 0;
        size_t n = 0;

        for (int i = 1; i <= 5; i++) {
                char data[32];
                snprintf(data, sizeof(data), "{\"i\":%d}", i);
                assert_int_equal(zero_store_event_append(f->s, "instance.state", i == 3 ? NULL : "web",
                                                         i == 4 ? NULL : data, i == 2 ? "token:ci" : NULL, &id), 0);
                assert_int_equal(id, i);
        }
        assert_int_equal(zero_store_event_append(f->s, NULL, NULL, NULL, NULL, NULL), -EINVAL);

        assert_int_equal(zero_store_event_list(f->s, 0, 100, &list, &n), 0);
        assert_int_equal(n, 5);
        for (size_t i = 0; i < n; i++) {
                assert_int_equal(list[i].id, (int64_t) i + 1);
                assert_true(list[i].time >= (int64_t) before);
                assert_string_equal(list[i].type, "instance.state");
        }
        assert_null(list[2].instance);
        assert_string_equal(list[1].instance, "web");
        assert_string_equal(list[1].data, "{\"i\":2}");
        assert_null(list[3].data);
        assert_string_equal(list[1].actor, "token:ci");
        assert_null(list[0].actor);
        zero_event_rows_free(list, n);

        assert_int_equal(zero_store_event_list(f->s, 2, 2, &list, &n), 0);
        assert_int_equal(n, 2);
        assert_int_equal(list[0].id, 3);
        assert_int_equal(list[1].id, 4);
        zero_event_rows_free(list, n);
        assert_int_equal(zero_store_event_list(f->s, 5, 10, &list, &n), 0);
        assert_int_equal(n, 0);
        assert_null(list);
        /* The newest, oldest first (zeroctl events, issue 16). */
        assert_int_equal(zero_store_event_list_last(f->s, 2, &list, &n), 0);
        assert_int_equal(n, 2);
        assert_int_equal(list[0].id, 4);
        assert_int_equal(list[1].id, 5);
        zero_event_rows_free(list, n);
        assert_int_equal(zero_store_event_list_last(f->s, 100, &list, &n), 0);
        assert_int_equal(n, 5);
        assert_int_equal(list[0].id, 1);
        assert_int_equal(list[4].id, 5);
        zero_event_rows_free(list, n);

        /* Trimming inside a caller's transaction follows the caller's rollback. */
        assert_int_equal(zero_store_begin(f->s), 0);
        assert_int_equal(zero_store_event_trim(f->s, 0), 5);
        assert_int_equal(zero_store_rollback(f->s), 0);

        assert_int_equal(zero_store_event_trim(f->s, -1), -EINVAL);
        assert_int_equal(zero_store_event_trim(f->s, 10), 0);
        assert_int_equal(zero_store_event_trim(f->s, 2), 3);
        assert_int_equal(zero_store_event_list(f->s, 0, 100, &list, &n), 0);
        assert_int_equal(n, 2);
        assert_int_equal(list[0].id, 4);
        assert_int_equal(list[1].id, 5);
        zero_event_rows_free(list, n);

        /* Ids are never reused, even once the log was emptied. */
        assert_int_equal(zero_store_event_trim(f->s, 0), 2);
        assert_int_equal(zero_store_event_append(f->s, "node.start", NULL, NULL, NULL, &id), 0);
        assert_int_equal(id, 6);
        zero_event_row_done(NULL);
}

static void test_tokens(void **state) {
        struct fixture *f = *state;
        struct zero_token_row t = {.name = "ci", .role = "admin", .hash = "aa", .created_by = "uid:0",
                                   .created_at = 7};
        struct zero_token_row got = {}, *list = NULL;
        size_t n = 0;

        assert_int_equal(zero_store_token_insert(f->s, &t), 0);
        assert_int_equal(zero_store_token_insert(f->s, &t), -EEXIST); /* the name */
        t.name = "other";
        assert_int_equal(zero_store_token_insert(f->s, &t), -EEXIST); /* the hash */
        t.hash = "bb";
        t.role = "read";
        assert_int_equal(zero_store_token_insert(f->s, &t), 0);
        t.role = NULL;
        assert_int_equal(zero_store_token_insert(f->s, &t), -EINVAL);

        assert_int_equal(zero_store_token_get_by_hash(f->s, "aa", &got), 0);
        assert_string_equal(got.name, "ci");
        assert_string_equal(got.role, "admin");
        assert_string_equal(got.created_by, "uid:0");
        assert_int_equal(got.created_at, 7);
        zero_token_row_done(&got);
        assert_int_equal(zero_store_token_get_by_hash(f->s, "cc", &got), -ENOENT);

        assert_int_equal(zero_store_token_list(f->s, &list, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(list[0].name, "ci");
        assert_string_equal(list[1].name, "other");
        zero_token_rows_free(list, n);

        assert_int_equal(zero_store_token_delete(f->s, "ci"), 0);
        assert_int_equal(zero_store_token_delete(f->s, "ci"), -ENOENT);
        assert_int_equal(zero_store_token_get_by_hash(f->s, "aa", &got), -ENOENT);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_create_from_empty, setup_open, teardown),
                cmocka_unit_test_setup_teardown(test_pragmas, setup_open, teardown),
                cmocka_unit_test_setup_teardown(test_reopen_keeps_data, setup_open, teardown),
                cmocka_unit_test_setup_teardown(test_migrate_from_v1, setup_dir, teardown),
                cmocka_unit_test_setup_teardown(test_failed_migration_rolls_back, setup_dir, teardown),
                cmocka_unit_test_setup_teardown(test_migrate_from_v2, setup_dir, teardown),
                cmocka_unit_test_setup_teardown(test_failed_migration_v3_rolls_back, setup_dir, teardown),
                cmocka_unit_test_setup_teardown(test_newer_version_refused, setup_dir, teardown),
                cmocka_unit_test_setup_teardown(test_open_errors, setup_dir, teardown),
                cmocka_unit_test_setup_teardown(test_failed_transaction, setup_open, teardown),
                cmocka_unit_test_setup_teardown(test_batch, setup_open, teardown),
                cmocka_unit_test_setup_teardown(test_unique, setup_open, teardown),
                cmocka_unit_test_setup_teardown(test_image_in_use, setup_open, teardown),
                cmocka_unit_test_setup_teardown(test_instance_roundtrip, setup_open, teardown),
                cmocka_unit_test_setup_teardown(test_instance_list_order, setup_open, teardown),
                cmocka_unit_test_setup_teardown(test_allocated, setup_open, teardown),
                cmocka_unit_test_setup_teardown(test_operations, setup_open, teardown),
                cmocka_unit_test_setup_teardown(test_events, setup_open, teardown),
                cmocka_unit_test_setup_teardown(test_tokens, setup_open, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
