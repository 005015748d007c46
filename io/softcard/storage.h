/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * softcard's storage half, private to io/softcard: the daemon (qsd.c, qsd_call.c) and the
 * volumes on it (volume*.c), as softcard.c drives them. softcard.h says which file does what.
 *
 * The run directory (RUN = the agent's run_dir, made canonical by softcard.c):
 *   RUN/qsd/                 the daemon's zero-shim directory (shim.sock, pid, console.log, exit)
 *   RUN/qsd/qmp.sock         its QMP monitor, one client at a time: this driver
 *   RUN/qsd/nbd.sock         its one NBD server; an export's NBD name is the volume's id
 *   RUN/exports/<id>         FUSE mount point of a host-block export (an empty regular file),
 *                            with a loop device over it named "zero:<id>:<tag>" (lo_file_name)
 *   RUN/exports/<id>.vhost   vhost-user-blk socket
 * Everything under RUN/exports lives only as long as the daemon does: when a daemon is started
 * afresh, it is all cleared first (loops, then mounts, then files).
 *
 * Names inside the daemon, from the first 16 hex digits of the volume's id (QEMU's node names
 * must be shorter than 32 characters and start with a letter):
 *   g<16 hex>  throttle-group object (QoS)       f<16 hex>  file node (the volume's file)
 *   q<16 hex>  format node (qcow2 or raw)        t<16 hex>  throttle filter over q: exported
 *   e<16 hex>  the export (block-export-add id)
 */
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "common/hashmap.h"
#include "common/macro.h"
#include "common/subprocess.h"
#include "zero/card.h"

/* ---- qsd.c: the node's one qemu-storage-daemon and its QMP monitor (an io/qmp.c connection) ---- */

struct qsd;

struct qsd_config {
        sd_event *event;     /* for watching and restarting the daemon; NULL: not watched, restarted
                              * synchronously by the next op (tests) */
        const char *run_dir; /* canonical, existing */
        const char *shim;    /* zero-shim binary */
        const char *binary;  /* qemu-storage-daemon, a path or a name looked up in PATH */
        void (*lost_exports)(void *userdata);
        void *userdata;
};

/* Adopts the daemon that runs under RUN/qsd, or starts one; then watches it. */
int qsd_open(const struct qsd_config *c, struct qsd **ret, struct zero_error *err);
/* A client on a monitor connected already (fd taken, also on failure), without a daemon to
 * start, watch or reconnect to: for tests/fuzz. Takes the greeting and negotiates capabilities. */
int qsd_open_monitor(int fd, struct qsd **ret, struct zero_error *err);
/* Closes the connections and the watch; the daemon and its exports run on. The asynchronous
 * ops and calls under way are stopped without a word to their owners (their handles die with
 * q). NULL-safe. */
struct qsd *qsd_close(struct qsd *q);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct qsd *, qsd_close)
/* Stops the daemon (SIGTERM through its shim, SIGKILL after 10 s) and waits for its shim to be
 * gone: the operator's teardown (card.h: stop). q is left closed but for qsd_close(). */
int qsd_stop(struct qsd *q, struct zero_error *err);

/* Called at the start of every card op: a live monitor connection afterwards. A daemon found
 * dead is started again (its exports are lost: lost_exports is called from the event loop), from
 * the loop: meanwhile, and while the watcher's restart runs, -EAGAIN with ZERO_E_UNAVAILABLE at
 * once; the same while its shim still reports it running but its monitor does not answer (hung,
 * or killed and not yet reaped). Without a loop the restart is synchronous. A new connection's handshake is waited for
 * (5 s at most). */
int qsd_ensure(struct qsd *q, struct zero_error *err);
/* The same without waiting on the daemon: a new connection's handshake goes on from the loop,
 * the commands queued behind it (the asynchronous ops, which call it themselves). */
int qsd_ensure_nowait(struct qsd *q, struct zero_error *err);

