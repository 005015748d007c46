/* SPDX-License-Identifier: Apache-2.0 */
/*
 * softcard, the software card: the driver struct of include/zero/card.h and its ops. Storage is
 * the node's one qemu-storage-daemon (qsd.c) and the volumes on it (volume.c); networking is
 * Linux bridges, veths and taps (net.c). This file also keeps what exports leave in the kernel,
 * the loop devices over FUSE exports and the FUSE mounts, which the daemon's restart and sync()
 * clean up.
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <poll.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "common/util.h"
#include "io/softcard/softcard.h"
#include "io/softcard/storage.h"

struct zero_card {
        char *state_dir, *run_dir, *shim;
        const char *(*config_get)(const char *section, const char *key);
        struct zero_nl *nl;
        struct qsd *qsd;
        sd_event *event; /* the agent's: volume jobs' children are watched there */
        struct softcard_jobs jobs;
};

/* ---- Loop devices and mounts ---- */

static uint32_t fnv1a(const char *s) {
        uint32_t h = 2166136261U;

        for (; *s; s++)
                h = (h ^ (uint8_t) *s) * 16777619U;
        return h;
}

void softcard_loop_name(const char *exports_dir, const char *id, char ret[static SOFTCARD_LOOP_NAME_SIZE]) {
        snprintf(ret, SOFTCARD_LOOP_NAME_SIZE, "zero:%.32s:%08x", id, fnv1a(exports_dir));
}

static bool is_hex32(const char *s) {
        size_t n = strspn(s, "0123456789abcdefABCDEF");
        return n == 32 && s[32] == '\0';
}

/* The volume id of loop device `name` ("loop3") if it is one of ours. */
static bool loop_owned(const char *exports_dir, const char *name, char id[static 33]) {
        _cleanup_free_ char *path = zero_strdup_printf("/sys/block/%s/loop/backing_file", name), *backing = NULL;
        struct loop_info64 info = {};
        char dev[32], want[SOFTCARD_LOOP_NAME_SIZE];
        size_t len = strlen(exports_dir);
        int fd;

        if (!path || zero_read_file(path, PATH_MAX, &backing, NULL) < 0)
                return false; /* unbound */
        backing[strcspn(backing, "\n")] = '\0';
        if (strncmp(backing, exports_dir, len) == 0 && backing[len] == '/' && is_hex32(backing + len + 1)) {
                snprintf(id, 33, "%s", backing + len + 1);
                return true;
        }
        snprintf(dev, sizeof(dev), "/dev/%.20s", name);
        fd = open(dev, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return false;
        if (ioctl(fd, LOOP_GET_STATUS64, &info) < 0) {
                safe_close(fd);
                return false;
        }
        safe_close(fd);
        info.lo_file_name[LO_NAME_SIZE - 1] = '\0';
        snprintf(id, 33, "%.32s", (const char *) info.lo_file_name + 5);
        softcard_loop_name(exports_dir, id, want);
        return is_hex32(id) && streq((const char *) info.lo_file_name, want);
}

int softcard_loops_list(const char *exports_dir, struct softcard_loop **ret, size_t *ret_n) {
        _cleanup_free_ struct softcard_loop *loops = NULL;
        size_t n = 0, size = 0;
        struct dirent *de;
        DIR *d = opendir("/sys/block");

        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                char id[33];
                if (strncmp(de->d_name, "loop", 4) != 0 || !isdigit((unsigned char) de->d_name[4]) ||
                    !loop_owned(exports_dir, de->d_name, id))
                        continue;
                if (n == size) {
                        struct softcard_loop *p = reallocarray(loops, size ? size * 2 : 8, sizeof(*p));
                        if (!p) {
                                closedir(d);
                                return -ENOMEM;
                        }
                        loops = p;
                        size = size ? size * 2 : 8;
                }
                snprintf(loops[n].dev, sizeof(loops[n].dev), "/dev/%.20s", de->d_name);
                memcpy(loops[n++].id, id, sizeof(id));
        }
        closedir(d);
        *ret = TAKE_PTR(loops);
        *ret_n = n;
        return 0;
}

