/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A volume's export in the daemon (storage.h has the names) and its undoing, as the steps of
 * volume_op.h, run at once or on the loop:
 *   export:   what the daemon has -> an export going away waited for -> a conflict refused (another
 *             kind, a node of another file) -> the throttle group (QoS), the file, format and
 *             throttle nodes, the export, each only if missing -> a host-block export's loop
 *             device (work off the loop) -> its path;
 *   unexport: the loop device (work off the loop: it holds the FUSE file) -> what the daemon has
 *             -> the export deleted and waited for -> a dead daemon's mount -> the nodes and the
 *             group, each if there -> the mount point and socket files.
 * Every step looks first, so an op run again (the journal, after a crash) finishes what is left.
 *
 * Graph of an exported volume:  export e -> throttle t (group g) -> format q -> file f.
 * The throttle filter is always there, limits or not, so QoS changes apply live (qom-set).
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mount.h>

#include "common/util.h"
#include "io/softcard/volume_op.h"

#define EXPORT_GONE_TIMEOUT_USEC (10 * USEC_PER_SEC)

static const char *qemu_export_type(enum zero_card_export_kind kind) {
        return kind == ZERO_CARD_EXPORT_HOST_BLOCK ? "fuse" : zero_card_export_kind_to_string(kind);
}

/* An export that is going away (block-export-del returns before it is gone) is waited for:
 * its query again, after a pause that doubles up to 64 ms, for EXPORT_GONE_TIMEOUT_USEC. */
static int export_going(struct softcard_op *o, struct zero_error *err) {
        uint64_t now = zero_monotonic_usec();

        if (o->gone_deadline == 0) {
                o->gone_deadline = now + EXPORT_GONE_TIMEOUT_USEC;
                o->gone_delay_usec = USEC_PER_MSEC;
        }
        if (now >= o->gone_deadline)
                return zero_error_set(err, -ETIMEDOUT, ZERO_E_INTERNAL, "export %s does not go away", o->n.e);
        return OP_NEXT;
}

/* Waits for an export that is going: a pause, then what the daemon has, again. */
static int step_gone_wait(struct softcard_op *o, struct zero_error *err) {
        if (!o->answered)
                return op_sleep(o, o->gone_delay_usec);
        if (o->gone_delay_usec < 64 * USEC_PER_MSEC)
                o->gone_delay_usec *= 2;
        return op_goto(o, op_load_exports);
}

static int step_export_group(struct softcard_op *o, struct zero_error *err);
static int step_export_direct(struct softcard_op *o, struct zero_error *err);

/* What is there already: another kind of export, a node of another file, an export going. */
static int step_export_check(struct softcard_op *o, struct zero_error *err) {
        json_t *e = find_export(&o->s, o->n.e), *f = find_node(&o->s, o->n.f);

        if (e && json_is_true(json_object_get(e, "shutting-down")))
                return export_going(o, err); /* then step_gone_wait */
        if (e && softcard_export_kind(e) != o->kind)
                return zero_error_set(err, -EBUSY, ZERO_E_CONFLICT, "volume %s is exported as %s", o->id,
                                      strempty(zero_card_export_kind_to_string(softcard_export_kind(e))));
        /* Two volumes whose ids share 16 hex digits would share names: refuse rather than mix. */
        if (!e && f && !streq(strempty(json_string_value(json_object_get(f, "file"))), o->path))
                return zero_error_set(err, -EEXIST, ZERO_E_CONFLICT, "volume %s: node %s serves another file", o->id,
                                      o->n.f);
        o->exported = e != NULL;
        if (!e && streq(o->v.format, "raw")) {
                char dev[32];
                bool has_direct = softcard_loop_index_find_direct(qsd_loops(o->q), qsd_exports_dir(o->q), o->path,
                                                                  o->id, dev) >= 0;
                if (has_direct && o->kind != ZERO_CARD_EXPORT_HOST_BLOCK)
                        return zero_error_set(err, -EBUSY, ZERO_E_CONFLICT, "volume %s is exported as host-block",
                                              o->id);
                /* A raw volume's host path needs no daemon, unless it has limits and the block layer
                 * cannot enforce them here (throttle.c): then the daemon's throttle group does. */
                if (o->kind == ZERO_CARD_EXPORT_HOST_BLOCK &&
                    (has_direct || (!o->v.qos_iops && !o->v.qos_bps) || softcard_throttle_available())) {
                        o->direct = true;
                        return op_goto(o, step_export_direct);
                }
        }
        return op_goto(o, step_export_group);
}