/* The rules of every call (qsd_call.c): a timeout (10 s, or QSD_QUICK_TIMEOUT_USEC for a best-effort
 * one); while the daemon restarts, -EAGAIN with ZERO_E_UNAVAILABLE at once, unsent; a daemon that
 * let a call of 10 s time out and has said nothing since is stalled: calls wait
 * QSD_QUICK_TIMEOUT_USEC at most, and after a second of that fail at once, unsent, -ETIMEDOUT with
 * ZERO_E_TIMEOUT. A best-effort call that timed out stalls nothing: the best-effort calls after it
 * fail at once, unsent (-ETIMEDOUT, ZERO_E_TIMEOUT), until the daemon answers again. */

/* One QMP command (args stolen, may be NULL); *ret gets the "return" member (NULL: dropped).
 * A QMP error is -EIO with its desc in err; a dead connection -ECONNRESET; no answer within
 * the timeout -ETIMEDOUT with ZERO_E_TIMEOUT. It holds the caller's loop that long: for zerod's
 * start and sync(), and stats (25 ms); the card ABI's ops (ABI 4: all asynchronous) use
 * qsd_call_async(). */
int qsd_call(struct qsd *q, const char *execute, json_t *args, json_t **ret, struct zero_error *err);
/* Whether the qsd_call()s from now on are best effort (stats): their timeout is
 * QSD_QUICK_TIMEOUT_USEC, not 10 s, so that a daemon that stopped answering holds the loop that
 * long at most, and their timeout stalls nothing (above). Returns the setting before. */
#define QSD_QUICK_TIMEOUT_USEC (25ULL * 1000ULL)
bool qsd_set_best_effort(struct qsd *q, bool best_effort);

/* The same command, answered from the loop: cb gets what qsd_call() would return (value
 * borrowed, NULL when r < 0; err always set when r < 0), once, never from inside the call that
 * sent it (nor from inside any other of these calls). What the rules refuse unsent is answered so
 * too, from the loop. Returns 0 (cb follows), or -errno at once (cb never follows): -EINVAL,
 * -ENOMEM, -EMSGSIZE, -EOPNOTSUPP for a qsd without the agent's loop. *ret (may be NULL): a handle
 * for qsd_call_cancel(), valid until cb is called. */
struct qsd_call;
typedef void (*qsd_reply_fn)(void *userdata, int r, json_t *value, const struct zero_error *err);
int qsd_call_async(struct qsd *q, const char *execute, json_t *args, qsd_reply_fn cb, void *userdata,
                   struct qsd_call **ret);
/* Drops c: its cb is never called (its owner went). A command sent stays with the connection
 * until its reply or timeout, which still count for the stalled rule. NULL-safe; returns NULL. */
struct qsd_call *qsd_call_cancel(struct qsd_call *c);

/* Work under way on the daemon (an asynchronous volume op, volume_op.c), known to q so that
 * qsd_close() can drop it: drop() stops it without telling its owner and calls qsd_work_remove().
 * Work with the same key (a volume's) runs one at a time, in the order it was added: turn() is
 * called when the one before it is removed (from inside qsd_work_remove(): it only schedules). */
struct qsd_work {
        struct qsd_work *next;
        char key[17];
        bool waiting;
        void (*turn)(struct qsd_work *w);
        void (*drop)(struct qsd_work *w);
};
/* 1: w may start now; 0: it waits for its turn(). */
int qsd_work_add(struct qsd *q, struct qsd_work *w);
void qsd_work_remove(struct qsd *q, struct qsd_work *w);
/* The agent's loop, NULL for a qsd opened without one. */
sd_event *qsd_event(const struct qsd *q);

pid_t qsd_pid(const struct qsd *q);
const char *qsd_exports_dir(const struct qsd *q);
const char *qsd_nbd_socket(const struct qsd *q);

/* ---- pool.c: where new volumes live; throttle.c: the block layer's QoS ---- */