int softcard_loop_detach(const char *dev) {
        _cleanup_close_ int fd = open(dev, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

        if (fd < 0)
                return errno == ENOENT || errno == ENXIO ? 0 : -errno;
        /* ENXIO: not bound (any more). */
        if (ioctl(fd, LOOP_CLR_FD, 0) < 0 && errno != ENXIO)
                return -errno;
        return 0;
}

/* ---- Loop devices over FUSE exports ---- */

int softcard_loop_find(const char *exports_dir, const char *id, char dev[static 32]) {
        _cleanup_free_ struct softcard_loop *loops = NULL;
        size_t n = 0;
        int r = softcard_loops_list(exports_dir, &loops, &n);

        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (strcasecmp(loops[i].id, id) == 0) {
                        snprintf(dev, 32, "%s", loops[i].dev);
                        return 0;
                }
        return -ENOENT;
}

int softcard_loop_detach_id(const char *exports_dir, const char *id) {
        _cleanup_free_ struct softcard_loop *loops = NULL;
        size_t n = 0;
        int r = softcard_loops_list(exports_dir, &loops, &n);

        for (size_t i = 0; r >= 0 && i < n; i++)
                if (strcasecmp(loops[i].id, id) == 0)
                        r = softcard_loop_detach(loops[i].dev);
        return r;
}

static int write_sysfs(const char *path, const char *value) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);

        if (fd < 0)
                return -errno;
        return zero_write_all(fd, value, strlen(value));
}

/*
 * qemu-storage-daemon 7.2's FUSE export corrupts writes when the kernel has another request
 * pending for it while it writes: the nested event loop of its synchronous blk_pwrite() reads
 * the next request into the buffer that still holds the data being written (fixed upstream in
 * 2025, "fuse: Copy write buffer content before polling"). test_softcard's concurrent writers
 * reproduce it at once with a direct-I/O loop device. So the loop device must send the FUSE file
 * one request at a time:
 *  - buffered, not direct, I/O: the loop worker then reads and writes synchronously, one
 *    request after the other (FUSE without writeback cache writes through);
 *  - no readahead on the FUSE file, and at most one background request on the connection
 *    (where fusectl is mounted): asynchronous reads would overlap the worker's writes.
 * It costs throughput, and a copy of the data in the FUSE file's page cache; revisit with a
 * fixed QEMU (direct I/O, readahead).
 */
static int fuse_serialize(int file) {
        char path[96];
        struct stat st;

        if (fstat(file, &st) < 0)
                return -errno;
        snprintf(path, sizeof(path), "/sys/class/bdi/%u:%u/read_ahead_kb", major(st.st_dev), minor(st.st_dev));
        if (write_sysfs(path, "0") < 0)
                return -errno;
        snprintf(path, sizeof(path), "/sys/fs/fuse/connections/%u/max_background", minor(st.st_dev));
        (void) write_sysfs(path, "1"); /* only where fusectl is mounted */
        return 0;
}

int softcard_loop_attach(const char *exports_dir, const char *mnt, const char *id, char dev[static 32],
                         struct zero_error *err) {
        _cleanup_close_ int file = open(mnt, O_RDWR | O_CLOEXEC), ctl = -EBADF;
        int r;

        if (file < 0)
                return zero_error_default(err, -errno, "Failed to open the FUSE export");
        r = fuse_serialize(file);
        if (r < 0)
                return zero_error_default(err, r, "Failed to turn off readahead on the FUSE export");
        ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
        if (ctl < 0)
                return zero_error_default(err, -errno, "Failed to open /dev/loop-control");
        /* Another process may take the free device between GET_FREE and CONFIGURE: EBUSY, again. */
        for (int tries = 0; tries < 64; tries++) {
                struct loop_config c = {.fd = (uint32_t) file};
                _cleanup_close_ int fd = -EBADF;
                int nr = ioctl(ctl, LOOP_CTL_GET_FREE);

                if (nr < 0)
                        return zero_error_default(err, -errno, "Failed to find a free loop device");
                snprintf(dev, 32, "/dev/loop%d", nr);
                fd = open(dev, O_RDWR | O_CLOEXEC);
                if (fd < 0 && errno != ENOENT)
                        return zero_error_default(err, -errno, "Failed to open the loop device");
                if (fd < 0)
                        continue;
                softcard_loop_name(exports_dir, id, (char *) c.info.lo_file_name);
                if (ioctl(fd, LOOP_CONFIGURE, &c) >= 0)
                        return 0;
                if (errno != EBUSY)
                        return zero_error_default(err, -errno, "Failed to set up the loop device");
        }
        return zero_error_set(err, -EBUSY, 500, "internal", "no free loop device");
}

