/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Volumes on the softcard: their files (qemu-img, mkfs.ext4), their node graph in the daemon
 * (storage.h has the names), exports and QoS. Every op first looks at what the daemon and the
 * kernel have (query-block-exports, query-named-block-nodes, qom-list /objects, the loop devices)
 * and makes only what is missing, so a step the journal runs again after a crash just finishes.
 *
 * Graph of an exported volume:  export e -> throttle t (group g) -> format q -> file f.
 * The throttle filter is always there, limits or not, so QoS changes apply live (qom-set).
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "common/util.h"
#include "io/softcard/storage.h"

#define QOS_MAX 1000000000000000ULL  /* QEMU's THROTTLE_VALUE_MAX */
#define EXPORT_GONE_TIMEOUT_USEC (10 * USEC_PER_SEC)

struct names {
        char key[17]; /* first 16 hex digits of the id */
        char f[18], q[18], t[18], g[18], e[18];
        char mnt[PATH_MAX], vhost[PATH_MAX];
};

/* What the daemon has; each member the "return" of its query. */
struct state {
        json_t *exports, *nodes, *objects;
};

static void state_done(struct state *s) {
        json_decref(s->exports);
        json_decref(s->nodes);
        json_decref(s->objects);
        *s = (struct state){};
}

/* qsd 7.2 makes the /objects container with the first object: before, qom-list says
 * "Device '/objects' not found", which means an empty list. */
static int objects_list(struct qsd *q, json_t **ret, struct zero_error *err) {
        struct zero_error e = {};
        int r = qsd_call(q, "qom-list", json_pack("{s:s}", "path", "/objects"), ret, &e);

        if (r == -EIO && strstr(e.message, "not found")) {
                *ret = json_array();
                return *ret ? 0 : zero_error_default(err, -ENOMEM, "qom-list");
        }
        if (r < 0 && err)
                *err = e;
        return r;
}

static int state_load(struct qsd *q, struct state *s, struct zero_error *err) {
        int r;

        state_done(s);
        r = qsd_call(q, "query-block-exports", NULL, &s->exports, err);
        if (r >= 0) /* flat: no nested backing images, whose size grows with the chains */
                r = qsd_call(q, "query-named-block-nodes", json_pack("{s:b}", "flat", 1), &s->nodes, err);
        if (r >= 0)
                r = objects_list(q, &s->objects, err);
        return r;
}

static json_t *find(json_t *array, const char *key, const char *value) {
        size_t i;
        json_t *x;

        json_array_foreach(array, i, x) {
                if (streq(strempty(json_string_value(json_object_get(x, key))), value))
                        return x;
        }
        return NULL;
}

#define find_export(s, id) find((s)->exports, "id", (id))
#define find_node(s, name) find((s)->nodes, "node-name", (name))
#define find_object(s, id) find((s)->objects, "name", (id))