/* The pool: new volumes are raw files under DIR/volumes, clones made by FICLONE from the pool's
 * copy of an image's base (DIR/bases). DIR is the mount point of the softcard's XFS image, or a
 * directory of the operator's on a reflink-capable filesystem ([card] pool). */
struct softcard_pool {
        char dir[PATH_MAX];   /* canonical */
        char image[PATH_MAX]; /* STATE/pool.img mounted at dir; "" when dir is the operator's */
        char lock[PATH_MAX];  /* STATE/pool.lock: one ensure at a time */
        uint64_t image_size;  /* of a new image; 0: the free space under it */
};
/* From [card] pool and pool_size (NULL or "" for the defaults); nothing is made yet. */
int softcard_pool_init(struct softcard_pool *p, const char *state_dir, const char *dir, const char *size,
                       struct zero_error *err);
/* Whether path is under the pool (NULL p: no pool). */
bool softcard_pool_holds(const struct softcard_pool *p, const char *path);
/* Nothing to make or mount (microseconds: two stat()s). */
bool softcard_pool_ready(const struct softcard_pool *p);
/* Makes the image (when make; mkfs.xfs) and mounts it: seconds at worst. Not on the loop: in a
 * child (softcard_pool_ensure_work(), arg the pool) or where everything is at once (sync()). */
int softcard_pool_ensure(const struct softcard_pool *p, bool make, struct zero_error *err);
void softcard_pool_ensure_work(void *arg, struct zero_subprocess_result *res);
/* close(): the mount detached (exported volumes keep it alive). */
void softcard_pool_release(const struct softcard_pool *p);
/* Where clones of base are made from: base itself when it is in the pool's filesystem, else the
 * pool's copy of it, DIR/bases/<hash of its path, inode, size and mtime>.raw (may not exist yet). */
int softcard_pool_base(const struct softcard_pool *p, const char *base, char ret[static PATH_MAX],
                       struct zero_error *err);
/* A new file to (O_EXCL) with from's bytes, grown to size if smaller: sharing its extents when
 * reflink (FICLONE: -EOPNOTSUPP/-EXDEV/-EINVAL where the filesystem cannot, and nothing is left),
 * else copied (copy_file_range: for small files, on the loop). */
int softcard_file_clone(const char *from, const char *to, uint64_t size, bool reflink);

/* The volume's limits (0: none) on block device dev, for everyone doing I/O to it: cgroup v1
 * blkio (throttle.c says where, how closely, and why not v2). ZERO_E_UNAVAILABLE where the host
 * has no v1 blkio and a limit is asked for. */
int softcard_throttle_set(const char *dev, uint64_t iops, uint64_t bps, struct zero_error *err);
bool softcard_throttle_available(void);

/* ---- loop.c: what exports leave in the kernel (loop devices, FUSE mounts) ---- */

/* lo_file_name of a loop device over RUN/exports/<id>: "zero:<id>:<tag>", tag being a hash of
 * RUN/exports, so two agents on one host (tests, migration) never take each other's loops. */
#define SOFTCARD_LOOP_NAME_SIZE 64
void softcard_loop_name(const char *exports_dir, const char *id, char ret[static SOFTCARD_LOOP_NAME_SIZE]);

struct softcard_loop {
        char dev[32]; /* "/dev/loop7" */
        char id[33];  /* the volume's id */
        bool direct;  /* over the volume's raw file itself, not a FUSE export */
};
/* The loop devices of this exports directory: backing file under it, or named for it (the
 * backing path reads "/" once the FUSE mount under it is gone), and the direct ones (backing file
 * <id>.raw, named for this exports directory too). The array is the caller's. */
int softcard_loops_list(const char *exports_dir, struct softcard_loop **ret, size_t *ret_n);
/* -ENOENT when the volume has none. */
int softcard_loop_find(const char *exports_dir, const char *id, char ret_dev[static 32]);
/* A loop device (buffered, no autoclear, named as above) over the FUSE export at mnt; the
 * export's FUSE connection set to one request at a time (softcard.c says why). */
