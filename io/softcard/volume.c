/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Volumes on the softcard: their descriptions (the locator, the checks, where a new one goes),
 * and in the daemon their resize, QoS, stats and sync()'s prune; exports are volume_export.c's.
 * Every op first looks at what the daemon and the kernel have (query-block-exports,
 * query-named-block-nodes, qom-list /objects, the loop devices) and makes only what is missing,
 * so a step the journal runs again after a crash just finishes.
 *
 * Resize and QoS are lists of steps (volume_op.h), like the export's: one QMP command, a
 * command (qemu-img) or one piece of work on a loop device each. volume_op.c runs them at once
 * (sync(), the card ABI's synchronous ops) or on the loop (the *_async ops), from the same
 * lists: the commands are built once. What may wait on the daemon's FUSE export (here: the loop
 * device's size refresh after a live resize) is work, which on the loop runs in a forked child
 * (loop.c, common/subprocess.c).
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "common/util.h"
#include "io/softcard/volume_op.h"

#define QOS_MAX 1000000000000000ULL  /* QEMU's THROTTLE_VALUE_MAX */

static bool is_hex_id(const char *id) {
        if (!id || strlen(id) != 32)
                return false;
        for (const char *p = id; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F')))
                        return false;
        return true;
}

int softcard_volume_check(const struct softcard_volume *v, struct zero_error *err) {
        if (!v)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "volume description missing");
        if (!is_hex_id(v->id))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "volume id must be 32 hex characters");
        if (!v->path || v->path[0] != '/' || strlen(v->path) + 8 >= PATH_MAX)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "volume %s: path must be absolute", v->id);
        if (!v->format || (!streq(v->format, "qcow2") && !streq(v->format, "raw")))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "volume %s: format must be qcow2 or raw", v->id);
        if (v->qos_iops > QOS_MAX || v->qos_bps > QOS_MAX)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "volume %s: QoS limits above %llu", v->id, QOS_MAX);
        return 0;
}

int softcard_volume_from(const struct zero_card_volume *v, struct softcard_volume *ret, struct zero_error *err) {
        static const char *const formats[] = {"qcow2", "raw"};
        const char *colon;

        if (!v || v->size < sizeof(*v))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "volume description missing or too old");
        colon = v->locator ? strchr(v->locator, ':') : NULL;
        *ret = (struct softcard_volume){.id = v->id, .size_bytes = v->size_bytes, .base_path = v->source,
                                        .qos_iops = v->qos_iops, .qos_bps = v->qos_bps};
        for (size_t i = 0; colon && i < ELEMENTSOF(formats); i++)
                if (strlen(formats[i]) == (size_t) (colon - v->locator) &&
                    strncmp(v->locator, formats[i], strlen(formats[i])) == 0)
                        ret->format = formats[i];
        if (!ret->format)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "volume %s: locator '%s' is not the softcard's",
                                      strempty(v->id), strempty(v->locator));
        ret->path = colon + 1;
        return softcard_volume_check(ret, err);
}

int softcard_volume_place(const char *volumes_dir, const struct zero_card_volume *v, struct zero_card_placement *ret,
                          struct zero_error *err) {
        const char *format;
        int n;

        if (!v || v->size < sizeof(*v) || !ret)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "volume description missing or too old");
        if (!is_hex_id(v->id))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "volume id must be 32 hex characters");
        format = "raw"; /* clones too: FICLONE in the pool (volume_file.c) */
        n = snprintf(ret->locator, sizeof(ret->locator), "%s:%s/%s.%s", format, volumes_dir, v->id, format);
        if (n < 0 || (size_t) n >= sizeof(ret->locator))
                return zero_error_set(err, -ENAMETOOLONG, ZERO_E_INTERNAL, "volume %s: the volume directory %s is too long",
                                      v->id, volumes_dir);
        snprintf(ret->format, sizeof(ret->format), "%s", format);
        return 0;
}

int softcard_size_check(const struct softcard_volume *v, uint64_t size, struct zero_error *err) {
        if (size < SOFTCARD_VOLUME_SIZE_MIN || size > SOFTCARD_VOLUME_SIZE_MAX || size % 512 != 0)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID,
                                      "volume %s: size must be a multiple of 512 bytes from 1 MiB to 1 PiB", v->id);
        return 0;
}