static bool is_hex_id(const char *id) {
        if (!id || strlen(id) != 32)
                return false;
        for (const char *p = id; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F')))
                        return false;
        return true;
}

static int names_init(struct qsd *q, const char *id, struct names *n) {
        const char *dir = qsd_exports_dir(q);

        for (int i = 0; i < 16; i++)
                n->key[i] = (char) (id[i] | 0x20); /* lower case; digits are unchanged */
        n->key[16] = '\0';
        snprintf(n->f, sizeof(n->f), "f%s", n->key);
        snprintf(n->q, sizeof(n->q), "q%s", n->key);
        snprintf(n->t, sizeof(n->t), "t%s", n->key);
        snprintf(n->g, sizeof(n->g), "g%s", n->key);
        snprintf(n->e, sizeof(n->e), "e%s", n->key);
        snprintf(n->mnt, sizeof(n->mnt), "%s/%s", dir, id);
        snprintf(n->vhost, sizeof(n->vhost), "%s/%s.vhost", dir, id);
        return 0;
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
        format = v->source ? "qcow2" : "raw";
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
static int file_virtual_size(const struct softcard_volume *v, uint64_t *ret) {
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

/* ---- Node graph and exports ---- */

static json_t *limits_new(const struct softcard_volume *v) {
        /* 0 is "unlimited" to QEMU too; passing it (rather than leaving it out) is what lifts a
         * limit set before, as qom-set only changes the members it is given. */
        return json_pack("{s:I, s:I}", "iops-total", (json_int_t) v->qos_iops, "bps-total", (json_int_t) v->qos_bps);
}

static int set_limits(struct qsd *q, const struct softcard_volume *v, const struct names *n, struct zero_error *err) {
        char path[32];

        snprintf(path, sizeof(path), "/objects/%s", n->g);
        return qsd_call(q, "qom-set",
                        json_pack("{s:s, s:s, s:o}", "path", path, "property", "limits", "value", limits_new(v)), NULL,
                        err);
}

/* Makes what is missing of g, f, q, t. */
static int nodes_ensure(struct qsd *q, const struct softcard_volume *v, const struct names *n, struct state *s,
                        struct zero_error *err) {
        json_t *f = find_node(s, n->f);
        int r = 0;

        /* Two volumes whose ids share 16 hex digits would share names: refuse rather than mix. */
        if (f && !streq(strempty(json_string_value(json_object_get(f, "file"))), v->path))
                return zero_error_set(err, -EEXIST, ZERO_E_CONFLICT, "volume %s: node %s serves another file", v->id,
                                      n->f);
        if (find_object(s, n->g))
                r = set_limits(q, v, n, err);
        else
                r = qsd_call(q, "object-add",
                             json_pack("{s:s, s:s, s:o}", "qom-type", "throttle-group", "id", n->g, "limits",
                                       limits_new(v)),
                             NULL, err);
        /* locking off: the agent guarantees one writer, and a migrating VM's volume is open in the
         * daemons of both nodes at once (BLUEPRINT: shared storage, locking=off). */
        if (r >= 0 && !f)
                r = qsd_call(q, "blockdev-add",
                             json_pack("{s:s, s:s, s:s, s:s, s:s}", "driver", "file", "node-name", n->f, "filename",
                                       v->path, "locking", "off", "discard", "unmap"),
                             NULL, err);
        if (r >= 0 && !find_node(s, n->q))
                r = qsd_call(q, "blockdev-add",
                             json_pack("{s:s, s:s, s:s, s:s}", "driver", v->format, "node-name", n->q, "file", n->f,
                                       "discard", "unmap"),
                             NULL, err);
        if (r >= 0 && !find_node(s, n->t))
                r = qsd_call(q, "blockdev-add",
                             json_pack("{s:s, s:s, s:s, s:s}", "driver", "throttle", "node-name", n->t,
                                       "throttle-group", n->g, "file", n->q),
                             NULL, err);
        return r;
}

static const char *qemu_export_type(enum zero_card_export_kind kind) {
        return kind == ZERO_CARD_EXPORT_HOST_BLOCK ? "fuse" : zero_card_export_kind_to_string(kind);
}

static enum zero_card_export_kind export_kind(json_t *e) {
        const char *type = json_string_value(json_object_get(e, "type"));
        return type && streq(type, "fuse") ? ZERO_CARD_EXPORT_HOST_BLOCK : zero_card_export_kind_from_string(type);
}

static bool is_mounted(struct qsd *q, const char *path) {
        _cleanup_strv_free_ char **mounts = NULL;

        if (softcard_mounts_list(qsd_exports_dir(q), &mounts) < 0)
                return false;
        for (char **m = mounts; *m; m++)
                if (streq(*m, path))
                        return true;
        return false;
}

static int export_add(struct qsd *q, const struct softcard_volume *v, enum zero_card_export_kind kind,
                      const struct names *n, struct zero_error *err) {
        json_auto_t *a = json_pack("{s:s, s:s, s:s, s:b}", "type", qemu_export_type(kind), "id", n->e, "node-name",
                                   n->t, "writable", 1);
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (!a)
                return zero_error_default(err, -ENOMEM, "block-export-add");
        switch (kind) {
        case ZERO_CARD_EXPORT_NBD:
                r = json_object_set_new(a, "name", json_string(v->id));
                break;
        case ZERO_CARD_EXPORT_VHOST_USER_BLK:
                (void) unlink(n->vhost);
                r = json_object_set_new(a, "addr", json_pack("{s:s, s:s}", "type", "unix", "path", n->vhost));
                break;
        default:
                /* The mount point is a regular file the export covers. A mount left there by a
                 * dead daemon would make the new one fail. */
                if (is_mounted(q, n->mnt))
                        (void) umount2(n->mnt, MNT_DETACH);
                fd = open(n->mnt, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd < 0)
                        return zero_error_default(err, -errno, "Failed to create the export's mount point");
                /* allow-other off: only root reaches the file; users get the loop device. */
                r = json_object_set_new(a, "mountpoint", json_string(n->mnt));
                if (r >= 0)
                        r = json_object_set_new(a, "growable", json_false());
                if (r >= 0)
                        r = json_object_set_new(a, "allow-other", json_string("off"));
                break;
        }
        if (r < 0)
                return zero_error_default(err, -ENOMEM, "block-export-add");
        r = qsd_call(q, "block-export-add", json_incref(a), NULL, err);
        if (r == -EIO && kind == ZERO_CARD_EXPORT_NBD && strstr(err->message, "NBD server")) {
                /* Only if the daemon's NBD server went away: 7.2 takes the legacy address here. */
                r = qsd_call(q, "nbd-server-start",
                             json_pack("{s:{s:s, s:{s:s}}}", "addr", "type", "unix", "data", "path", qsd_nbd_socket(q)),
                             NULL, err);
                if (r >= 0)
                        r = qsd_call(q, "block-export-add", json_incref(a), NULL, err);
        }
        return r;
}

static int export_path(struct qsd *q, const struct softcard_volume *v, enum zero_card_export_kind kind,
                       const struct names *n, const char *dev, char ret[static ZERO_CARD_PATH_MAX],
                       struct zero_error *err) {
        int len;

        if (kind == ZERO_CARD_EXPORT_NBD)
                len = snprintf(ret, ZERO_CARD_PATH_MAX, "nbd+unix:///%s?socket=%s", v->id, qsd_nbd_socket(q));
        else
                len = snprintf(ret, ZERO_CARD_PATH_MAX, "%s", kind == ZERO_CARD_EXPORT_HOST_BLOCK ? dev : n->vhost);
        if (len < 0 || len >= ZERO_CARD_PATH_MAX)
                return zero_error_set(err, -ENAMETOOLONG, ZERO_E_INTERNAL, "export path of volume %s too long", v->id);
        return 0;
}

static int wait_export_gone(struct qsd *q, const char *id, struct zero_error *err) {
        uint64_t deadline = zero_monotonic_usec() + EXPORT_GONE_TIMEOUT_USEC;
        int delay_ms = 1;

        for (;;) {
                json_auto_t *exports = NULL;
                int r = qsd_call(q, "query-block-exports", NULL, &exports, err);
                if (r < 0)
                        return r;
                if (!find(exports, "id", id))
                        return 0;
                if (zero_monotonic_usec() >= deadline)
                        return zero_error_set(err, -ETIMEDOUT, ZERO_E_INTERNAL, "export %s does not go away", id);
                (void) poll(NULL, 0, delay_ms);
                delay_ms = delay_ms < 64 ? delay_ms * 2 : delay_ms;
        }
}

int softcard_volume_export(struct qsd *q, const struct softcard_volume *v, enum zero_card_export_kind kind,
                           char ret_path[static ZERO_CARD_PATH_MAX], bool *ret_created, struct zero_error *err) {
        _cleanup_(state_done) struct state s = {};
        struct names n;
        char dev[32] = "";
        bool created = false;
        json_t *e;
        int r;

        r = softcard_volume_check(v, err);
        if (r < 0)
                return r;
        if (!qemu_export_type(kind))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "unknown export kind %d", (int) kind);
        if (access(v->path, F_OK) < 0)
                return zero_error_set(err, -ENOENT, ZERO_E_NOT_FOUND, "volume %s has no file %s", v->id, v->path);
        names_init(q, v->id, &n);
        r = state_load(q, &s, err);
        if (r < 0)
                return r;
        e = find_export(&s, n.e);
        if (e && json_is_true(json_object_get(e, "shutting-down"))) {
                r = wait_export_gone(q, n.e, err);
                if (r < 0)
                        return r;
                e = NULL;
        }
        if (e && export_kind(e) != kind)
                return zero_error_set(err, -EBUSY, ZERO_E_CONFLICT, "volume %s is exported as %s", v->id,
                                      strempty(zero_card_export_kind_to_string(export_kind(e))));
        if (!e) {
                r = nodes_ensure(q, v, &n, &s, err);
                if (r >= 0)
                        r = export_add(q, v, kind, &n, err);
                if (r < 0)
                        return r;
                created = true;
        }
        if (kind == ZERO_CARD_EXPORT_HOST_BLOCK && softcard_loop_find(qsd_exports_dir(q), v->id, dev) < 0) {
                r = softcard_loop_attach(qsd_exports_dir(q), n.mnt, v->id, dev, err);
                if (r < 0)
                        return r;
                created = true;
        }
        r = export_path(q, v, kind, &n, dev, ret_path, err);
        if (r >= 0 && ret_created)
                *ret_created = created;
        return r;
}

/* Deletes the export (loop device first: it holds the FUSE file) and the nodes under it. */
static int unexport_names(struct qsd *q, const char *id, const struct names *n, struct zero_error *err) {
        _cleanup_(state_done) struct state s = {};
        const char *nodes[] = {n->t, n->q, n->f};
        int r;

        if (id) {
                r = softcard_loop_detach_id(qsd_exports_dir(q), id);
                if (r < 0)
                        return zero_error_default(err, r, "Failed to detach the loop device");
        }
        r = state_load(q, &s, err);
        if (r >= 0 && find_export(&s, n->e)) {
                /* hard: the agent unexports after the user stopped; a client still connected
                 * must not keep the volume from going. */
                r = qsd_call(q, "block-export-del", json_pack("{s:s, s:s}", "id", n->e, "mode", "hard"), NULL, err);
                if (r >= 0 || r == -EIO) /* -EIO: it may have just gone by itself */
                        r = wait_export_gone(q, n->e, err);
                if (r >= 0)
                        r = state_load(q, &s, err);
        }
        if (r < 0)
                return r;
        if (id && is_mounted(q, n->mnt)) /* the daemon that made it died */
                (void) umount2(n->mnt, MNT_DETACH);
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(nodes); i++)
                if (find_node(&s, nodes[i]))
                        r = qsd_call(q, "blockdev-del", json_pack("{s:s}", "node-name", nodes[i]), NULL, err);
        if (r >= 0 && find_object(&s, n->g))
                r = qsd_call(q, "object-del", json_pack("{s:s}", "id", n->g), NULL, err);
        if (r >= 0 && id) {
                (void) unlink(n->mnt);
                (void) unlink(n->vhost);
        }
        return r;
}

int softcard_volume_unexport(struct qsd *q, const struct softcard_volume *v, struct zero_error *err) {
        struct names n;
        int r = softcard_volume_check(v, err);

        if (r < 0)
                return r;
        names_init(q, v->id, &n);
        return unexport_names(q, v->id, &n, err);
}

/* ---- Resize, QoS, stats ---- */

static uint64_t node_size(json_t *node) {
        return (uint64_t) json_integer_value(json_object_get(json_object_get(node, "image"), "virtual-size"));
}

int softcard_volume_resize(struct qsd *q, const struct softcard_volume *v, uint64_t new_size,
                           struct zero_error *err) {
        _cleanup_(state_done) struct state s = {};
        char size[24], dev[32];
        struct names n;
        json_t *top;
        uint64_t cur = 0;
        int r;

        r = softcard_volume_check(v, err);
        if (r >= 0)
                r = softcard_volume_validate(v, new_size, err);
        if (r >= 0)
                r = state_load(q, &s, err);
        if (r < 0)
                return r;
        names_init(q, v->id, &n);
        /* Live through the topmost node the daemon has: it passes the resize down and every
         * node on the way learns the new size. */
        top = find_node(&s, n.t) ?: find_node(&s, n.q);
        if (top)
                cur = node_size(top);
        else
                r = file_virtual_size(v, &cur);
        if (r == -ENOENT)
                return zero_error_set(err, r, ZERO_E_NOT_FOUND, "volume %s has no file %s", v->id, v->path);
        if (r < 0)
                return zero_error_default(err, r, "Failed to read the volume's size");
        if (new_size < cur)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "volume %s: cannot shrink from %llu to %llu bytes",
                                      v->id, (unsigned long long) cur, (unsigned long long) new_size);
        if (top && new_size > cur)
                r = qsd_call(q, "block_resize",
                             json_pack("{s:s, s:I}", "node-name", json_string_value(json_object_get(top, "node-name")),
                                       "size", (json_int_t) new_size),
                             NULL, err);
        else if (!top && new_size > cur && streq(v->format, "raw"))
                r = truncate(v->path, (off_t) new_size) < 0 ? zero_error_default(err, -errno, "truncate") : 0;
        else if (!top && new_size > cur) {
                snprintf(size, sizeof(size), "%llu", (unsigned long long) new_size);
                char *argv[] = {"qemu-img", "resize", "-q", "-f", "qcow2", (char *) v->path, size, NULL};
                r = softcard_run(argv, err);
        }
        /* Also when the size was already right: a retried step may have died before this. */
        if (r >= 0 && top && softcard_loop_find(qsd_exports_dir(q), v->id, dev) >= 0)
                r = softcard_loop_refresh_size(dev, new_size, err);
        return r;
}

