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
 * -EPROTONOSUPPORT. zero_store_begin() inside a transaction is -EALREADY (inside a batch: a group,
 * below); zero_store_commit() outside one is -EINVAL; zero_store_rollback() outside one is a
 * no-op, so error paths may always call it (also after a failed commit, which can leave the
 * transaction open).
 * Lists return a malloc'd array, NULL when empty; free it with the matching _rows_free().
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zero/error.h"

struct zero_store;

#define ZERO_STORE_SCHEMA_VERSION 9

int zero_store_open(const char *path, struct zero_store **ret, struct zero_error *err);
struct zero_store *zero_store_close(struct zero_store *s); /* accepts NULL, returns NULL */
static inline void zero_store_closep(struct zero_store **s) {
        if (*s)
                zero_store_close(*s);
}
int zero_store_schema_version(struct zero_store *s);

/*
 * What the API shows of an instance is its row, its attachments and its NICs. The watcher is
 * called after every write of the store that may have changed one of those (the instance's
 * insert, update and delete; its attachments' and NICs' insert, update and delete), with the
 * instance's id, and with NULL after any rollback (what was written since the transaction began
 * may be undone). It is told before the change is committed, so what it reads back (later, and
 * never from inside the callback, which must not use the store) is at least as new. The agent's
 * cache of instances (agent/instance_view.h) keeps itself fresh by it.
 */
typedef void (*zero_store_watch_fn)(void *userdata, const char *instance_id);
void zero_store_watch(struct zero_store *s, zero_store_watch_fn fn, void *userdata);
/* How many statements the store prepared since it opened: each SQL text once (tests). */
uint64_t zero_store_statements_prepared(struct zero_store *s);
/* How many transactions it committed since it opened (autocommitted writes count one each). */
uint64_t zero_store_commits(struct zero_store *s);
/* The heap SQLite's page cache of this connection holds (bounded by PRAGMA cache_size). */
size_t zero_store_cache_bytes(struct zero_store *s);
/* Frees what of that cache no statement uses (zerod's trim.h): later reads come from the
 * kernel's page cache. */
void zero_store_release_memory(struct zero_store *s);

int zero_store_begin(struct zero_store *s);
int zero_store_commit(struct zero_store *s);
int zero_store_rollback(struct zero_store *s);
/* Makes every commit so far durable (an fsync of the write-ahead log): commits are not synced
 * one by one (synchronous=NORMAL, schema.c), so a power cut may drop the newest; what zerod has
 * answered 202 for must not be among them (operation.c has it synced before the answer, by the
 * sync child of agent/durable.c, which does the same fsync, or by this on the loop). Outside a
 * transaction only (-EINVAL inside one, a batch's too: what a batch holds is answered by no 202). */
int zero_store_sync(struct zero_store *s);

/* A batch: the writes from zero_store_batch_begin() to zero_store_batch_end() are one
 * transaction (the operation engine's step: its record, the instance's state, the events), not
 * one each. Batches nest (the innermost end commits nothing). Inside one, zero_store_begin(),
 * _commit() and _rollback() make, keep and undo a group of writes (a savepoint); a rollback
 * outside a group keeps the batch's writes. zero_store_batch_flush() commits what the batch holds
 * so far and goes on in a new transaction (a step's record, committed before the step runs).
 * End a batch before the event loop turns: it holds the database's write lock. If the lock
 * cannot be had, or SQLite rolls the batch back after an error, the writes commit one by one.
 * _end() and _flush() return the commit's failure (what the batch held is then lost). */
