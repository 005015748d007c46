/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The node's state in one SQLite file. Nothing outside store/ touches SQL.
 *
 * The database runs in WAL mode with foreign keys on and a busy timeout. The schema is built by
 * numbered migrations (PRAGMA user_version); a file from a newer zerod is refused. Every accessor
 * that changes more than one row does it in one transaction; callers group several accessors into
 * one with zero_store_begin()/zero_store_commit() (nesting is not supported; rollback on error).
 *
 * Rows come back in caller-owned structs; free their strings with the matching _done() function.
 * Timestamps are microseconds since the epoch (CLOCK_REALTIME); 0 means "not yet".
 * All functions return >= 0 on success and -errno on failure: -ENOENT for a missing row,
 * -EEXIST for a unique constraint, -EBUSY when the database stays locked.
 * Foreign keys: inserting a row that references a missing one (an instance whose image does not
 * exist, an operation whose instance does not) fails with -ENOENT; deleting a row that is still
 * referenced (an image used by an instance) fails with -ENOTEMPTY and changes nothing.
 * A required string left NULL (ids, names, state, kind, status, type) is -EINVAL; other NULL
 * strings are stored as SQL NULL and come back NULL. Other SQLite failures are -EIO (-ENOMEM,
 * -ENOSPC where SQLite says so).
 *
 * zero_store_open() refuses a file whose schema is newer than ZERO_STORE_SCHEMA_VERSION with
 * -EPROTONOSUPPORT. zero_store_begin() inside a transaction is -EALREADY; zero_store_commit()
 * outside one is -EINVAL; zero_store_rollback() outside one is a no-op, so error paths may always
 * call it (also after a failed commit, which can leave the transaction open).
 * Lists return a malloc'd array, NULL when empty; free it with the matching _rows_free().
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zero/error.h"

struct zero_store;

#define ZERO_STORE_SCHEMA_VERSION 2

int zero_store_open(const char *path, struct zero_store **ret, struct zero_error *err);
struct zero_store *zero_store_close(struct zero_store *s); /* accepts NULL, returns NULL */
static inline void zero_store_closep(struct zero_store **s) {
        if (*s)
                zero_store_close(*s);
}
int zero_store_schema_version(struct zero_store *s);

int zero_store_begin(struct zero_store *s);
int zero_store_commit(struct zero_store *s);
int zero_store_rollback(struct zero_store *s);

/* --- node: key/value facts about this node (name, first start time) --- */
int zero_store_node_get(struct zero_store *s, const char *key, char **ret);
int zero_store_node_set(struct zero_store *s, const char *key, const char *value);

/* --- images --- */
struct zero_image_row {
        char *name;
        char *source;     /* what it was imported from */
        char *path;       /* its directory on this node */
        int64_t size_bytes;
        int64_t created_at;
};
void zero_image_row_done(struct zero_image_row *r);
void zero_image_rows_free(struct zero_image_row *rows, size_t n);
int zero_store_image_insert(struct zero_store *s, const struct zero_image_row *r);
int zero_store_image_get(struct zero_store *s, const char *name, struct zero_image_row *ret);
int zero_store_image_list(struct zero_store *s, struct zero_image_row **ret, size_t *ret_n);
int zero_store_image_delete(struct zero_store *s, const char *name);
/* Number of instances that use the image (0 for an unknown image). */
int zero_store_image_users(struct zero_store *s, const char *name);

/* --- instances --- */
struct zero_instance_row {
        char *id;   /* 32 hex characters */
        char *name; /* unique */
        char *mode;
        char *state; /* creating, starting, running, stopping, stopped, error, deleting */
        char *image;
        int64_t cpus;
        int64_t memory_mib;
        char *spec; /* JSON text: command, env, hostname, ... as given by the user */
        int64_t pid; /* main process, 0 when none */
        bool has_exit_code;
        int64_t exit_code;
        char *error; /* last failure, NULL when none */
        int64_t created_at, started_at, stopped_at, updated_at;
};
void zero_instance_row_done(struct zero_instance_row *r);
void zero_instance_rows_free(struct zero_instance_row *rows, size_t n);
int zero_store_instance_insert(struct zero_store *s, const struct zero_instance_row *r);
int zero_store_instance_get(struct zero_store *s, const char *name, struct zero_instance_row *ret);
int zero_store_instance_get_by_id(struct zero_store *s, const char *id, struct zero_instance_row *ret);
int zero_store_instance_list(struct zero_store *s, struct zero_instance_row **ret, size_t *ret_n);
/* Writes every mutable column (mode, state, pid, exit code, error, started/stopped/updated_at) of
 * row id; id, name, image, cpus, memory_mib, spec and created_at are fixed at insert. */
int zero_store_instance_update(struct zero_store *s, const struct zero_instance_row *r);
int zero_store_instance_delete(struct zero_store *s, const char *id);
/* Sum of cpus and memory over instances that hold resources (not stopped/error). */
int zero_store_instance_allocated(struct zero_store *s, int64_t *ret_cpus, int64_t *ret_memory_mib);

/* --- operations: every multi-step action, with its current step --- */
struct zero_operation_row {
        char *id; /* 32 hex characters */
        char *kind; /* create, start, stop, restart, delete */
        char *instance_id; /* may be NULL once the instance is gone */
        char *instance_name;
        char *status; /* running, succeeded, failed */
        int64_t step; /* index of the step to run next */
        char *step_name;
        char *params; /* JSON text */
        char *error_code, *error_message; /* NULL unless failed */
        int64_t created_at, updated_at, finished_at;
};
void zero_operation_row_done(struct zero_operation_row *r);
void zero_operation_rows_free(struct zero_operation_row *rows, size_t n);
int zero_store_operation_insert(struct zero_store *s, const struct zero_operation_row *r);
int zero_store_operation_get(struct zero_store *s, const char *id, struct zero_operation_row *ret);
/* Writes status, step, step_name, error and timestamps of row id. */
int zero_store_operation_update(struct zero_store *s, const struct zero_operation_row *r);
/* Operations with status "running", oldest first. */
int zero_store_operation_list_unfinished(struct zero_store *s, struct zero_operation_row **ret, size_t *ret_n);
/* The running operation on an instance, -ENOENT when none. */
int zero_store_operation_running_for(struct zero_store *s, const char *instance_id,
                                     struct zero_operation_row *ret);

/* --- events: an append-only log (schema v2) --- */
struct zero_event_row {
        int64_t id;
        int64_t time;
        char *type;     /* "instance.state", "operation.step", ... */
        char *instance; /* name, may be NULL */
        char *data;     /* JSON text */
};
void zero_event_row_done(struct zero_event_row *r);
void zero_event_rows_free(struct zero_event_row *rows, size_t n);
/* The event's time is now (CLOCK_REALTIME); instance and data may be NULL. */
int zero_store_event_append(struct zero_store *s, const char *type, const char *instance,
                            const char *data, int64_t *ret_id);
/* Events with id > after, oldest first, at most limit. */
int zero_store_event_list(struct zero_store *s, int64_t after, size_t limit,
                          struct zero_event_row **ret, size_t *ret_n);
/* Deletes all but the newest keep events (keep >= 0); returns how many it deleted. */
int zero_store_event_trim(struct zero_store *s, int64_t keep);