/* After a live resize. The loop driver takes the FUSE inode's cached size, which QEMU lets the
 * kernel keep for 1 s. A stat() from here would refresh it at once, but would be one more FUSE
 * request overlapping the loop worker's (see above). A read through the device makes the worker
 * itself refresh it (FUSE revalidates the attributes on reads once they expired): up to ~1 s. */
#define REFRESH_TIMEOUT_USEC (3 * USEC_PER_SEC)
int softcard_loop_refresh_size(const char *dev, uint64_t size, struct zero_error *err) {
        _cleanup_close_ int fd = open(dev, O_RDONLY | O_DIRECT | O_CLOEXEC);
        uint64_t deadline = zero_monotonic_usec() + REFRESH_TIMEOUT_USEC, cur = 0;
        _cleanup_free_ void *buf = NULL;

        if (fd < 0 || posix_memalign(&buf, 4096, 4096) != 0)
                return zero_error_default(err, fd < 0 ? -errno : -ENOMEM, "Failed to open the loop device");
        for (;;) {
                if (pread(fd, buf, 4096, 0) < 0 || ioctl(fd, LOOP_SET_CAPACITY, 0) < 0 ||
                    ioctl(fd, BLKGETSIZE64, &cur) < 0)
                        return zero_error_default(err, -errno, "Failed to resize the loop device");
                if (cur >= size)
                        return 0;
                if (zero_monotonic_usec() >= deadline)
                        return zero_error_set(err, -ETIMEDOUT, 500, "internal",
                                              "%s still has %llu bytes, not %llu", dev, (unsigned long long) cur,
                                              (unsigned long long) size);
                (void) poll(NULL, 0, 50);
        }
}

/* The kernel's counters of the loop device (Documentation/block/stat.rst). */
int softcard_loop_stats(const char *dev, struct zero_card_volume_stats *st) {
        _cleanup_free_ char *path = zero_strdup_printf("/sys/block/%s/stat", dev + 5), *text = NULL;
        unsigned long long rd, rd_sectors, wr, wr_sectors;
        int r;

        if (!path)
                return -ENOMEM;
        r = zero_read_file(path, 4096, &text, NULL);
        if (r < 0)
                return r;
        if (sscanf(text, "%llu %*u %llu %*u %llu %*u %llu", &rd, &rd_sectors, &wr, &wr_sectors) != 4)
                return -EBADMSG;
        *st = (struct zero_card_volume_stats){.read_ops = rd, .read_bytes = rd_sectors * 512, .write_ops = wr,
                                              .write_bytes = wr_sectors * 512, .exported = true};
        return 0;
}