void zero_store_batch_begin(struct zero_store *s);
int zero_store_batch_flush(struct zero_store *s);
int zero_store_batch_end(struct zero_store *s);

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
        char *steps; /* JSON array of the steps done: [{"step", "duration_us"}] (schema v5) */
        char *actor; /* who asked for it: "uid:0", "token:NAME", NULL for zerod itself (schema v6) */
};
void zero_operation_row_done(struct zero_operation_row *r);
void zero_operation_rows_free(struct zero_operation_row *rows, size_t n);
int zero_store_operation_insert(struct zero_store *s, const struct zero_operation_row *r);
int zero_store_operation_get(struct zero_store *s, const char *id, struct zero_operation_row *ret);
/* Writes status, step, step_name, steps, params (what a step learnt for the steps after it),
 * error and timestamps of row id. */
int zero_store_operation_update(struct zero_store *s, const struct zero_operation_row *r);
/* Operations with status "running", oldest first. */
int zero_store_operation_list_unfinished(struct zero_store *s, struct zero_operation_row **ret, size_t *ret_n);
/* The running operation on an instance, -ENOENT when none. */
int zero_store_operation_running_for(struct zero_store *s, const char *instance_id,
                                     struct zero_operation_row *ret);
/* Deletes all but the newest keep finished operations (keep >= 0; running ones stay); returns how
 * many it deleted. */
int zero_store_operation_trim(struct zero_store *s, int64_t keep);

/* --- events: an append-only log (schema v2) --- */
struct zero_event_row {
        int64_t id;
        int64_t time;
        char *type;     /* "instance.state", "operation.step", ... */
        char *instance; /* name, may be NULL */
        char *data;     /* JSON text */
        char *actor;    /* who caused it, as an operation's actor; NULL for zerod itself (schema v6) */
};
void zero_event_row_done(struct zero_event_row *r);
void zero_event_rows_free(struct zero_event_row *rows, size_t n);
/* The event's time is now (CLOCK_REALTIME); instance, data and actor may be NULL. */
int zero_store_event_append(struct zero_store *s, const char *type, const char *instance,
                            const char *data, const char *actor, int64_t *ret_id);
/* Events with id > after, oldest first, at most limit. */
int zero_store_event_list(struct zero_store *s, int64_t after, size_t limit,
                          struct zero_event_row **ret, size_t *ret_n);
/* The newest limit events, oldest first (zeroctl events: what just happened). */
int zero_store_event_list_last(struct zero_store *s, size_t limit, struct zero_event_row **ret, size_t *ret_n);
/* Deletes all but the newest keep events (keep >= 0); returns how many it deleted. */
int zero_store_event_trim(struct zero_store *s, int64_t keep);

/* --- API tokens (schema v6): a named secret with a role; only its hash is stored --- */
struct zero_token_row {
        char *name; /* unique */
        char *role; /* admin, read */
        char *hash; /* SHA-256 of the secret, 64 lowercase hex characters; unique */
        char *created_by;
        int64_t created_at;
};
void zero_token_row_done(struct zero_token_row *r);
void zero_token_rows_free(struct zero_token_row *rows, size_t n);
/* -EEXIST for a taken name (or hash). */
int zero_store_token_insert(struct zero_store *s, const struct zero_token_row *r);
int zero_store_token_get_by_hash(struct zero_store *s, const char *hash, struct zero_token_row *ret);
/* By name. */
int zero_store_token_list(struct zero_store *s, struct zero_token_row **ret, size_t *ret_n);
/* -ENOENT for an unknown name. */
int zero_store_token_delete(struct zero_store *s, const char *name);

/*
 * --- the card's rows (schema v3): volumes, networks, NICs and the attachments of volumes ---
 *
 * The error conventions above hold; in particular -ENOTEMPTY on delete means the row is still
 * referenced and nothing changed: a volume that is attached (or an image that volumes were cloned
 * from), a network that still has NICs. Enumerated strings (format, state, role, personality,
 * export_kind) are not checked by the store, like instances' state: the agent validates them, and
 * a new value needs no table rebuild.
 */

