/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's connection: opening the file, its pragmas, the numbered schema migrations,
 * transactions and the mapping of SQLite errors to -errno. The row accessors are in store.c.
 *
 * The connection reports extended result codes, so a failed step says which constraint it hit
 * and store_errno() can tell a duplicate name from a dangling reference.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store/store-internal.h"

/*
 * Schema migrations, applied in order by store_migrate(); migrations[i] takes user_version i to
 * i + 1. Never edit a released entry: append one and bump ZERO_STORE_SCHEMA_VERSION. A migration
 * that rebuilds a table must turn foreign_keys off outside its transaction first
 * (https://www.sqlite.org/lang_altertable.html#otheralter). tests/unit/test_store.c keeps frozen
 * copies of versions 1 and 2 to test the upgrade path.
 */
static const char *const migrations[] = {
        /* 1: the initial schema. Text primary keys say NOT NULL because SQLite, for historical
         * reasons, otherwise accepts NULL in them. Timestamps are microseconds, 0 = not yet. */
        "CREATE TABLE node ("
        "  key TEXT PRIMARY KEY NOT NULL,"
        "  value TEXT);"
        "CREATE TABLE images ("
        "  name TEXT PRIMARY KEY NOT NULL,"
        "  source TEXT,"
        "  path TEXT,"
        "  size_bytes INTEGER NOT NULL DEFAULT 0,"
        "  created_at INTEGER NOT NULL DEFAULT 0);"
        "CREATE TABLE instances ("
        "  id TEXT PRIMARY KEY NOT NULL,"
        "  name TEXT NOT NULL UNIQUE,"
        "  mode TEXT,"
        "  state TEXT NOT NULL,"
        "  image TEXT REFERENCES images(name) ON DELETE RESTRICT,"
        "  cpus INTEGER NOT NULL DEFAULT 0,"
        "  memory_mib INTEGER NOT NULL DEFAULT 0,"
        "  spec TEXT,"
        "  pid INTEGER NOT NULL DEFAULT 0,"
        "  exit_code INTEGER," /* NULL: no exit code (has_exit_code false) */
        "  error TEXT,"
        "  created_at INTEGER NOT NULL DEFAULT 0,"
        "  started_at INTEGER NOT NULL DEFAULT 0,"
        "  stopped_at INTEGER NOT NULL DEFAULT 0,"
        "  updated_at INTEGER NOT NULL DEFAULT 0);"
        /* Deleting an image checks for users; without this index that is a full scan. */
        "CREATE INDEX instances_image ON instances(image);"
        "CREATE TABLE operations ("
        "  id TEXT PRIMARY KEY NOT NULL,"
        "  kind TEXT NOT NULL,"
        "  instance_id TEXT REFERENCES instances(id) ON DELETE SET NULL,"
        "  instance_name TEXT,"
        "  status TEXT NOT NULL,"
        "  step INTEGER NOT NULL DEFAULT 0,"
        "  step_name TEXT,"
        "  params TEXT,"
        "  error_code TEXT,"
        "  error_message TEXT,"
        "  created_at INTEGER NOT NULL DEFAULT 0,"
        "  updated_at INTEGER NOT NULL DEFAULT 0,"
        "  finished_at INTEGER NOT NULL DEFAULT 0);"
        "CREATE INDEX operations_status ON operations(status);"
        "CREATE INDEX operations_instance_id ON operations(instance_id);",

        /* 2: the event log. AUTOINCREMENT so that an id is never handed out twice, even after
         * event_trim() deleted the newest rows: clients resume with "events after id N". */
        "CREATE TABLE events ("
        "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
        "  time INTEGER NOT NULL,"
        "  type TEXT NOT NULL,"
        "  instance TEXT,"
        "  data TEXT);",

        /* 3: the card's rows. Only new tables, so no rebuild and no foreign_keys dance; rows of v2
         * stay as they are.
         * A volume's base image is RESTRICT: a copy-on-write clone reads its base's blocks.
         * owner_instance is SET NULL: the instance's delete decides (delete_volumes) before it
         * deletes the row, and a kept volume outlives it as a free one.
         * A NIC's address is unique per network twice over: host_index is what
         * zero_store_nic_allocate_ip() searches, ip the text made from it; either UNIQUE refuses a
         * second holder even if a caller got the conversion wrong.
         * An attachment's key is its volume: a volume is attached to at most one instance. The
         * volume side is RESTRICT (no deleting an attached volume), the instance side CASCADE (a
         * deleted instance's rows go; its delete operation has already torn down the exports).
         * Every foreign key's child column leads some index, so a parent's delete does not scan:
         * the UNIQUE constraints cover nics and attachments, two indexes cover volumes. */
        "CREATE TABLE volumes ("
        "  name TEXT PRIMARY KEY NOT NULL,"
        "  id TEXT NOT NULL UNIQUE,"
        "  size_bytes INTEGER NOT NULL,"
        "  image TEXT REFERENCES images(name) ON DELETE RESTRICT,"
        "  path TEXT NOT NULL,"
        "  format TEXT NOT NULL,"
        "  state TEXT NOT NULL,"
        "  qos_iops INTEGER NOT NULL DEFAULT 0,"
        "  qos_bps INTEGER NOT NULL DEFAULT 0,"
        "  owner_instance TEXT REFERENCES instances(id) ON DELETE SET NULL,"
        "  created_at INTEGER NOT NULL,"
        "  updated_at INTEGER NOT NULL);"
        "CREATE INDEX volumes_image ON volumes(image);"
        "CREATE INDEX volumes_owner_instance ON volumes(owner_instance);"
        "CREATE TABLE networks ("
        "  name TEXT PRIMARY KEY NOT NULL,"
        "  id TEXT NOT NULL UNIQUE,"
        "  subnet TEXT NOT NULL,"
        "  gateway TEXT NOT NULL,"
        "  bridge TEXT NOT NULL UNIQUE,"
        "  created_at INTEGER NOT NULL);"
        "CREATE TABLE nics ("
        "  id TEXT PRIMARY KEY NOT NULL,"
        "  network TEXT NOT NULL REFERENCES networks(name) ON DELETE RESTRICT,"
        "  instance_id TEXT REFERENCES instances(id) ON DELETE CASCADE,"
        "  mac TEXT NOT NULL UNIQUE,"
        "  ip TEXT NOT NULL,"
        "  host_index INTEGER NOT NULL,"
        "  idx INTEGER NOT NULL,"
        "  created_at INTEGER NOT NULL,"
        "  UNIQUE (network, host_index),"
        "  UNIQUE (network, ip),"
        "  UNIQUE (instance_id, idx));"
        "CREATE TABLE attachments ("
        "  volume TEXT PRIMARY KEY NOT NULL REFERENCES volumes(name) ON DELETE RESTRICT,"
        "  instance_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,"
        "  role TEXT NOT NULL,"
        "  path TEXT,"
        "  personality TEXT NOT NULL,"
        "  export_kind TEXT,"
        "  export_path TEXT,"
        "  idx INTEGER NOT NULL,"
        "  UNIQUE (instance_id, idx));",

        /* 4: where a NIC is attached now, like an attachment's export: kind "veth" or "tap" and
         * its target (the network namespace's path, the tap's name); NULL while detached. Start-up
         * reconciliation compares these with the links it finds. */
        ("ALTER TABLE nics ADD COLUMN attach_kind TEXT;"
         "ALTER TABLE nics ADD COLUMN attach_target TEXT;"),

        /* 5: the steps an operation has done, with their times: a JSON array of
         * {"step", "duration_us"}, appended as each step ends. */
        "ALTER TABLE operations ADD COLUMN steps TEXT;",

        /* 6: API tokens, stored as the SHA-256 of their secret (never the secret: a copy of the
         * file gives no access), and who made each operation and event ("uid:0", "token:ci"). */
        "CREATE TABLE tokens ("
        "  name TEXT PRIMARY KEY NOT NULL,"
        "  role TEXT NOT NULL,"
        "  hash TEXT NOT NULL UNIQUE,"
        "  created_by TEXT,"
        "  created_at INTEGER NOT NULL);"
        "ALTER TABLE operations ADD COLUMN actor TEXT;"
        "ALTER TABLE events ADD COLUMN actor TEXT;",

        /* 7: card ABI 3. Where a volume lives is the driver's choice, an opaque locator that it
         * gives when the volume is placed and gets back with every call; the agent chose a path
         * before. A row from before gets the locator the softcard (the only driver until then)
         * reads as that path and format, "<format>:<path>" (io/softcard/storage.h). format stays,
         * as the driver's word for display. A network's bridge column keeps what it held: since
         * ABI 3 it is the name the driver gave for display, and the softcard derives the same. */
        "ALTER TABLE volumes ADD COLUMN locator TEXT NOT NULL DEFAULT '';"
        "UPDATE volumes SET locator = format || ':' || path;"
        "ALTER TABLE volumes DROP COLUMN path;",

        /* 8: a network's state, as a volume's: creating and deleting while the card's job makes
         * or removes it (an operation that a crash resumes), ready otherwise; every network made
         * before is ready. */
        "ALTER TABLE networks ADD COLUMN state TEXT NOT NULL DEFAULT 'ready';",

        /* 9: live migration. An export whose volume the card has released (card.h's
         * volume_release: the export stays, for the runtime connected to it, but the volume
         * behind it is closed, so that another node's card may open it); 0 for every export made
         * before, which all hold their volume. */
        "ALTER TABLE attachments ADD COLUMN released INTEGER NOT NULL DEFAULT 0;",
};
_Static_assert(ELEMENTSOF(migrations) == ZERO_STORE_SCHEMA_VERSION, "one migration per schema version");