/* The nodes: what is missing of g, f, q, t. */
static int step_export_group(struct softcard_op *o, struct zero_error *err) {
        if (o->answered)
                return op_answer(o, err);
        if (o->exported)
                return OP_NEXT;
        if (find_object(&o->s, o->n.g))
                return op_set_limits(o);
        return op_qmp(o, "object-add",
                      json_pack("{s:s, s:s, s:o}", "qom-type", "throttle-group", "id", o->n.g, "limits",
                                softcard_limits_new(&o->v)));
}

/* locking off: the agent guarantees one writer, and a migrating VM's volume is open in the
 * daemons of both nodes at once (BLUEPRINT: shared storage, locking=off). */
/* The file node, unless it is there (or skip: an export made already keeps its own). */
static int ask_node_file(struct softcard_op *o, bool skip, struct zero_error *err) {
        if (o->answered)
                return op_answer(o, err);
        if (skip || find_node(&o->s, o->n.f))
                return OP_NEXT;
        return op_qmp(o, "blockdev-add",
                      json_pack("{s:s, s:s, s:s, s:s, s:s}", "driver", "file", "node-name", o->n.f, "filename",
                                o->path, "locking", "off", "discard", "unmap"));
}

static int ask_node_format(struct softcard_op *o, bool skip, struct zero_error *err) {
        if (o->answered)
                return op_answer(o, err);
        if (skip || find_node(&o->s, o->n.q))
                return OP_NEXT;
        return op_qmp(o, "blockdev-add",
                      json_pack("{s:s, s:s, s:s, s:s}", "driver", o->v.format, "node-name", o->n.q, "file", o->n.f,
                                "discard", "unmap"));
}

static int step_node_file(struct softcard_op *o, struct zero_error *err) {
        return ask_node_file(o, o->exported, err);
}

static int step_node_format(struct softcard_op *o, struct zero_error *err) {
        return ask_node_format(o, o->exported, err);
}

static int step_node_throttle(struct softcard_op *o, struct zero_error *err) {
        if (o->answered)
                return op_answer(o, err);
        if (o->exported || find_node(&o->s, o->n.t))
                return OP_NEXT;
        return op_qmp(o, "blockdev-add",
                      json_pack("{s:s, s:s, s:s, s:s}", "driver", "throttle", "node-name", o->n.t, "throttle-group",
                                o->n.g, "file", o->t_child ? o->t_child : o->n.q));
}

static int ask_export_add(struct softcard_op *o, struct zero_error *err) {
        json_auto_t *a = json_pack("{s:s, s:s, s:s, s:b}", "type", qemu_export_type(o->kind), "id", o->n.e,
                                   "node-name", o->n.t, "writable", 1);
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (!a)
                return zero_error_default(err, -ENOMEM, "block-export-add");
        switch (o->kind) {
        case ZERO_CARD_EXPORT_NBD:
                r = json_object_set_new(a, "name", json_string(o->id));
                break;
        case ZERO_CARD_EXPORT_VHOST_USER_BLK:
                (void) unlink(o->n.vhost);
                r = json_object_set_new(a, "addr", json_pack("{s:s, s:s}", "type", "unix", "path", o->n.vhost));
                break;
        default:
                /* The mount point is a regular file the export covers. A mount left there by a
                 * dead daemon would make the new one fail. */
                if (softcard_is_mounted(o->q, o->n.mnt))
                        (void) umount2(o->n.mnt, MNT_DETACH);
                fd = open(o->n.mnt, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd < 0)
                        return zero_error_default(err, -errno, "Failed to create the export's mount point");
                /* allow-other off: only root reaches the file; users get the loop device. */
                r = json_object_set_new(a, "mountpoint", json_string(o->n.mnt));
                if (r >= 0)
                        r = json_object_set_new(a, "growable", json_false());
                if (r >= 0)
                        r = json_object_set_new(a, "allow-other", json_string("off"));
                break;
        }
        if (r < 0)
                return zero_error_default(err, -ENOMEM, "block-export-add");
        return op_qmp(o, "block-export-add", TAKE_PTR(a));
}

static int step_export_add(struct softcard_op *o, struct zero_error *err) {
        if (!o->answered)
                return o->exported ? OP_NEXT : ask_export_add(o, err);
        if (o->r == -EIO && o->kind == ZERO_CARD_EXPORT_NBD && strstr(o->e.message, "NBD server")) {
                o->nbd_retry = true; /* only if the daemon's NBD server went away */
                return OP_NEXT;
        }
        o->created = o->r >= 0;
        return op_answer(o, err);
}