/* --- volumes --- */
struct zero_volume_row {
        char *name;  /* unique, the API's key */
        char *id;    /* 32 hex characters, unique */
        int64_t size_bytes;
        char *image; /* the image it was cloned from (copy-on-write), NULL for a blank volume */
        /* Where the card keeps it: the driver's opaque locator (card.h's volume_place), stored and
         * handed back, never read by the agent. */
        char *locator;
        char *format; /* the driver's word for what it is, for display: "qcow2", "raw", or "" */
        char *state;  /* creating, ready, deleting, error */
        int64_t qos_iops; /* 0 = unlimited */
        int64_t qos_bps;  /* bytes per second, 0 = unlimited */
        /* The instance (id) that it was made for as its root volume and that it dies with by
         * default; NULL otherwise, and set to NULL when that instance's row is deleted. */
        char *owner_instance;
        int64_t created_at, updated_at;
};
void zero_volume_row_done(struct zero_volume_row *r);
void zero_volume_rows_free(struct zero_volume_row *rows, size_t n);
/* -EEXIST for a taken name or id; -ENOENT when image or owner_instance does not exist. */
int zero_store_volume_insert(struct zero_store *s, const struct zero_volume_row *r);
int zero_store_volume_get(struct zero_store *s, const char *name, struct zero_volume_row *ret);
int zero_store_volume_get_by_id(struct zero_store *s, const char *id, struct zero_volume_row *ret);
/* By name. */
int zero_store_volume_list(struct zero_store *s, struct zero_volume_row **ret, size_t *ret_n);
/* The volumes whose owner_instance is instance_id, by name. */
int zero_store_volume_list_owned_by(struct zero_store *s, const char *instance_id, struct zero_volume_row **ret,
                                    size_t *ret_n);
/* Writes size_bytes, state, qos_iops, qos_bps, owner_instance and updated_at of row name; id,
 * image, locator, format and created_at are fixed at insert. */
int zero_store_volume_update(struct zero_store *s, const struct zero_volume_row *r);
/* -ENOTEMPTY while the volume is attached. */
int zero_store_volume_delete(struct zero_store *s, const char *name);
/* The id of the instance the volume is attached to (free it); -ENOENT when it is not attached,
 * or does not exist. */
int zero_store_volume_attached_to(struct zero_store *s, const char *name, char **ret_instance_id);

/* --- networks: a subnet the card carries --- */
struct zero_network_row {
        char *name;    /* unique, the API's key */
        char *id;      /* 32 hex characters, unique */
        char *subnet;  /* "10.77.0.0/24" */
        char *gateway; /* the card's address on it, "10.77.0.1" */
        /* The driver's name for what carries it (the softcard's bridge), as network_create gave
         * it: unique, for display only (the API's "bridge"). */
        char *bridge;
        int64_t created_at;
        char *state; /* creating, ready, deleting (schema v8); NULL at insert: ready */
};
void zero_network_row_done(struct zero_network_row *r);
void zero_network_rows_free(struct zero_network_row *rows, size_t n);
int zero_store_network_insert(struct zero_store *s, const struct zero_network_row *r);
int zero_store_network_get(struct zero_store *s, const char *name, struct zero_network_row *ret);
/* By name. */
int zero_store_network_list(struct zero_store *s, struct zero_network_row **ret, size_t *ret_n);
/* Writes bridge and state of row name (the driver names what it made once it is made); id, subnet,
 * gateway and created_at are fixed at insert. -EEXIST for a bridge taken. */
int zero_store_network_update(struct zero_store *s, const struct zero_network_row *r);
/* -ENOTEMPTY while the network has NICs. */
int zero_store_network_delete(struct zero_store *s, const char *name);
/* Number of NICs on the network (0 for an unknown network). */
int zero_store_network_in_use(struct zero_store *s, const char *name);

/* --- NICs ---
 * An address is never handed out twice on a network. The allocation key is host_index, the
 * address's offset in the subnet (10.77.0.5 in 10.77.0.0/24 is 5): zero_store_nic_allocate_ip()
 * picks it, the caller turns it into the text of ip, and both (network, host_index) and
 * (network, ip) are UNIQUE, so a second NIC with either is -EEXIST. */