int softcard_loop_attach(const char *exports_dir, const char *mnt, const char *id, char ret_dev[static 32],
                         struct zero_error *err);
/* A free loop device set up over file (LOOP_CONFIGURE) with flags (LO_FLAGS_*) and name; ret_fd
 * (may be NULL): its fd, kept open (an autoclear device clears at its last close). */
int softcard_loop_configure(int file, uint32_t flags, const char *name, char ret_dev[static 32], int *ret_fd,
                            struct zero_error *err);
/* A direct loop device (LO_FLAGS_DIRECT_IO) over the volume's raw file at path, named as above:
 * the host block export of a raw volume, without the daemon. */
int softcard_loop_attach_direct(const char *exports_dir, const char *path, const char *id, char ret_dev[static 32],
                                struct zero_error *err);
/* The direct loop device over path (sysfs, and the name of one whose backing file is path): no
 * FUSE file is asked anything. -ENOENT when none. */
int softcard_loop_find_direct(const char *exports_dir, const char *path, const char *id, char ret_dev[static 32]);
/* LOOP_CLR_FD; a device still open elsewhere is cleared by the kernel when the last user closes
 * it (autoclear). An unbound or missing device is success. */
int softcard_loop_detach(const char *dev);
int softcard_loop_detach_id(const char *exports_dir, const char *id);
/* softcard_loop_detach(), a direct device's limits lifted first. */
int softcard_loop_release(const struct softcard_loop *l);
/* After the export grew to size: the loop device takes it (within ~1 s). */
int softcard_loop_refresh_size(const char *dev, uint64_t size, struct zero_error *err);
/* The same three off the loop, as calls for zero_subprocess_call() (arg: a softcard_loop_job). They
 * wait on the daemon behind the FUSE export: on the loop, a stopped daemon would hold zerod. */
struct softcard_loop_job {
        char exports_dir[PATH_MAX], mnt[PATH_MAX]; /* RUN/exports, RUN/exports/<id> */
        char id[33];
        uint64_t size; /* refresh: the size the device is to take */
        /* direct: the volume's file, its limits, and the pool it may need mounted (NULL: none) */
        char path[PATH_MAX];
        uint64_t qos_iops, qos_bps;
        const struct softcard_pool *pool;
        /* The card's loop index (loop_index.c) was asked (indexed): dev its device of the volume,
         * "" for none, checked before it is used; not indexed: sysfs is walked, as before. */
        bool indexed;
        char dev[32];
};
int softcard_loop_job_init(struct softcard_loop_job *j, const char *exports_dir, const char *id, uint64_t size);
/* The volume's live loop device, attached if it has none: res->text its path, res->r 1 when
 * attached now, 0 when found. */
void softcard_loop_ensure_work(void *job, struct zero_subprocess_result *res);
/* The volume's loop device, if it has one, takes job->size. */
void softcard_loop_refresh_work(void *job, struct zero_subprocess_result *res);
/* The volume's direct loop device (job->path), attached if it has none, with its limits (job's
 * qos): res->text its path, res->r 1 when attached now, 0 when found. */
void softcard_loop_direct_work(void *job, struct zero_subprocess_result *res);
/* The limits on the volume's direct loop device, if it has one. */
void softcard_loop_qos_work(void *job, struct zero_subprocess_result *res);
/* softcard_loop_detach_id(). */
void softcard_loop_detach_work(void *job, struct zero_subprocess_result *res);
/* The kernel's I/O counters of the device; exported is set. */
int softcard_loop_stats(const char *dev, struct zero_card_volume_stats *ret);
/* Mount points under dir (decoded from /proc/self/mountinfo), a NULL-terminated list. */
int softcard_mounts_list(const char *dir, char ***ret);
/* Everything under RUN/exports: loops detached, mounts detached (MNT_DETACH), files removed. The
 * direct loop devices stay: they do not depend on the daemon. */