int store_errno(int rc, enum store_fk fk) {
        switch (rc) {
        case SQLITE_CONSTRAINT_UNIQUE:
        case SQLITE_CONSTRAINT_PRIMARYKEY:
                return -EEXIST;
        case SQLITE_CONSTRAINT_FOREIGNKEY:
                return fk == STORE_FK_HAS_CHILDREN ? -ENOTEMPTY : -ENOENT;
        case SQLITE_CONSTRAINT_TRIGGER:
                /* An ON DELETE RESTRICT action runs as a generated trigger that RAISEs "FOREIGN
                 * KEY constraint failed" and reports SQLITE_CONSTRAINT_TRIGGER (3.40; seen in
                 * test_image_in_use). The schema has no triggers of its own, so this is always a
                 * foreign key. */
                return fk == STORE_FK_HAS_CHILDREN ? -ENOTEMPTY : -ENOENT;
        case SQLITE_CONSTRAINT_NOTNULL:
                return -EINVAL;
        }
        switch (rc & 0xff) { /* the primary code */
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_FULL:
                return -ENOSPC;
        default:
                return -EIO;
        }
}

int store_exec(struct zero_store *s, const char *sql) {
        int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
        return rc == SQLITE_OK ? 0 : store_errno(rc, STORE_FK_MISSING_PARENT);
}