struct zero_nic_row {
        char *id; /* 32 hex characters */
        char *network;
        char *instance_id; /* NULL while not part of an instance */
        char *mac; /* stable, unique: "52:54:00:12:34:56" */
        char *ip;  /* "10.77.0.5", the address of host_index */
        int64_t host_index;
        int64_t idx; /* order within the instance (eth0, eth1, ...); unique per instance */
        int64_t created_at;
        char *attach_kind;   /* "veth", "tap"; NULL while not attached (schema v4) */
        char *attach_target; /* the network namespace's path for a veth, the tap's name */
};
void zero_nic_row_done(struct zero_nic_row *r);
void zero_nic_rows_free(struct zero_nic_row *rows, size_t n);
/* -ENOENT when the network or the instance does not exist; -EEXIST for a taken id, MAC, address
 * (ip or host_index on the network) or idx within the instance. */
int zero_store_nic_insert(struct zero_store *s, const struct zero_nic_row *r);
int zero_store_nic_get(struct zero_store *s, const char *id, struct zero_nic_row *ret);
/* By network, then host_index. */
int zero_store_nic_list(struct zero_store *s, struct zero_nic_row **ret, size_t *ret_n);
/* The instance's NICs by idx. */
int zero_store_nic_list_for_instance(struct zero_store *s, const char *instance_id, struct zero_nic_row **ret,
                                     size_t *ret_n);
/* Writes instance_id, idx, attach_kind and attach_target of row id; network, MAC, address and
 * created_at are fixed at insert. */
int zero_store_nic_update(struct zero_store *s, const struct zero_nic_row *r);
int zero_store_nic_delete(struct zero_store *s, const char *id);
/* The lowest host index in [first_host_index, n_hosts] that no NIC on the network holds, where
 * n_hosts is the subnet's number of host addresses (254 for a /24, so indexes 1..254) and
 * first_host_index (>= 1) skips what is not a NIC's, such as the gateway at index 1. -ENOENT for
 * an unknown network, -ENOSPC when the subnet is full. It reserves nothing: call it and
 * zero_store_nic_insert() inside one zero_store_begin()/zero_store_commit(), so that the index is
 * taken in the same transaction that found it free. */
int zero_store_nic_allocate_ip(struct zero_store *s, const char *network, int64_t n_hosts,
                               int64_t first_host_index, int64_t *ret_index);

/* --- attachments: a volume plugged into an instance; a volume has at most one --- */
struct zero_attachment_row {
        char *volume; /* the key: a volume is attached to at most one instance */
        char *instance_id;
        char *role;        /* root, data */
        char *path;        /* mount path in a container, NULL when none */
        char *personality; /* virtio-blk, virtio-scsi, nvme */
        char *export_kind; /* vhost-user-blk, nbd, host-block; NULL while not exported */
        char *export_path; /* socket path or /dev/loopN; NULL while not exported */
        int64_t idx;       /* order within the instance; unique per instance */
        /* Exported, with the volume released behind the export (card.h's volume_release: live
         * migration hands it to another node's card); 0 otherwise (schema v9). */
        int64_t released;
};
void zero_attachment_row_done(struct zero_attachment_row *r);
void zero_attachment_rows_free(struct zero_attachment_row *rows, size_t n);
/* -EEXIST when the volume is already attached (to any instance) or idx is taken in the instance;
 * -ENOENT when the volume or the instance does not exist. */
int zero_store_attachment_insert(struct zero_store *s, const struct zero_attachment_row *r);
int zero_store_attachment_get(struct zero_store *s, const char *volume, struct zero_attachment_row *ret);
/* By instance_id, then idx: what start-up reconciliation compares with the card's exports. */
int zero_store_attachment_list(struct zero_store *s, struct zero_attachment_row **ret, size_t *ret_n);
/* The instance's attachments by idx. */
int zero_store_attachment_list_for_instance(struct zero_store *s, const char *instance_id,
                                            struct zero_attachment_row **ret, size_t *ret_n);