int softcard_exports_clear(const char *exports_dir);

/* Whether dev is the direct loop device of volume id over the file at path (its name, and the
 * device and inode it reads): one ioctl, no walk. */
bool softcard_loop_direct_of(const char *exports_dir, const char *dev, const char *id, const char *path);

/* ---- loop_index.c: the card's loop devices by volume, read once, kept by its own work ---- */

struct softcard_loop_index {
        struct zero_hashmap map; /* lower-case volume id -> its device */
        bool loaded;             /* false: read from sysfs at the next lookup */
};
/* Everything forgotten (and freed): the next lookup reads sysfs again. */
void softcard_loop_index_forget(struct softcard_loop_index *x);
/* What the card attached (or found) for volume id, or detached. */
int softcard_loop_index_put(struct softcard_loop_index *x, const char *id, const char *dev, bool direct);
void softcard_loop_index_drop(struct softcard_loop_index *x, const char *id);
/* The volume's device as the index has it (NULL: none, or sysfs unreadable); not checked. */
const struct softcard_loop *softcard_loop_index_get(struct softcard_loop_index *x, const char *exports_dir,
                                                    const char *id);
/* softcard_loop_find_direct() through the index: its device checked, the walk only when the check
 * fails (the entry then replaced by what the walk found). */
int softcard_loop_index_find_direct(struct softcard_loop_index *x, const char *exports_dir, const char *path,
                                    const char *id, char ret_dev[static 32]);
/* j->indexed and j->dev from the index, for work in a child. */
void softcard_loop_index_hint(struct softcard_loop_index *x, const char *exports_dir, struct softcard_loop_job *j);
/* The card's index (qsd.c keeps it with the daemon's exports directory). */
struct softcard_loop_index *qsd_loops(struct qsd *q);

/* ---- view.c: the daemon's state as the card knows it, kept by its own commands ---- */

struct softcard_view {
        json_t *exports, *nodes, *objects; /* NULL: read from the daemon next time */
};
void softcard_view_forget(struct softcard_view *v);
/* A copy of what the view has for one of the three queries (execute), or NULL: ask the daemon. */
json_t *softcard_view_get(struct softcard_view *v, const char *execute);
/* The daemon's answer to such a query, kept. */
void softcard_view_set(struct softcard_view *v, const char *execute, json_t *value);
/* The card's view (qsd.c keeps it with the daemon's connection). */
struct softcard_view *qsd_view(struct qsd *q);
/* Whether execute only reads (the view's three queries, any query-*). */
bool softcard_view_is_query(const char *execute);
/* What command execute with args did (r: its result) to the daemon's state. */
void softcard_view_apply(struct softcard_view *v, const char *execute, json_t *args, int r);

/* ---- volume_file.c: volume files, made and removed; the pool's limit ---- */

/* A volume as the storage half works on it: card.h's description with its locator read
 * (softcard_volume_from()). The locator is "<format>:<path>", e.g.
 * "qcow2:/var/lib/zero/card/volumes/<id>.qcow2": what the agent's store held as a volume's format
 * and path before card ABI 3, so that rows of older stores read the same way (store/schema.c,
 * migration 7). Never change the form: the store keeps it. */
struct softcard_volume {
        const char *id;
        const char *path;      /* its file, absolute */
        const char *format;    /* "raw" (every new volume), or "qcow2" (clones made before the pool,
                                * which keep the daemon's FUSE export for their host path): static */
        uint64_t size_bytes;
        const char *base_path; /* the source it is a copy-on-write clone of; NULL: a blank volume */
        uint64_t qos_iops, qos_bps;
        const struct softcard_pool *pool; /* the card's (softcard.c sets it; NULL: no pool) */
};
/* v's fields, its locator parsed; strings point into v (ZERO_E_INVALID for a malformed locator). */
int softcard_volume_from(const struct zero_card_volume *v, struct softcard_volume *ret, struct zero_error *err);
/* The placement of a new volume: a raw file under volumes_dir (the pool's DIR/volumes) named by
 * its id, a clone of a source as a blank one. */