/* ---- Files (volume_file.c makes and removes them) ---- */

/* The size a reader of the volume sees: the file's (raw) or the qcow2 header's. */
int softcard_volume_virtual_size(const struct softcard_volume *v, uint64_t *ret) {
        _cleanup_close_ int fd = open(v->path, O_RDONLY | O_CLOEXEC);
        unsigned char h[32];
        struct stat st;

        if (fd < 0 || fstat(fd, &st) < 0)
                return -errno;
        if (streq(v->format, "raw")) {
                *ret = (uint64_t) st.st_size;
                return 0;
        }
        if (pread(fd, h, sizeof(h), 0) != (ssize_t) sizeof(h) || memcmp(h, "QFI\xfb", 4) != 0)
                return -EBADMSG;
        *ret = 0;
        for (int i = 24; i < 32; i++) /* big-endian virtual size at offset 24 */
                *ret = *ret << 8 | h[i];
        return 0;
}

/* ---- Resize ---- */

static uint64_t node_size(json_t *node) {
        return (uint64_t) json_integer_value(json_object_get(json_object_get(node, "image"), "virtual-size"));
}

/* Live through the topmost node the daemon has: it passes the resize down and every node on the
 * way learns the new size. Else the file: truncate (raw, a sparse file grows at once) or
 * qemu-img (qcow2). */
static int step_resize(struct softcard_op *o, struct zero_error *err) {
        json_t *top;
        int r = 0;

        if (o->answered)
                return op_answer(o, err);
        top = find_node(&o->s, o->n.t) ?: find_node(&o->s, o->n.q);
        if (top) {
                o->cur_size = node_size(top);
                snprintf(o->top, sizeof(o->top), "%s", strempty(json_string_value(json_object_get(top, "node-name"))));
        } else
                r = softcard_volume_virtual_size(&o->v, &o->cur_size);
        if (r == -ENOENT)
                return zero_error_set(err, r, ZERO_E_NOT_FOUND, "volume %s has no file %s", o->id, o->path);
        if (r < 0)
                return zero_error_default(err, r, "Failed to read the volume's size");
        if (o->new_size < o->cur_size)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "volume %s: cannot shrink from %llu to %llu bytes",
                                      o->id, (unsigned long long) o->cur_size, (unsigned long long) o->new_size);
        if (o->new_size == o->cur_size)
                return OP_NEXT;
        if (top)
                return op_qmp(o, "block_resize", json_pack("{s:s, s:I}", "node-name", o->top, "size",
                                                           (json_int_t) o->new_size));
        if (streq(o->v.format, "raw"))
                return truncate(o->path, (off_t) o->new_size) < 0 ? zero_error_default(err, -errno, "truncate") : OP_NEXT;
        snprintf(o->size_arg, sizeof(o->size_arg), "%llu", (unsigned long long) o->new_size);
        return op_command(o, (char *[]){"qemu-img", "resize", "-q", "-f", "qcow2", o->path, o->size_arg, NULL});
}

/* A host-block export's loop device takes the new size: also when the size was already right,
 * as a retried step may have died before this. Off the loop (it reads through the device). */
static int step_resize_loop(struct softcard_op *o, struct zero_error *err) {
        json_t *e = find_export(&o->s, o->n.e);
        bool fuse = o->top[0] && e && softcard_export_kind(e) == ZERO_CARD_EXPORT_HOST_BLOCK;
        int r;

        /* A raw file the daemon does not export may have a direct loop device over it. */
        if (!fuse && (e || !streq(o->v.format, "raw")))
                return OP_NEXT;
        if (o->answered)
                return op_answer(o, err);
        r = op_job(o, o->new_size, err);
        return r < 0 ? r : op_work(o, "the loop device's resize", softcard_loop_refresh_work);
}

static const op_step_fn resize_steps[] = {op_pool, op_load_exports, op_load_nodes, step_resize, step_resize_loop};

/* ---- QoS: applied at once when exported; an unexported volume gets v's at its next export ---- */