/* Mount points are octal-escaped in mountinfo (\040 for a space, ...). */
static void unescape(char *s) {
        char *o = s;

        for (; *s; s++) {
                if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
                    s[3] <= '7') {
                        *o++ = (char) ((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
                        s += 3;
                } else
                        *o++ = *s;
        }
        *o = '\0';
}

int softcard_mounts_list(const char *dir, char ***ret) {
        _cleanup_free_ char *info = NULL;
        _cleanup_strv_free_ char **l = NULL;
        size_t n = 0, len = strlen(dir);
        char *line, *save = NULL;
        int r;

        r = zero_read_file("/proc/self/mountinfo", 64U << 20, &info, NULL);
        if (r < 0)
                return r;
        l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (line = strtok_r(info, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *p = line, *end, **nl;
                /* ID PARENT MAJ:MIN ROOT MOUNTPOINT ... */
                for (int i = 0; i < 4 && p; i++)
                        p = strchr(p, ' ') ? strchr(p, ' ') + 1 : NULL;
                if (!p || !(end = strchr(p, ' ')))
                        continue;
                *end = '\0';
                unescape(p);
                if (strncmp(p, dir, len) != 0 || p[len] != '/')
                        continue;
                nl = reallocarray(l, n + 2, sizeof(char *));
                if (!nl)
                        return -ENOMEM;
                l = nl;
                l[n] = strdup(p);
                l[++n] = NULL;
                if (!l[n - 1])
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

int softcard_exports_clear(const char *exports_dir) {
        _cleanup_free_ struct softcard_loop *loops = NULL;
        _cleanup_strv_free_ char **mounts = NULL;
        size_t n = 0;
        int r, k;

        /* Loops first: once the FUSE mount is gone, a loop's backing path no longer says whose it is. */
        r = softcard_loops_list(exports_dir, &loops, &n);
        for (size_t i = 0; i < n; i++)
                if ((k = softcard_loop_detach(loops[i].dev)) < 0 && r >= 0)
                        r = k;
        k = softcard_mounts_list(exports_dir, &mounts);
        for (char **m = mounts; k >= 0 && *m; m++)
                if (umount2(*m, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT && r >= 0)
                        r = -errno;
        k = zero_rm_rf(exports_dir);
        if (k < 0 && k != -ENOENT && r >= 0)
                r = k;
        k = zero_mkdir_p(exports_dir, 0700);
        return k < 0 ? k : r;
}

/* ---- sync: the storage half ---- */

static bool host_kept(const struct zero_card_want_export *ex, size_t n, const char *name, const char *dev) {
        for (size_t i = 0; i < n; i++) {
                const char *id = ex[i].volume ? ex[i].volume->id : NULL;
                size_t len = id ? strlen(id) : 0;

                if (!id || strncmp(name, id, len) != 0)
                        continue;
                if (ex[i].kind == ZERO_CARD_EXPORT_HOST_BLOCK && name[len] == '\0')
                        return !dev || streq(dev, ex[i].path); /* one loop device per volume */
                if (ex[i].kind == ZERO_CARD_EXPORT_VHOST_USER_BLK && streq(name + len, ".vhost"))
                        return true;
        }
        return false;
}

/* Loops, mounts and files under RUN/exports that no wanted export accounts for. */
static void host_prune(const char *exports_dir, const struct zero_card_want_export *ex, size_t n, int *failures) {
        _cleanup_free_ struct softcard_loop *loops = NULL;
        _cleanup_strv_free_ char **mounts = NULL;
        struct dirent *de;
        size_t n_loops = 0;
        DIR *d;

        if (softcard_loops_list(exports_dir, &loops, &n_loops) < 0)
                (*failures)++;
        for (size_t i = 0; i < n_loops; i++)
                if (!host_kept(ex, n, loops[i].id, loops[i].dev) && softcard_loop_detach(loops[i].dev) < 0)
                        (*failures)++;
        if (softcard_mounts_list(exports_dir, &mounts) < 0)
                (*failures)++;
        for (char **m = mounts; m && *m; m++)
                if (!host_kept(ex, n, strrchr(*m, '/') + 1, NULL) && umount2(*m, MNT_DETACH) < 0)
                        (*failures)++;
        d = opendir(exports_dir);
        while (d && (de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, "..") && !host_kept(ex, n, de->d_name, NULL) &&
                    unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT)
                        (*failures)++;
        if (d)
                closedir(d);
}

static void count_failure(int *failures, struct zero_error *err, const struct zero_error *e) {
        if ((*failures)++ == 0 && err)
                *err = *e;
}

static int storage_sync(struct zero_card *c, struct zero_card_want_export *ex, size_t n, struct zero_error *err) {
        const char *exports_dir = qsd_exports_dir(c->qsd);
        int failures = 0, k;

        if (qsd_ensure(c->qsd, err) < 0)
                return (int) n + 1;
        for (size_t i = 0; i < n; i++) {
                struct zero_error e = {};
                bool created = false;
                int r;

                ex[i].recreated = false;
                r = softcard_volume_export(c->qsd, ex[i].volume, ex[i].kind, ex[i].path, &created, &e);
                if (r == -EBUSY) {
                        /* Exported another way (a switch that crashed half-way): the store wins. */
                        e = (struct zero_error){};
                        r = softcard_volume_unexport(c->qsd, ex[i].volume, &e);
                        if (r >= 0)
                                r = softcard_volume_export(c->qsd, ex[i].volume, ex[i].kind, ex[i].path, &created, &e);
                }
                if (r < 0) {
                        ex[i].path[0] = '\0';
                        count_failure(&failures, err, &e);
                        continue;
                }
                ex[i].recreated = created;
        }
        /* Loops before the exports they hold, mounts and files after. */
        host_prune(exports_dir, ex, n, &failures);
        {
                struct zero_error e = {};
                k = softcard_volume_prune(c->qsd, ex, n, &e);
                if (k > 0) {
                        count_failure(&failures, err, &e);
                        failures += k - 1;
                }
        }
        host_prune(exports_dir, ex, n, &failures);
        return failures;
}

/* ---- The ops ---- */

static int card_open(const struct zero_card_env *env, struct zero_card **ret, struct zero_error *err);
static void card_close(struct zero_card *c);

static int card_volume_create(struct zero_card *c, const struct zero_card_volume *v, struct zero_error *err) {
        return softcard_volume_create(c->qsd, v, err); /* no daemon needed */
}

#define WITH_DAEMON(c, err, call)                                                                  \
        ({                                                                                         \
                int _r = qsd_ensure((c)->qsd, (err));                                              \
                _r < 0 ? _r : (call);                                                              \
        })

static int card_volume_delete(struct zero_card *c, const struct zero_card_volume *v, struct zero_error *err) {
        return softcard_volume_delete(c->qsd, v, err); /* its unexport step makes sure of the daemon */
}

static int card_volume_validate(struct zero_card *c, const struct zero_card_volume *v, uint64_t size,
                                struct zero_error *err) {
        return softcard_volume_validate(v, size, err);
}

static int card_volume_create_async(struct zero_card *c, const struct zero_card_volume *v, zero_card_done_fn done,
                                    void *userdata, struct zero_error *err) {
        return softcard_volume_create_async(&c->jobs, c->event, c->qsd, v, done, userdata, err);
}

static int card_volume_delete_async(struct zero_card *c, const struct zero_card_volume *v, zero_card_done_fn done,
                                    void *userdata, struct zero_error *err) {
        return softcard_volume_delete_async(&c->jobs, c->event, c->qsd, v, done, userdata, err);
}

static int card_volume_resize(struct zero_card *c, const struct zero_card_volume *v, uint64_t new_size,
                              struct zero_error *err) {
        return WITH_DAEMON(c, err, softcard_volume_resize(c->qsd, v, new_size, err));
}

static int card_volume_set_qos(struct zero_card *c, const struct zero_card_volume *v, struct zero_error *err) {
        return WITH_DAEMON(c, err, softcard_volume_set_qos(c->qsd, v, err));
}

static int card_volume_stats(struct zero_card *c, const struct zero_card_volume *v,
                             struct zero_card_volume_stats *ret, struct zero_error *err) {
        if (!ret)
                return zero_error_set(err, -EINVAL, 422, "invalid", "no stats buffer");
        return WITH_DAEMON(c, err, softcard_volume_stats(c->qsd, v, ret, err));
}

static int card_volume_export(struct zero_card *c, const struct zero_card_volume *v, enum zero_card_export_kind kind,
                              char ret_path[static ZERO_CARD_PATH_MAX], struct zero_error *err) {
        return WITH_DAEMON(c, err, softcard_volume_export(c->qsd, v, kind, ret_path, NULL, err));
}

static int card_volume_unexport(struct zero_card *c, const struct zero_card_volume *v, struct zero_error *err) {
        return WITH_DAEMON(c, err, softcard_volume_unexport(c->qsd, v, err));
}

static int card_network_create(struct zero_card *c, const struct zero_card_network *n, struct zero_error *err) {
        return softcard_net_network_create(c->nl, n, err);
}

static int card_network_delete(struct zero_card *c, const struct zero_card_network *n, struct zero_error *err) {
        return softcard_net_network_delete(c->nl, n, err);
}

static int card_nic_attach(struct zero_card *c, const struct zero_card_nic *nic, enum zero_card_nic_kind kind,
                           const char *netns_path, char ret_ifname[static ZERO_CARD_PATH_MAX], struct zero_error *err) {
        return softcard_net_nic_attach(c->nl, nic, kind, netns_path, ret_ifname, err);
}

static int card_nic_detach(struct zero_card *c, const struct zero_card_nic *nic, struct zero_error *err) {
        return softcard_net_nic_detach(c->nl, nic, err);
}

static int card_sync(struct zero_card *c, const struct zero_card_network *networks, size_t n_networks,
                     struct zero_card_want_export *exports, size_t n_exports, struct zero_card_want_nic *nics,
                     size_t n_nics, struct zero_error *err) {
        struct zero_error e = {};
        int failures, r;

        if ((n_exports > 0 && !exports) || (n_networks > 0 && !networks) || (n_nics > 0 && !nics))
                return zero_error_set(err, -EINVAL, 422, "invalid", "sync: a list is missing");
        failures = storage_sync(c, exports, n_exports, err);
        r = softcard_net_sync(c->nl, networks, n_networks, nics, n_nics, &e);
        if (r != 0 && failures == 0 && err)
                *err = e;
        return failures + (r < 0 ? 1 : r);
}

static const struct zero_card_driver driver = {
        .abi_version = ZERO_CARD_ABI_VERSION,
        .size = sizeof(struct zero_card_driver),
        .name = "softcard",
        .ops = {
                .open = card_open,
                .close = card_close,
                .volume_create = card_volume_create,
                .volume_delete = card_volume_delete,
                .volume_resize = card_volume_resize,
                .volume_set_qos = card_volume_set_qos,
                .volume_stats = card_volume_stats,
                .volume_export = card_volume_export,
                .volume_unexport = card_volume_unexport,
                .network_create = card_network_create,
                .network_delete = card_network_delete,
                .nic_attach = card_nic_attach,
                .nic_detach = card_nic_detach,
                .sync = card_sync,
                .volume_validate = card_volume_validate,
                .volume_create_async = card_volume_create_async,
                .volume_delete_async = card_volume_delete_async,
        },
};

const struct zero_card_driver *zero_softcard_driver(void) {
        return &driver;
}

static void card_close(struct zero_card *c) {
        if (!c)
                return;
        softcard_jobs_cancel(&c->jobs);
        c->qsd = qsd_close(c->qsd);
        c->nl = zero_nl_close(c->nl);
        free(c->state_dir);
        free(c->run_dir);
        free(c->shim);
        free(c);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct zero_card *, card_close)

static int card_open(const struct zero_card_env *env, struct zero_card **ret, struct zero_error *err) {
        _cleanup_(card_closep) struct zero_card *c = NULL;
        const char *binary = NULL;
        char run_dir[PATH_MAX];
        int r;

        if (!env || env->size < sizeof(*env) || !ret)
                return zero_error_set(err, -EINVAL, 500, "internal", "softcard: no environment");
        if (!env->state_dir || !env->run_dir || env->run_dir[0] != '/')
                return zero_error_set(err, -EINVAL, 500, "internal",
                                      "softcard: state and run directories are required");
        if (!env->shim)
                return zero_error_set(err, -EINVAL, 500, "internal", "softcard: the path of zero-shim is required");
        c = calloc(1, sizeof(*c));
        if (!c)
                return zero_error_default(err, -ENOMEM, "softcard");
        c->config_get = env->config_get;
        c->event = env->event;
        c->state_dir = strdup(env->state_dir);
        c->shim = strdup(env->shim);
        if (!c->state_dir || !c->shim)
                return zero_error_default(err, -ENOMEM, "softcard");
        /* Canonical: loop devices and mountinfo report resolved paths, which we compare with. */
        r = zero_mkdir_p(env->run_dir, 0755);
        if (r < 0)
                return zero_error_default(err, r, "softcard: cannot create the run directory");
        if (!realpath(env->run_dir, run_dir))
                return zero_error_default(err, -errno, "softcard: cannot resolve the run directory");
        c->run_dir = strdup(run_dir);
        if (!c->run_dir)
                return zero_error_default(err, -ENOMEM, "softcard");
        r = zero_nl_open(&c->nl);
        if (r < 0)
                return zero_error_default(err, r, "softcard: cannot open rtnetlink");
        if (c->config_get)
                binary = c->config_get("card", "qsd");
        r = qsd_open(&(struct qsd_config){.event = env->event,
                                          .run_dir = c->run_dir,
                                          .shim = c->shim,
                                          .binary = binary && *binary ? binary : "qemu-storage-daemon",
                                          .lost_exports = env->lost_exports,
                                          .userdata = env->userdata},
                     &c->qsd, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}