int softcard_volume_place(const char *volumes_dir, const struct zero_card_volume *v, struct zero_card_placement *ret,
                          struct zero_error *err);

#define SOFTCARD_VOLUME_SIZE_MIN (1ULL << 20)
#define SOFTCARD_VOLUME_SIZE_MAX (1ULL << 50) /* 1 PiB: beyond it qcow2's metadata gets silly */

/* The description's fields (ZERO_E_INVALID with the reason); a size a multiple of 512 in the range above. */
int softcard_volume_check(const struct softcard_volume *v, struct zero_error *err);
int softcard_size_check(const struct softcard_volume *v, uint64_t size, struct zero_error *err);
/* Both, and size (v's when 0) within what one file may be on the filesystem v lives on. */
int softcard_volume_validate(const struct softcard_volume *v, uint64_t size, struct zero_error *err);
/* Runs argv to its end (zero_run_wait_flags(): flags ZERO_CHILD_*; killed after timeout_usec, 0:
 * never); a failure's output goes into err. */
int softcard_run(char *const argv[], unsigned flags, uint64_t timeout_usec, struct zero_error *err);
/* A command's failure (status: exit status, 128+signal, or -errno; its output) in err; -ETIMEDOUT
 * (its deadline) is ZERO_E_TIMEOUT. */
int softcard_command_failed(char *const argv[], int status, const char *output, struct zero_error *err);

int softcard_volume_create(struct qsd *q, const struct softcard_volume *v, struct zero_error *err);
/* Unexports (if exported) and removes the file. */
int softcard_volume_delete(struct qsd *q, const struct softcard_volume *v, struct zero_error *err);

/* How a volume file's job ends: r >= 0 done, else -errno with err; from the loop, never from inside
 * the call that started it (softcard.c turns it into the card ABI's done). */
typedef void (*softcard_file_done_fn)(void *userdata, int r, const struct zero_error *err);

/* The volume jobs running on the loop, one at most per volume. */
struct softcard_jobs {
        struct vfile *head;
        uint64_t command_timeout_usec; /* of each command of a job; 0: volume_file.c's (tests set one) */
};
int softcard_volume_create_async(struct softcard_jobs *jobs, sd_event *e, struct qsd *q,
                                 const struct softcard_volume *v, softcard_file_done_fn done, void *userdata,
                                 struct zero_error *err);
int softcard_volume_delete_async(struct softcard_jobs *jobs, sd_event *e, struct qsd *q,
                                 const struct softcard_volume *v, softcard_file_done_fn done, void *userdata,
                                 struct zero_error *err);
/* Stops every job (children killed, done not called): close(). */
void softcard_jobs_cancel(struct softcard_jobs *jobs);

/* ---- volume.c, volume_export.c, volume_op.c: exports, QoS, stats, resize ---- */

/* The synchronous ops hold the caller until they end: every QMP command a qsd_call(), the loop
 * device's attach, refresh and detach in the process. For zerod's start and sync() (card.h says
 * why it is synchronous) and tests; the card ABI's ops (softcard.c) use the asynchronous ones
 * below. */
int softcard_volume_resize(struct qsd *q, const struct softcard_volume *v, uint64_t new_size,
                           struct zero_error *err);
int softcard_volume_set_qos(struct qsd *q, const struct softcard_volume *v, struct zero_error *err);
int softcard_volume_stats(struct qsd *q, const struct softcard_volume *v, struct zero_card_volume_stats *ret,
                          struct zero_error *err);
/* ret_created (may be NULL): whether anything had to be made (the export or its loop device). */
int softcard_volume_export(struct qsd *q, const struct softcard_volume *v, enum zero_card_export_kind kind,
                           char ret_path[static ZERO_CARD_PATH_MAX], bool *ret_created, struct zero_error *err);