static int step_nbd_server(struct softcard_op *o, struct zero_error *err) {
        if (!o->nbd_retry)
                return OP_NEXT;
        if (o->answered)
                return op_answer(o, err);
        /* 7.2 takes the legacy address here. */
        return op_qmp(o, "nbd-server-start",
                      json_pack("{s:{s:s, s:{s:s}}}", "addr", "type", "unix", "data", "path", qsd_nbd_socket(o->q)));
}

static int step_export_add_again(struct softcard_op *o, struct zero_error *err) {
        if (!o->nbd_retry)
                return OP_NEXT;
        if (!o->answered)
                return ask_export_add(o, err);
        o->created = o->r >= 0;
        return op_answer(o, err);
}

/* The answer of work that attached or found the volume's loop device (o->text), into o->dev and
 * the card's index; a failure may have left a device nobody heard of: the index reads sysfs again. */
static int loop_answer(struct softcard_op *o, bool direct, struct zero_error *err) {
        int r = op_answer(o, err);

        if (r < 0) {
                softcard_loop_index_forget(qsd_loops(o->q));
                return r;
        }
        snprintf(o->dev, sizeof(o->dev), "%.31s", o->text);
        (void) softcard_loop_index_put(qsd_loops(o->q), o->id, o->dev, direct);
        return OP_NEXT;
}

/* A host-block export's loop device, attached if missing: off the loop (loop.c). */
static int step_export_loop(struct softcard_op *o, struct zero_error *err) {
        int r;

        if (o->kind != ZERO_CARD_EXPORT_HOST_BLOCK || o->direct)
                return OP_NEXT;
        if (!o->answered) {
                r = softcard_loop_job_init(&o->job, qsd_exports_dir(o->q), o->id, 0);
                if (r < 0)
                        return zero_error_default(err, r, "Failed to attach the loop device");
                return op_work(o, "the loop device's attach", softcard_loop_ensure_work);
        }
        r = loop_answer(o, false, err);
        if (r < 0)
                return r;
        if (o->r > 0)
                o->created = true;
        return OP_NEXT;
}

/* The direct loop device over the raw file, with the volume's limits: in a child, as the pool
 * may have to be mounted first (loop.c, pool.c). */
static int step_export_direct(struct softcard_op *o, struct zero_error *err) {
        int r;

        if (!o->direct)
                return OP_NEXT;
        if (!o->answered) {
                r = op_job(o, 0, err);
                if (r < 0)
                        return r;
                softcard_loop_index_hint(qsd_loops(o->q), qsd_exports_dir(o->q), &o->job);
                return op_work(o, "the direct loop device's attach", softcard_loop_direct_work);
        }
        r = loop_answer(o, true, err);
        if (r < 0)
                return r;
        o->created = o->r > 0;
        return OP_NEXT;
}

static int step_export_path(struct softcard_op *o, struct zero_error *err) {
        int len;

        if (o->kind == ZERO_CARD_EXPORT_NBD)
                len = snprintf(o->export_path, sizeof(o->export_path), "nbd+unix:///%s?socket=%s", o->id,
                               qsd_nbd_socket(o->q));
        else
                len = snprintf(o->export_path, sizeof(o->export_path), "%s",
                               o->kind == ZERO_CARD_EXPORT_HOST_BLOCK ? o->dev : o->n.vhost);
        if (len < 0 || (size_t) len >= sizeof(o->export_path))
                return zero_error_set(err, -ENAMETOOLONG, ZERO_E_INTERNAL, "export path of volume %s too long", o->id);
        return OP_NEXT;
}

static const op_step_fn export_steps[] = {
        op_pool,           op_load_exports, op_load_nodes,    op_load_objects,    step_export_check,
        step_gone_wait,    step_export_group, step_node_file, step_node_format,   step_node_throttle,
        step_export_add,   step_nbd_server, step_export_add_again, step_export_loop, step_export_direct,
        step_export_path,
};

/* ---- Unexport: the loop device first (it holds the FUSE file), then the export, its nodes ---- */