static int step_qos(struct softcard_op *o, struct zero_error *err) {
        if (o->answered)
                return op_answer(o, err);
        return find_object(&o->s, o->n.g) ? op_set_limits(o) : OP_NEXT;
}

/* A direct loop device's limits, in the block layer (throttle.c), in a child like its attach. */
static int step_qos_direct(struct softcard_op *o, struct zero_error *err) {
        int r;

        if (!streq(o->v.format, "raw"))
                return OP_NEXT;
        if (o->answered)
                return op_answer(o, err);
        r = op_job(o, 0, err);
        if (r < 0)
                return r;
        softcard_loop_index_hint(qsd_loops(o->q), qsd_exports_dir(o->q), &o->job);
        return op_work(o, "the loop device's limits", softcard_loop_qos_work);
}

static const op_step_fn qos_steps[] = {op_load_objects, step_qos, step_qos_direct};

/* ---- The ops ---- */

static int resize_new(struct qsd *q, const struct softcard_volume *v, uint64_t new_size, struct softcard_op **ret,
                      struct zero_error *err) {
        int r = softcard_volume_validate(v, new_size, err); /* checks v too */

        if (r >= 0)
                r = softcard_op_new(q, v, resize_steps, ELEMENTSOF(resize_steps), ret, err);
        if (r >= 0) {
                (*ret)->new_size = new_size;
                (*ret)->use_view = false; /* the nodes' sizes: only the daemon has them */
        }
        return r;
}

int softcard_volume_resize(struct qsd *q, const struct softcard_volume *v, uint64_t new_size,
                           struct zero_error *err) {
        _cleanup_(softcard_op_freep) struct softcard_op *o = NULL;
        int r = resize_new(q, v, new_size, &o, err);

        return r < 0 ? r : softcard_op_run(o, err);
}

int softcard_volume_set_qos(struct qsd *q, const struct softcard_volume *v, struct zero_error *err) {
        _cleanup_(softcard_op_freep) struct softcard_op *o = NULL;
        int r = softcard_op_new(q, v, qos_steps, ELEMENTSOF(qos_steps), &o, err);

        return r < 0 ? r : softcard_op_run(o, err);
}

int softcard_volume_resize_async(struct qsd *q, const struct softcard_volume *v, uint64_t new_size,
                                 softcard_done_fn done, void *userdata, struct softcard_op **ret,
                                 struct zero_error *err) {
        struct softcard_op *o = NULL;
        int r = resize_new(q, v, new_size, &o, err);

        return r < 0 ? r : softcard_op_start(o, done, userdata, ret, err);
}

int softcard_volume_set_qos_async(struct qsd *q, const struct softcard_volume *v, softcard_done_fn done,
                                  void *userdata, struct softcard_op **ret, struct zero_error *err) {
        struct softcard_op *o = NULL;
        int r = softcard_op_new(q, v, qos_steps, ELEMENTSOF(qos_steps), &o, err);

        return r < 0 ? r : softcard_op_start(o, done, userdata, ret, err);
}

/* ---- Stats: at once, bounded by the caller's timeout (softcard.c's QSD_QUICK_TIMEOUT_USEC) ---- */