int softcard_volume_unexport(struct qsd *q, const struct softcard_volume *v, struct zero_error *err);
/* The size a reader of the volume sees, from its file: the raw file's, the qcow2 header's. */
int softcard_volume_virtual_size(const struct softcard_volume *v, uint64_t *ret);

/*
 * The same four on the loop, for a qsd opened with the agent's loop. Same effects, idempotency
 * and error codes as the synchronous ones (the journal reruns a step after a crash). Each is a
 * list of steps (volume_op.h): its QMP commands go through qsd_call_async() under the same rules
 * (a stalled daemon's calls fail fast, ZERO_E_TIMEOUT), and what may wait on the daemon's FUSE
 * export (a loop device's attach, size refresh, detach) and qemu-img run in children watched on
 * the loop, killed after 10 s (ZERO_E_TIMEOUT). They make sure of the daemon themselves
 * (qsd_ensure_nowait(): no qsd_ensure() before them).
 *
 * Returns 0: under way, done follows. -errno at once for what is refused before anything runs
 * (a bad description or size, an unknown kind, a volume without its file for an export, the
 * daemon restarting: -EAGAIN, ZERO_E_UNAVAILABLE); done never follows then. What is needed of v
 * is copied. Ops on the same volume run one after the other, in the order they were started.
 * ret (may be NULL when the caller never cancels): the op, valid until done is called.
 */
/* How an asynchronous volume op ends: r >= 0 done (path: the export's path for
 * softcard_volume_export_async, else NULL), else -errno with err. Called from the loop,
 * never from inside the call that started the op. */
typedef void (*softcard_done_fn)(void *userdata, int r, const char *path, const struct zero_error *err);
struct softcard_op; /* one op under way */
int softcard_volume_export_async(struct qsd *q, const struct softcard_volume *v, enum zero_card_export_kind kind,
                                 softcard_done_fn done, void *userdata, struct softcard_op **ret, struct zero_error *err);
int softcard_volume_unexport_async(struct qsd *q, const struct softcard_volume *v, softcard_done_fn done,
                                   void *userdata, struct softcard_op **ret, struct zero_error *err);
int softcard_volume_resize_async(struct qsd *q, const struct softcard_volume *v, uint64_t new_size,
                                 softcard_done_fn done, void *userdata, struct softcard_op **ret, struct zero_error *err);
int softcard_volume_set_qos_async(struct qsd *q, const struct softcard_volume *v, softcard_done_fn done,
                                  void *userdata, struct softcard_op **ret, struct zero_error *err);
/* Live migration's hand-over (card.h's volume_release, volume_take), on the loop like the four
 * above, for a VM's export (vhost-user-blk, nbd). Release: an export that holds its volume is
 * drained and flushed and keeps it (the source's guest is paused); one not made yet is made over a
 * null node of the volume's size, the file not opened (the target's, before its QEMU starts).
 * Take: fresh format and file nodes put where the null node was (blockdev-reopen of the throttle
 * node), or nothing when the volume is held already. done's path: the export's. */
int softcard_volume_hand_async(struct qsd *q, const struct softcard_volume *v, enum zero_card_export_kind kind,
                               bool take, softcard_done_fn done, void *userdata, struct softcard_op **ret,
                               struct zero_error *err);
/* Stops an op under way without calling its done (its owner went); NULL-safe. A command it sent
 * may still take effect (the daemon runs it): the next op on the volume looks first. A child it
 * started is killed (reaped from the loop if it waits on a stopped daemon). */
struct softcard_op *softcard_op_cancel(struct softcard_op *op);
/* Deletes from the daemon every export, node and throttle group of a volume not in keep. Returns
 * the number of volumes it could not clean (the first reason in err). */
int softcard_volume_prune(struct qsd *q, const struct zero_card_want_export *keep, size_t n_keep,
                          struct zero_error *err);