static int step_unexport_loop(struct softcard_op *o, struct zero_error *err) {
        int r;

        if (!o->name_id) /* prune: a volume known by its key, no files */
                return OP_NEXT;
        if (o->answered) {
                r = op_answer(o, err);
                if (r < 0)
                        softcard_loop_index_forget(qsd_loops(o->q));
                else
                        softcard_loop_index_drop(qsd_loops(o->q), o->id);
                return r;
        }
        r = softcard_loop_job_init(&o->job, qsd_exports_dir(o->q), o->id, 0);
        if (r < 0)
                return zero_error_default(err, r, "Failed to detach the loop device");
        snprintf(o->job.path, sizeof(o->job.path), "%s", o->path);
        softcard_loop_index_hint(qsd_loops(o->q), qsd_exports_dir(o->q), &o->job);
        return op_work(o, "the loop device's detach", softcard_loop_detach_work);
}

static int step_unexport_umount(struct softcard_op *o, struct zero_error *err);

static int step_export_del(struct softcard_op *o, struct zero_error *err) {
        json_t *e = find_export(&o->s, o->n.e);

        if (o->answered) /* -EIO: it may have just gone by itself */
                return o->r >= 0 || o->r == -EIO ? export_going(o, err) : op_answer(o, err);
        if (!e)
                return op_goto(o, step_unexport_umount);
        if (json_is_true(json_object_get(e, "shutting-down")))
                return export_going(o, err);
        /* hard: the agent unexports after the user stopped; a client still connected must not
         * keep the volume from going. */
        return op_qmp(o, "block-export-del", json_pack("{s:s, s:s}", "id", o->n.e, "mode", "hard"));
}

static int step_unexport_umount(struct softcard_op *o, struct zero_error *err) {
        if (o->name_id && softcard_is_mounted(o->q, o->n.mnt)) /* the daemon that made it died */
                (void) umount2(o->n.mnt, MNT_DETACH);
        return OP_NEXT;
}

static int ask_del_node(struct softcard_op *o, const char *name, struct zero_error *err) {
        if (o->answered)
                return op_answer(o, err);
        if (!find_node(&o->s, name))
                return OP_NEXT;
        return op_qmp(o, "blockdev-del", json_pack("{s:s}", "node-name", name));
}

static int step_del_throttle(struct softcard_op *o, struct zero_error *err) {
        return ask_del_node(o, o->n.t, err);
}

static int step_del_format(struct softcard_op *o, struct zero_error *err) {
        return ask_del_node(o, o->n.q, err);
}

static int step_del_file(struct softcard_op *o, struct zero_error *err) {
        return ask_del_node(o, o->n.f, err);
}

static int step_del_group(struct softcard_op *o, struct zero_error *err) {
        if (o->answered)
                return op_answer(o, err);
        if (!find_object(&o->s, o->n.g))
                return OP_NEXT;
        return op_qmp(o, "object-del", json_pack("{s:s}", "id", o->n.g));
}

static int step_unexport_files(struct softcard_op *o, struct zero_error *err) {
        if (o->name_id) {
                (void) unlink(o->n.mnt);
                (void) unlink(o->n.vhost);
        }
        return OP_NEXT;
}

static int step_del_null(struct softcard_op *o, struct zero_error *err) {
        return ask_del_node(o, o->n.n, err);
}

static const op_step_fn unexport_steps[] = {
        step_unexport_loop, op_load_exports, op_load_nodes, op_load_objects, step_export_del,
        step_gone_wait,     step_unexport_umount, step_del_throttle, step_del_null, step_del_format,
        step_del_file,      step_del_group,  step_unexport_files,
};

/*
 * ---- Hand-over (live migration): the export stays, what is behind it changes ----
 *
 * A volume another node's card is to take (card.h's volume_release), as this node hands it over:
 *   export e -> throttle t -> format q -> file f     the source's export, its guest paused: t is
 *                                                    reopened as it is, which drains it (every
 *                                                    request under way ends) and flushes the whole
 *                                                    chain (qcow2's tables, then fdatasync)
 * and as the other node waits for it:
 *   export e -> throttle t -> null n                 the target's export, made before its QEMU
 *                                                    starts (it connects at once): null-co of the
 *                                                    volume's size, the file not opened
 * Taken (volume_take): t reopened over fresh format and file nodes, n deleted; on the source
 * (a migration undone) there is nothing to do: what it holds is still true, nobody wrote since.
 *
 * So the file is never read by one node while the other still writes: the target opens it only
 * after the source's flush, and the source's guest never runs again once the target's has (QEMU
 * resumes the source only if the switchover failed, and with the return path that means the
 * target never ran it). QEMU 7.2's daemon has no inactive nodes (blockdev-set-active came with
 * 10.0): a node opened before the source stopped writing would keep stale qcow2 tables, hence the
 * null placeholder. The source keeps its nodes open until it cleans up after the switchover, so
 * that a switchover that fails resumes its guest on its real disk; closing them then writes
 * nothing (they are clean).
 */