int store_run(struct zero_store *s, const char *sql) {
        _cleanup_(store_releasep) sqlite3_stmt *st = NULL;
        int r, rc;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        rc = sqlite3_step(st);
        return rc == SQLITE_DONE ? 0 : store_errno(rc, STORE_FK_MISSING_PARENT);
}

int store_prepare(struct zero_store *s, const char *sql, sqlite3_stmt **ret) {
        sqlite3_stmt *st = zero_hashmap_get(&s->stmts, sql);
        int rc, r;

        if (st) {
                /* Stepped and not released: an accessor would rebind what its caller reads. */
                if (sqlite3_stmt_busy(st))
                        return -EBUSY;
                *ret = st;
                return 0;
        }
        /* PERSISTENT: SQLite's hint for a statement that is kept and reused. */
        rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
        if (rc != SQLITE_OK)
                return store_errno(rc, STORE_FK_MISSING_PARENT);
        r = zero_hashmap_put(&s->stmts, sqlite3_sql(st), st);
        if (r < 0) {
                sqlite3_finalize(st);
                return r;
        }
        s->n_prepared++;
        *ret = st;
        return 0;
}

void store_changed(struct zero_store *s, const char *instance_id) {
        if (s->watch)
                s->watch(s->watch_userdata, instance_id);
}

/* Any rollback, ours or one SQLite made by itself after an error: what was written since the
 * transaction began, and told to the watcher, may be undone. */
static int on_commit(void *userdata) {
        struct zero_store *s = userdata;

        s->n_commits++;
        return 0; /* the commit goes ahead */
}

uint64_t zero_store_commits(struct zero_store *s) {
        return s ? s->n_commits : 0;
}