/* Writes role, path, personality, export_kind, export_path, idx and released of row volume (a mode
 * switch re-exports); instance_id is fixed: moving a volume is a delete and an insert. */
int zero_store_attachment_update(struct zero_store *s, const struct zero_attachment_row *r);
/* Detaches the volume (deletes the row). */
int zero_store_attachment_delete(struct zero_store *s, const char *volume);

/*
 * --- the API's reads: one query per list, or per object with what it shows (listing.c) ---
 */

/* A page of a list by name: the names after `after` (NULL: from the first), only those in `state`
 * (NULL: all), at most `limit` (0: all). */
struct zero_store_page {
        const char *after;
        const char *state;
        size_t limit;
};

/* An instance with what the API shows of its card: its attachments and its NICs, each by idx. */
struct zero_instance_full {
        struct zero_instance_row inst;
        struct zero_attachment_row *atts;
        size_t n_atts;
        struct zero_nic_row *nics;
        size_t n_nics;
};
void zero_instance_full_done(struct zero_instance_full *f);
void zero_instance_fulls_free(struct zero_instance_full *f, size_t n);
/* Every instance by name, each with its attachments and NICs: one query. */
int zero_store_instance_list_full(struct zero_store *s, struct zero_instance_full **ret, size_t *ret_n);
/* The instance with id the same way; -ENOENT when there is none. */
int zero_store_instance_get_full(struct zero_store *s, const char *id, struct zero_instance_full *ret);

/* Instances counted by (mode, state), with the sums of their cpus and memory: one GROUP BY. */
struct zero_instance_count {
        char *mode;
        char *state;
        int64_t count, cpus, memory_mib;
};
void zero_instance_counts_free(struct zero_instance_count *rows, size_t n);
int zero_store_instance_counts(struct zero_store *s, struct zero_instance_count **ret, size_t *ret_n);
/* The number of instances. */
int zero_store_instance_count(struct zero_store *s);

/* A volume with its attachment and the names of the instances behind its references. */
struct zero_volume_full {
        struct zero_volume_row vol;
        struct zero_attachment_row att; /* att.volume is NULL when the volume is not attached */
        char *attached_to;              /* the name of the instance it is attached to, or NULL */
        char *owner;                    /* the name of its owner_instance, or NULL */
};
void zero_volume_full_done(struct zero_volume_full *f);
void zero_volume_fulls_free(struct zero_volume_full *f, size_t n);
/* A page of the volumes by name (page may be NULL: all of them). */
int zero_store_volume_list_full(struct zero_store *s, const struct zero_store_page *page,
                                struct zero_volume_full **ret, size_t *ret_n);
int zero_store_volume_get_full(struct zero_store *s, const char *name, struct zero_volume_full *ret);

/* A network with its number of NICs. */
struct zero_network_full {
        struct zero_network_row net;
        int64_t nics;
};
void zero_network_full_done(struct zero_network_full *f);
void zero_network_fulls_free(struct zero_network_full *f, size_t n);
int zero_store_network_list_full(struct zero_store *s, const struct zero_store_page *page,
                                 struct zero_network_full **ret, size_t *ret_n);
int zero_store_network_get_full(struct zero_store *s, const char *name, struct zero_network_full *ret);

/* A page of the images by name (their state is ignored: images have none). */
int zero_store_image_list_page(struct zero_store *s, const struct zero_store_page *page, struct zero_image_row **ret,
                               size_t *ret_n);

/* Operations in the order they were made: those after the one with id after_id (NULL: from the
 * first; -ENOENT when there is no such operation), of status (NULL: any) and instance name (NULL:
 * any), at most limit (0: all). */
int zero_store_operation_list_page(struct zero_store *s, const char *after_id, const char *status, const char *instance,
                                   size_t limit, struct zero_operation_row **ret, size_t *ret_n);