/* What is there: an export of another kind is refused, one going away waited for. */
static int step_hand_check(struct softcard_op *o, struct zero_error *err) {
        json_t *e = find_export(&o->s, o->n.e), *f = find_node(&o->s, o->n.f);

        if (e && json_is_true(json_object_get(e, "shutting-down")))
                return export_going(o, err); /* then step_gone_wait */
        if (e && softcard_export_kind(e) != o->kind)
                return zero_error_set(err, -EBUSY, ZERO_E_CONFLICT, "volume %s is exported as %s", o->id,
                                      strempty(zero_card_export_kind_to_string(softcard_export_kind(e))));
        if (f && !streq(strempty(json_string_value(json_object_get(f, "file"))), o->path))
                return zero_error_set(err, -EEXIST, ZERO_E_CONFLICT, "volume %s: node %s serves another file", o->id,
                                      o->n.f);
        o->exported = e != NULL;
        return op_goto(o, step_export_group);
}

static int node_reopen(struct softcard_op *o, const char *child) {
        return op_qmp(o, "blockdev-reopen",
                      json_pack("{s:[{s:s, s:s, s:s, s:s}]}", "options", "driver", "throttle", "node-name", o->n.t,
                                "throttle-group", o->n.g, "file", child));
}

/* Release where the file is not open here (the target's export, made before its QEMU starts): the
 * null node, of the volume's size (read from its file: what the format node would say). */
static int step_null_node(struct softcard_op *o, struct zero_error *err) {
        uint64_t size = 0;
        int r;

        if (o->answered)
                return op_answer(o, err);
        if (find_node(&o->s, o->n.q))
                return OP_NEXT; /* the source's: open, and stays so */
        o->t_child = o->n.n;
        if (find_node(&o->s, o->n.n))
                return OP_NEXT;
        if ((r = softcard_volume_virtual_size(&o->v, &size)) < 0)
                return zero_error_set(err, r, ZERO_E_NOT_FOUND, "volume %s: cannot read the size of %s: %s", o->id,
                                      o->path, strerror(-r));
        return op_qmp(o, "blockdev-add",
                      json_pack("{s:s, s:s, s:I, s:b}", "driver", "null-co", "node-name", o->n.n, "size",
                                (json_int_t) size, "read-zeroes", 1));
}

/* t made over o->t_child where it is missing (step_node_throttle); else reopened over child when
 * node `when` is there. */
static int ask_throttle(struct softcard_op *o, const char *when, const char *child, struct zero_error *err) {
        if (o->answered)
                return op_answer(o, err);
        if (!find_node(&o->s, o->n.t))
                return op_goto(o, step_node_throttle);
        return find_node(&o->s, when) ? node_reopen(o, child) : OP_NEXT;
}

/* Release: t made over n; or, over q (the source's), reopened as it is: drained and flushed. */
static int step_release_throttle(struct softcard_op *o, struct zero_error *err) {
        return ask_throttle(o, o->n.q, o->n.q, err);
}

/* Take: fresh file and format nodes (those of an export made before stay, when not released). */
static int step_take_file(struct softcard_op *o, struct zero_error *err) {
        o->t_child = o->n.q;
        return ask_node_file(o, false, err);
}

static int step_take_format(struct softcard_op *o, struct zero_error *err) {
        return ask_node_format(o, false, err);
}

/* Take: t made over q, or swapped to q from n. */
static int step_take_throttle(struct softcard_op *o, struct zero_error *err) {
        return ask_throttle(o, o->n.n, o->n.q, err);
}

/* After the throttle node (made or swapped): on to the export, past step_node_throttle. */
static int step_hand_export(struct softcard_op *o, struct zero_error *err) {
        return op_goto(o, step_export_add);
}

/* The export's own steps follow each list's own: a missing throttle node is made there
 * (step_node_throttle over o->t_child), the export added if missing, then its path. */
static const op_step_fn release_steps[] = {
        op_load_exports,   op_load_nodes,  op_load_objects,       step_hand_check,       step_gone_wait,
        step_export_group, step_null_node, step_release_throttle, step_hand_export,      step_node_throttle,
        step_export_add,   step_nbd_server, step_export_add_again, step_export_path,
};

static const op_step_fn take_steps[] = {
        op_load_exports,   op_load_nodes,  op_load_objects,  step_hand_check,    step_gone_wait,
        step_export_group, step_take_file, step_take_format, step_take_throttle, step_del_null,
        step_hand_export,  step_node_throttle, step_del_null, step_export_add,   step_nbd_server,
        step_export_add_again, step_export_path,
};