size_t zero_store_cache_bytes(struct zero_store *s) {
        int cur = 0, high = 0;

        if (!s || sqlite3_db_status(s->db, SQLITE_DBSTATUS_CACHE_USED, &cur, &high, 0) != SQLITE_OK || cur < 0)
                return 0;
        return (size_t) cur;
}

void zero_store_release_memory(struct zero_store *s) {
        if (s)
                (void) sqlite3_db_release_memory(s->db);
}

static void on_rollback(void *userdata) {
        store_changed(userdata, NULL);
}

void zero_store_watch(struct zero_store *s, zero_store_watch_fn fn, void *userdata) {
        if (!s)
                return;
        s->watch = fn;
        s->watch_userdata = userdata;
}

uint64_t zero_store_statements_prepared(struct zero_store *s) {
        return s ? s->n_prepared : 0;
}

int store_step_row(sqlite3_stmt *st) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                return 0;
        return rc == SQLITE_DONE ? -ENOENT : store_errno(rc, STORE_FK_MISSING_PARENT);
}

static int user_version(struct zero_store *s) {
        _cleanup_(store_releasep) sqlite3_stmt *st = NULL;
        int r;

        r = store_prepare(s, "PRAGMA user_version", &st);
        if (r < 0)
                return r;
        r = store_step_row(st);
        if (r < 0)
                return r == -ENOENT ? -EIO : r;
        return sqlite3_column_int(st, 0);
}

static int refuse_newer(const char *path, int version, struct zero_error *err) {
        return zero_error_set(err, -EPROTONOSUPPORT, ZERO_E_INTERNAL,
                              "Store %s has schema version %d, newer than version %d that this "
                              "zerod understands; refusing to open it (downgrades are not supported)",
                              path, version, ZERO_STORE_SCHEMA_VERSION);
}

/* Fills err from the connection's last error; call it before a ROLLBACK resets that. When a
 * check of ours failed (a PRAGMA that did not take), SQLite has nothing to say: use errno's text. */
static int sql_error(struct zero_store *s, int r, struct zero_error *err, const char *what) {
        const char *why = sqlite3_errcode(s->db) != SQLITE_OK ? sqlite3_errmsg(s->db) : strerror(-r);
        return zero_error_set(err, r, ZERO_E_INTERNAL, "%s: %s", what, why);
}

/*
 * Each step runs in one BEGIN IMMEDIATE transaction together with its user_version bump, so a
 * crash leaves the file at some version and the next open carries on from there. The version is
 * read inside the transaction: IMMEDIATE holds the write lock, so two processes opening the same
 * file at once cannot both apply a step.
 */
static int store_migrate(struct zero_store *s, const char *path, struct zero_error *err) {
        for (;;) {
                char bump[64], what[64];
                int v, r;

                r = store_exec(s, "BEGIN IMMEDIATE");
                if (r < 0)
                        return sql_error(s, r, err, "Failed to begin schema migration");
                v = user_version(s);
                if (v < 0 || v >= ZERO_STORE_SCHEMA_VERSION) {
                        if (v < 0)
                                r = sql_error(s, v, err, "Failed to read schema version");
                        else if (v > ZERO_STORE_SCHEMA_VERSION)
                                r = refuse_newer(path, v, err);
                        (void) store_exec(s, "ROLLBACK");
                        return r;
                }

                snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", v + 1);
                r = store_exec(s, migrations[v]);
                if (r >= 0)
                        r = store_exec(s, bump);
                if (r >= 0)
                        r = store_exec(s, "COMMIT");
                if (r < 0) {
                        snprintf(what, sizeof(what), "Failed to migrate schema to version %d", v + 1);
                        r = sql_error(s, r, err, what);
                        (void) store_exec(s, "ROLLBACK");
                        return r;
                }
        }
}

/* Runs a PRAGMA that answers with its value and checks the answer: some settings are ignored
 * silently (journal_mode on a file system without shared memory, foreign_keys in a build
 * without them). */
static int pragma_expect(struct zero_store *s, const char *sql, const char *want) {
        _cleanup_(store_releasep) sqlite3_stmt *st = NULL;
        const unsigned char *got;
        int r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        r = store_step_row(st);
        if (r < 0)
                return r == -ENOENT ? -EOPNOTSUPP : r;
        got = sqlite3_column_text(st, 0);
        return got && strcasecmp((const char *) got, want) == 0 ? 0 : -EOPNOTSUPP;
}