int softcard_volume_stats(struct qsd *q, const struct softcard_volume *v, struct zero_card_volume_stats *ret,
                          struct zero_error *err) {
        _cleanup_(softcard_op_freep) struct softcard_op *o = NULL;
        static const op_step_fn steps[] = {op_load_exports};
        struct zero_card_volume_stats st = {};
        json_auto_t *stats = NULL;
        struct stat sb;
        char dev[32];
        json_t *e, *node;
        int r;

        r = softcard_volume_check(v, err);
        if (r < 0)
                return r;
        if (stat(v->path, &sb) < 0 && errno == ENOENT)
                return zero_error_set(err, -ENOENT, ZERO_E_NOT_FOUND, "volume %s has no file %s", v->id, v->path);
        if (stat(v->path, &sb) < 0)
                return zero_error_default(err, -errno, "Failed to stat the volume's file");
        r = softcard_op_new(q, v, steps, ELEMENTSOF(steps), &o, err);
        if (r >= 0)
                r = softcard_op_run(o, err);
        if (r < 0)
                return r;
        e = find_export(&o->s, o->n.e);
        /* qsd 7.2 counts I/O per BlockBackend only, and its exports' backends are anonymous:
         * query-blockstats has zeros for nodes. A host-block export has the kernel's counters. */
        if (!e && streq(v->format, "raw") && softcard_loop_index_find_direct(qsd_loops(q), qsd_exports_dir(q), v->path, v->id, dev) >= 0) {
                (void) softcard_loop_stats(dev, &st); /* the direct host path: no daemon */
                st.exported = true;
        } else if (e && softcard_export_kind(e) == ZERO_CARD_EXPORT_HOST_BLOCK) {
                if (softcard_loop_find(qsd_exports_dir(q), v->id, dev) >= 0)
                        (void) softcard_loop_stats(dev, &st); /* a device going away reads as zeros */
        } else if (e) {
                r = qsd_call(q, "query-blockstats", json_pack("{s:b}", "query-nodes", 1), &stats, err);
                if (r < 0)
                        return r;
                node = json_object_get(softcard_find(stats, "node-name", o->n.t), "stats");
                st.read_bytes = (uint64_t) json_integer_value(json_object_get(node, "rd_bytes"));
                st.write_bytes = (uint64_t) json_integer_value(json_object_get(node, "wr_bytes"));
                st.read_ops = (uint64_t) json_integer_value(json_object_get(node, "rd_operations"));
                st.write_ops = (uint64_t) json_integer_value(json_object_get(node, "wr_operations"));
        }
        st.exported = st.exported || e != NULL;
        st.allocated_bytes = (uint64_t) sb.st_blocks * 512;
        *ret = st;
        return 0;
}

/* ---- sync ---- */

/* The volume key of one of our names ("t0123456789abcdef"), or NULL. */
static const char *name_key(const char *name, const char *kinds) {
        if (!name || strlen(name) != 17 || !strchr(kinds, name[0]))
                return NULL;
        for (const char *p = name + 1; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return NULL;
        return name + 1;
}

static bool key_kept(const char *key, const struct zero_card_want_export *keep, size_t n_keep) {
        for (size_t i = 0; i < n_keep; i++)
                if (keep[i].volume && keep[i].volume->id && strncasecmp(keep[i].volume->id, key, 16) == 0)
                        return true;
        return false;
}

/* Adds the key of one daemon object to the list of volumes to clean, once. */
static int collect(json_t *todo, const char *key, const struct zero_card_want_export *keep, size_t n_keep) {
        size_t i;
        json_t *k;

        if (!key || key_kept(key, keep, n_keep))
                return 0;
        json_array_foreach(todo, i, k) if (streq(json_string_value(k), key)) return 0;
        return json_array_append_new(todo, json_string(key));
}

int softcard_volume_prune(struct qsd *q, const struct zero_card_want_export *keep, size_t n_keep,
                          struct zero_error *err) {
        _cleanup_(softcard_state_done) struct softcard_state s = {};
        json_auto_t *todo = json_array();
        int failures = 0, r;
        size_t i;
        json_t *x;

        r = todo ? softcard_state_load(q, &s, err) : zero_error_default(err, -ENOMEM, "sync");
        if (r < 0)
                return 1;
        json_array_foreach(s.exports, i, x) {
                const char *id = json_string_value(json_object_get(x, "id"));
                /* The daemon is ours alone: an export under another name is a stray too. */
                if (id && !name_key(id, "e")) {
                        json_t *args = json_pack("{s:s, s:s}", "id", id, "mode", "hard");
                        if (qsd_call(q, "block-export-del", args, NULL, err) < 0)
                                failures++;
                }
                (void) collect(todo, name_key(id, "e"), keep, n_keep);
        }
        json_array_foreach(s.nodes, i, x)
                (void) collect(todo, name_key(json_string_value(json_object_get(x, "node-name")), "fqtn"), keep, n_keep);
        json_array_foreach(s.objects, i, x)
                (void) collect(todo, name_key(json_string_value(json_object_get(x, "name")), "g"), keep, n_keep);
        json_array_foreach(todo, i, x) {
                struct zero_error e = {};

                if (softcard_unexport_key(q, json_string_value(x), &e) < 0 && failures++ == 0 && err)
                        *err = e;
        }
        return failures;
}