static int export_new(struct qsd *q, const struct softcard_volume *v, enum zero_card_export_kind kind,
                      struct softcard_op **ret, struct zero_error *err) {
        int r = softcard_volume_check(v, err);

        if (r < 0)
                return r;
        if (!qemu_export_type(kind))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "unknown export kind %d", (int) kind);
        r = softcard_op_new(q, v, export_steps, ELEMENTSOF(export_steps), ret, err);
        if (r < 0)
                return r;
        /* A volume in a pool not mounted yet is looked for once it is (op_pool). */
        if (!softcard_pool_holds(v->pool, v->path) && access(v->path, F_OK) < 0) {
                *ret = softcard_op_free(*ret);
                return zero_error_set(err, -ENOENT, ZERO_E_NOT_FOUND, "volume %s has no file %s", v->id, v->path);
        }
        (*ret)->kind = kind;
        return 0;
}

int softcard_volume_export(struct qsd *q, const struct softcard_volume *v, enum zero_card_export_kind kind,
                           char ret_path[static ZERO_CARD_PATH_MAX], bool *ret_created, struct zero_error *err) {
        _cleanup_(softcard_op_freep) struct softcard_op *o = NULL;
        int r = export_new(q, v, kind, &o, err);

        if (r >= 0)
                r = softcard_op_run(o, err);
        if (r < 0)
                return r;
        snprintf(ret_path, ZERO_CARD_PATH_MAX, "%s", o->export_path);
        if (ret_created)
                *ret_created = o->created;
        return 0;
}

int softcard_volume_unexport(struct qsd *q, const struct softcard_volume *v, struct zero_error *err) {
        _cleanup_(softcard_op_freep) struct softcard_op *o = NULL;
        int r = softcard_op_new(q, v, unexport_steps, ELEMENTSOF(unexport_steps), &o, err);

        return r < 0 ? r : softcard_op_run(o, err);
}

int softcard_volume_export_async(struct qsd *q, const struct softcard_volume *v, enum zero_card_export_kind kind,
                                 softcard_done_fn done, void *userdata, struct softcard_op **ret,
                                 struct zero_error *err) {
        struct softcard_op *o = NULL;
        int r = export_new(q, v, kind, &o, err);

        return r < 0 ? r : softcard_op_start(o, done, userdata, ret, err);
}

int softcard_volume_unexport_async(struct qsd *q, const struct softcard_volume *v, softcard_done_fn done,
                                   void *userdata, struct softcard_op **ret, struct zero_error *err) {
        struct softcard_op *o = NULL;
        int r = softcard_op_new(q, v, unexport_steps, ELEMENTSOF(unexport_steps), &o, err);

        return r < 0 ? r : softcard_op_start(o, done, userdata, ret, err);
}

int softcard_volume_hand_async(struct qsd *q, const struct softcard_volume *v, enum zero_card_export_kind kind,
                               bool take, softcard_done_fn done, void *userdata, struct softcard_op **ret,
                               struct zero_error *err) {
        struct softcard_op *o = NULL;
        int r;

        /* A host block device is the host's own: a container, which does not migrate. */
        if (kind != ZERO_CARD_EXPORT_VHOST_USER_BLK && kind != ZERO_CARD_EXPORT_NBD)
                return zero_error_set(err, -EOPNOTSUPP, ZERO_E_INVALID, "volume %s: only a VM's export (vhost-user-blk, "
                                      "nbd) is handed over to another node, not %s", v ? v->id : "",
                                      strempty(zero_card_export_kind_to_string(kind)));
        r = take ? softcard_op_new(q, v, take_steps, ELEMENTSOF(take_steps), &o, err)
                 : softcard_op_new(q, v, release_steps, ELEMENTSOF(release_steps), &o, err);
        if (r < 0)
                return r;
        o->kind = kind;
        return softcard_op_start(o, done, userdata, ret, err);
}

/* Deletes a volume's export, nodes and group from the daemon, the volume known by its key. */
int softcard_unexport_key(struct qsd *q, const char *key, struct zero_error *err) {
        _cleanup_(softcard_op_freep) struct softcard_op *o = NULL;
        int r = softcard_op_new(q, NULL, unexport_steps, ELEMENTSOF(unexport_steps), &o, err);

        if (r < 0)
                return r;
        softcard_names_of_key(key, &o->n);
        return softcard_op_run(o, err);
}