int softcard_volume_set_qos(struct qsd *q, const struct softcard_volume *v, struct zero_error *err) {
        json_auto_t *objects = NULL;
        struct names n;
        int r;

        r = softcard_volume_check(v, err);
        if (r >= 0)
                r = objects_list(q, &objects, err);
        if (r < 0)
                return r;
        names_init(q, v->id, &n);
        /* Not exported: the limits come from v at the next export. */
        return find(objects, "name", n.g) ? set_limits(q, v, &n, err) : 0;
}

int softcard_volume_stats(struct qsd *q, const struct softcard_volume *v, struct zero_card_volume_stats *ret,
                          struct zero_error *err) {
        _cleanup_(state_done) struct state s = {};
        struct zero_card_volume_stats st = {};
        json_auto_t *stats = NULL;
        struct names n;
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
        names_init(q, v->id, &n);
        r = state_load(q, &s, err);
        if (r < 0)
                return r;
        e = find_export(&s, n.e);
        /* qsd 7.2 counts I/O per BlockBackend only, and its exports' backends are anonymous:
         * query-blockstats has zeros for nodes. A host-block export has the kernel's counters. */
        if (e && export_kind(e) == ZERO_CARD_EXPORT_HOST_BLOCK) {
                if (softcard_loop_find(qsd_exports_dir(q), v->id, dev) >= 0)
                        (void) softcard_loop_stats(dev, &st); /* a device going away reads as zeros */
        } else if (e) {
                r = qsd_call(q, "query-blockstats", json_pack("{s:b}", "query-nodes", 1), &stats, err);
                if (r < 0)
                        return r;
                node = json_object_get(find(stats, "node-name", n.t), "stats");
                st.read_bytes = (uint64_t) json_integer_value(json_object_get(node, "rd_bytes"));
                st.write_bytes = (uint64_t) json_integer_value(json_object_get(node, "wr_bytes"));
                st.read_ops = (uint64_t) json_integer_value(json_object_get(node, "rd_operations"));
                st.write_ops = (uint64_t) json_integer_value(json_object_get(node, "wr_operations"));
        }
        st.exported = e != NULL;
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
        _cleanup_(state_done) struct state s = {};
        json_auto_t *todo = json_array();
        int failures = 0, r;
        size_t i;
        json_t *x;

        r = todo ? state_load(q, &s, err) : zero_error_default(err, -ENOMEM, "sync");
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
                (void) collect(todo, name_key(json_string_value(json_object_get(x, "node-name")), "fqt"), keep, n_keep);
        json_array_foreach(s.objects, i, x)
                (void) collect(todo, name_key(json_string_value(json_object_get(x, "name")), "g"), keep, n_keep);
        json_array_foreach(todo, i, x) {
                struct zero_error e = {};
                struct names n = {};
                const char *key = json_string_value(x);

                snprintf(n.f, sizeof(n.f), "f%s", key);
                snprintf(n.q, sizeof(n.q), "q%s", key);
                snprintf(n.t, sizeof(n.t), "t%s", key);
                snprintf(n.g, sizeof(n.g), "g%s", key);
                snprintf(n.e, sizeof(n.e), "e%s", key);
                if (unexport_names(q, NULL, &n, &e) < 0 && failures++ == 0 && err)
                        *err = e;
        }
        return failures;
}