int zero_store_open(const char *path, struct zero_store **ret, struct zero_error *err) {
        _cleanup_(zero_store_closep) struct zero_store *s = NULL;
        int rc, r;

        assert_return(path, -EINVAL);
        assert_return(ret, -EINVAL);

        s = calloc(1, sizeof(*s));
        if (!s)
                return zero_error_set(err, -ENOMEM, ZERO_E_INTERNAL, "Out of memory");

        rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
        if (rc != SQLITE_OK) {
                /* CANTOPEN carries the errno of the failed open(2): pass it on, so that "no such
                 * directory" or "permission denied" does not turn into a bare -EIO. */
                int e = s->db ? sqlite3_system_errno(s->db) : 0;
                r = e > 0 ? -e : store_errno(rc, STORE_FK_MISSING_PARENT);
                return zero_error_set(err, r, ZERO_E_INTERNAL, "Failed to open store %s: %s", path,
                                      s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        }
        sqlite3_extended_result_codes(s->db, 1);

        /* Another process (a second zerod starting, sqlite3 in a shell) may hold the lock for a
         * moment; wait up to 5 s before -EBUSY. */
        rc = sqlite3_busy_timeout(s->db, 5000);
        if (rc != SQLITE_OK)
                return sql_error(s, store_errno(rc, STORE_FK_MISSING_PARENT), err,
                                 "Failed to set busy timeout");

        /* Refuse a newer file before anything below writes to it (switching to WAL does). */
        r = user_version(s);
        if (r < 0)
                return sql_error(s, r, err, "Failed to read schema version");
        if (r > ZERO_STORE_SCHEMA_VERSION)
                return refuse_newer(path, r, err);

        /* WAL: readers (zeroctl debugging, a backup) do not block the daemon's writes, and a
         * commit is one append to the log. */
        r = pragma_expect(s, "PRAGMA journal_mode = WAL", "wal");
        if (r < 0)
                return sql_error(s, r, err, "Failed to switch store to WAL mode");

        /* NORMAL, not FULL. In WAL mode NORMAL never corrupts the file and loses nothing when
         * zerod is killed (the log is in the page cache); only a power cut may drop the newest
         * commits. FULL costs an fsync per commit, about 1 ms each on the test machine's disk and a
         * dozen commits per create: it made container start through the API 4 ms slower
         * (docs/benchmarks.md). What must survive a power cut is what zerod acknowledged: the
         * commit of an operation that is answered 202 is followed by a sync (agent/durable.h: one fsync
         * of the log, which holds every earlier commit too: lab_power_cut lost acknowledged
         * operations without it). The steps in between may be lost: an operation resumes at an
         * earlier recorded step, which is idempotent, and after the machine's restart the
         * resume goes back to the steps that remake what the machine lost (operation.c). */
        r = store_exec(s, "PRAGMA synchronous = NORMAL");
        if (r < 0)
                return sql_error(s, r, err, "Failed to set synchronous mode");

        /* Off by default and per connection; it is what keeps an image from vanishing under its
         * instances. */
        r = store_exec(s, "PRAGMA foreign_keys = ON");
        if (r >= 0)
                r = pragma_expect(s, "PRAGMA foreign_keys", "1");
        if (r < 0)
                return sql_error(s, r, err, "Failed to enable foreign keys");

        r = store_migrate(s, path, err);
        if (r < 0)
                return r;
        sqlite3_rollback_hook(s->db, on_rollback, s);
        sqlite3_commit_hook(s->db, on_commit, s);

        *ret = TAKE_PTR(s);
        return 0;
}

struct zero_store *zero_store_close(struct zero_store *s) {
        if (!s)
                return NULL;
        /* The cached statements go first, so that this closes at once. An open transaction (a
         * caller bailed out without rolling back) is rolled back, and nobody is told any more. */
        void *st;
        size_t i = 0;
        s->watch = NULL;
        while (zero_hashmap_next(&s->stmts, &i, NULL, &st))
                sqlite3_finalize(st);
        zero_hashmap_done(&s->stmts);
        sqlite3_close_v2(s->db);
        free(s);
        return NULL;
}

int zero_store_schema_version(struct zero_store *s) {
        assert_return(s, -EINVAL);
        return user_version(s);
}
