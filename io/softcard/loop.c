/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What host-block exports leave in the kernel (storage.h): the loop devices over FUSE exports,
 * found by their name or backing path, attached one request at a time, resized, counted; and the
 * FUSE mounts under RUN/exports, which the daemon's restart and sync() clear.
 *
 * Some of it waits on the daemon behind the FUSE file, in D state for as long as the daemon is
 * stopped or hung: opening the export's file (FUSE_OPEN), LOOP_CONFIGURE and the fstat before it,
 * LOOP_GET_STATUS64 (it stats the backing file: loop_is_live(), so softcard_loop_find()), a read
 * through the device (softcard_loop_refresh_size()) and the last close of a cleared device
 * (the queue is frozen until in-flight requests end). The asynchronous volume ops run those as
 * calls in a forked child (softcard_loop_*_work(), common/subprocess.c), never on the loop; what is left on
 * the loop here reads sysfs and mountinfo, or asks devices not backed by a live FUSE file.
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
#include "io/softcard/storage.h"

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

static bool is_hex32_prefix(const char *s) {
        return strspn(s, "0123456789abcdefABCDEF") >= 32;
}

static bool is_hex32(const char *s) {
        return is_hex32_prefix(s) && s[32] == '\0';
}

/* Whether backing names a volume's raw file ("/.../<32 hex>.raw", or " (deleted)" after it). */
static bool direct_backing(const char *backing, char id[static 33]) {
        const char *base = strrchr(backing, '/');
        size_t len;

        if (!base || !is_hex32_prefix(++base))
                return false;
        len = strlen(base);
        if (!streq(base + 32, ".raw") && !streq(base + 32, ".raw (deleted)"))
                return false;
        snprintf(id, 33, "%.32s", base);
        return len >= 36;
}

/* Whether loop device dev carries our name for volume id, and (file: may be NULL) reads that file
 * (LOOP_GET_STATUS64: only for devices whose backing file is no FUSE export, as it stats that
 * file). The file is told by device and inode, not path: a device over a pool that close()
 * detached reports its file's path from the detached root. */
static bool loop_named(const char *exports_dir, const char *dev, const char *id, const struct stat *file) {
        _cleanup_close_ int fd = open(dev, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        struct loop_info64 info = {};
        char want[SOFTCARD_LOOP_NAME_SIZE];

        if (fd < 0 || ioctl(fd, LOOP_GET_STATUS64, &info) < 0)
                return false;
        info.lo_file_name[LO_NAME_SIZE - 1] = '\0';
        softcard_loop_name(exports_dir, id, want);
        if (file && (info.lo_inode != file->st_ino || major(info.lo_device) != major(file->st_dev) ||
                     minor(info.lo_device) != minor(file->st_dev)))
                return false;
        return strcasecmp((const char *) info.lo_file_name, want) == 0;
}

/* The volume id of loop device `name` ("loop3") if it is one of ours. */
static bool loop_owned(const char *exports_dir, const char *name, char id[static 33], bool *ret_direct) {
        _cleanup_free_ char *path = zero_strdup_printf("/sys/block/%s/loop/backing_file", name), *backing = NULL;
        struct loop_info64 info = {};
        char dev[32], want[SOFTCARD_LOOP_NAME_SIZE];
        size_t len = strlen(exports_dir);
        int fd;

        if (!path || zero_read_file(path, PATH_MAX, &backing, NULL) < 0)
                return false; /* unbound */
        backing[strcspn(backing, "\n")] = '\0';
        *ret_direct = false;
        if (strncmp(backing, exports_dir, len) == 0 && backing[len] == '/' && is_hex32(backing + len + 1)) {
                snprintf(id, 33, "%s", backing + len + 1);
                return true;
        }
        snprintf(dev, sizeof(dev), "/dev/%.20s", name);
        if (direct_backing(backing, id)) /* a volume's file in a pool, never a FUSE export */
                return (*ret_direct = loop_named(exports_dir, dev, id, NULL));
        /* Any other path is not ours (another agent's export, or no export): and its name is
         * not asked for, since LOOP_GET_STATUS64 stats the backing file, which waits for as long
         * as the FUSE daemon behind it is stopped (it_card_stalled, with agents in parallel).
         * Only "/", a detached mount's file, leaves the name to tell. */
        if (backing[0] == '/' && backing[1] != '\0')
                return false;
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
                bool direct = false;
                if (strncmp(de->d_name, "loop", 4) != 0 || !isdigit((unsigned char) de->d_name[4]) ||
                    !loop_owned(exports_dir, de->d_name, id, &direct))
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
                memcpy(loops[n].id, id, sizeof(id));
                loops[n++].direct = direct;
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

static int mount_dev(const char *path, dev_t *ret);

/*
 * Whether loop device dev reads the FUSE file mounted at RUN/exports/<id> now. After the daemon
 * died, a loop device that was still mounted (a container's root) could only be marked for
 * clearing: it stays bound, to the dead daemon's detached FUSE file, until its last user goes,
 * and its backing path still reads like the new export's. Taken for the new export's device, it
 * fails every read: a restarted container's mount of its root was EIO (it_card_crash, about one
 * run in six). The backing file's device tells them apart: each FUSE mount has its own. It comes
 * from mountinfo, not stat(): no FUSE request may overlap the loop worker's (above).
 */
static bool loop_is_live(const char *exports_dir, const char *id, const char *dev) {
        _cleanup_free_ char *mnt = zero_strdup_printf("%s/%s", exports_dir, id);
        _cleanup_close_ int fd = open(dev, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        struct loop_info64 info = {};
        dev_t live;

        if (!mnt || fd < 0 || ioctl(fd, LOOP_GET_STATUS64, &info) < 0 || mount_dev(mnt, &live) < 0)
                return false;
        return major(info.lo_device) == major(live) && minor(info.lo_device) == minor(live);
}

int softcard_loop_find(const char *exports_dir, const char *id, char dev[static 32]) {
        _cleanup_free_ struct softcard_loop *loops = NULL;
        size_t n = 0;
        int r = softcard_loops_list(exports_dir, &loops, &n);

        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (strcasecmp(loops[i].id, id) == 0 &&
                    (loops[i].direct || loop_is_live(exports_dir, loops[i].id, loops[i].dev))) {
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
                        r = softcard_loop_release(&loops[i]);
        return r;
}

int softcard_loop_release(const struct softcard_loop *l) {
        /* A direct device's limits go with it: the next volume on its minor starts without. */
        if (l->direct)
                (void) softcard_throttle_set(l->dev, 0, 0, NULL);
        return softcard_loop_detach(l->dev);
}

int softcard_loop_find_direct(const char *exports_dir, const char *path, const char *id, char dev[static 32]) {
        DIR *d;
        struct dirent *de;
        struct stat st;
        int r = -ENOENT;

        if (stat(path, &st) < 0)
                return -errno;
        d = opendir("/sys/block");
        if (!d)
                return -errno;
        while (r < 0 && (de = readdir(d))) {
                _cleanup_free_ char *p = NULL, *backing = NULL;
                char name[32], bid[33];

                if (strncmp(de->d_name, "loop", 4) != 0 || !isdigit((unsigned char) de->d_name[4]))
                        continue;
                p = zero_strdup_printf("/sys/block/%s/loop/backing_file", de->d_name);
                if (!p || zero_read_file(p, PATH_MAX, &backing, NULL) < 0)
                        continue;
                backing[strcspn(backing, "\n")] = '\0';
                snprintf(name, sizeof(name), "/dev/%.20s", de->d_name);
                if (direct_backing(backing, bid) && strcasecmp(bid, id) == 0 &&
                    loop_named(exports_dir, name, id, &st)) {
                        snprintf(dev, 32, "%s", name);
                        r = 0;
                }
        }
        closedir(d);
        return r;
}

bool softcard_loop_direct_of(const char *exports_dir, const char *dev, const char *id, const char *path) {
        _cleanup_free_ char *p = NULL, *backing = NULL;
        const char *name = strrchr(dev, '/');
        char bid[33];
        struct stat st;

        /* sysfs first: LOOP_GET_STATUS64 stats the backing file, which must be no FUSE export. */
        p = name ? zero_strdup_printf("/sys/block/%s/loop/backing_file", name + 1) : NULL;
        if (!p || zero_read_file(p, PATH_MAX, &backing, NULL) < 0)
                return false;
        backing[strcspn(backing, "\n")] = '\0';
        return direct_backing(backing, bid) && strcasecmp(bid, id) == 0 && stat(path, &st) >= 0 &&
               loop_named(exports_dir, dev, id, &st);
}

/*
 * The host block export of a raw volume: a loop device straight over its file, in direct I/O
 * (no second copy in the page cache; requests go to the filesystem as they come, queued, not one
 * at a time through a FUSE daemon). Not autoclear: a container's mount keeps it as long as it needs,
 * and unexport, sync() and the journal detach it by name.
 */
int softcard_loop_attach_direct(const char *exports_dir, const char *path, const char *id, char dev[static 32],
                                struct zero_error *err) {
        _cleanup_close_ int file = open(path, O_RDWR | O_CLOEXEC);
        char name[SOFTCARD_LOOP_NAME_SIZE];

        if (file < 0)
                return zero_error_default(err, -errno, "Failed to open the volume's file");
        softcard_loop_name(exports_dir, id, name);
        return softcard_loop_configure(file, LO_FLAGS_DIRECT_IO, name, dev, NULL, err);
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
        _cleanup_close_ int file = open(mnt, O_RDWR | O_CLOEXEC);
        char name[SOFTCARD_LOOP_NAME_SIZE];
        int r;

        if (file < 0)
                return zero_error_default(err, -errno, "Failed to open the FUSE export");
        r = fuse_serialize(file);
        if (r < 0)
                return zero_error_default(err, r, "Failed to turn off readahead on the FUSE export");
        softcard_loop_name(exports_dir, id, name);
        return softcard_loop_configure(file, 0, name, dev, NULL, err);
}

int softcard_loop_configure(int file, uint32_t flags, const char *name, char dev[static 32], int *ret_fd,
                            struct zero_error *err) {
        _cleanup_close_ int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);

        if (ctl < 0)
                return zero_error_default(err, -errno, "Failed to open /dev/loop-control");
        /* Another process may take the free device between GET_FREE and CONFIGURE: EBUSY, again. */
        for (int tries = 0; tries < 64; tries++) {
                struct loop_config c = {.fd = (uint32_t) file, .info.lo_flags = flags};
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
                snprintf((char *) c.info.lo_file_name, LO_NAME_SIZE, "%s", name);
                if (ioctl(fd, LOOP_CONFIGURE, &c) >= 0) {
                        if (ret_fd)
                                *ret_fd = TAKE_FD(fd);
                        return 0;
                }
                if (errno != EBUSY)
                        return zero_error_default(err, -errno, "Failed to set up the loop device");
        }
        return zero_error_set(err, -EBUSY, ZERO_E_INTERNAL, "no free loop device");
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
                        return zero_error_set(err, -ETIMEDOUT, ZERO_E_INTERNAL,
                                              "%s still has %llu bytes, not %llu", dev, (unsigned long long) cur,
                                              (unsigned long long) size);
                (void) poll(NULL, 0, 50);
        }
}

/* ---- The same, off the loop: work for zero_subprocess_call() ---- */

int softcard_loop_job_init(struct softcard_loop_job *j, const char *exports_dir, const char *id, uint64_t size) {
        int n = snprintf(j->exports_dir, sizeof(j->exports_dir), "%s", exports_dir);
        int m = snprintf(j->mnt, sizeof(j->mnt), "%s/%s", exports_dir, id);

        if (n < 0 || (size_t) n >= sizeof(j->exports_dir) || m < 0 || (size_t) m >= sizeof(j->mnt) || strlen(id) > 32)
                return -ENAMETOOLONG;
        snprintf(j->id, sizeof(j->id), "%s", id);
        j->size = size;
        j->indexed = false;
        j->dev[0] = '\0';
        return 0;
}

void softcard_loop_ensure_work(void *arg, struct zero_subprocess_result *res) {
        const struct softcard_loop_job *j = arg;
        char dev[32];

        if (softcard_loop_find(j->exports_dir, j->id, dev) >= 0)
                res->r = 0;
        else if ((res->r = softcard_loop_attach(j->exports_dir, j->mnt, j->id, dev, &res->err)) >= 0)
                res->r = 1;
        if (res->r >= 0)
                snprintf(res->text, sizeof(res->text), "%s", dev);
}

/* The job's direct device: the index's hint, checked (none: none), or a walk of sysfs. */
static bool find_direct(const struct softcard_loop_job *j, char dev[static 32]) {
        if (!j->indexed)
                return softcard_loop_find_direct(j->exports_dir, j->path, j->id, dev) >= 0;
        if (j->dev[0] && softcard_loop_direct_of(j->exports_dir, j->dev, j->id, j->path)) {
                snprintf(dev, 32, "%s", j->dev);
                return true;
        }
        /* A hint that fails its check: the device went behind the card's back; look for another. */
        return j->dev[0] && softcard_loop_find_direct(j->exports_dir, j->path, j->id, dev) >= 0;
}

void softcard_loop_direct_work(void *arg, struct zero_subprocess_result *res) {
        const struct softcard_loop_job *j = arg;
        char dev[32];
        int k;

        res->r = j->pool ? softcard_pool_ensure(j->pool, false, &res->err) : 0;
        if (res->r < 0)
                return;
        if (find_direct(j, dev))
                res->r = 0;
        else if ((res->r = softcard_loop_attach_direct(j->exports_dir, j->path, j->id, dev, &res->err)) >= 0)
                res->r = 1;
        if (res->r < 0)
                return;
        snprintf(res->text, sizeof(res->text), "%s", dev);
        k = softcard_throttle_set(dev, j->qos_iops, j->qos_bps, &res->err);
        if (k < 0) {
                if (res->r == 1) /* made now: not left half made */
                        (void) softcard_loop_detach(dev);
                res->r = k;
        }
}

void softcard_loop_qos_work(void *arg, struct zero_subprocess_result *res) {
        const struct softcard_loop_job *j = arg;
        char dev[32];

        res->r = !find_direct(j, dev) ? 0 /* none: the next export applies them */
                         : softcard_throttle_set(dev, j->qos_iops, j->qos_bps, &res->err);
}

void softcard_loop_refresh_work(void *arg, struct zero_subprocess_result *res) {
        const struct softcard_loop_job *j = arg;
        char dev[32];

        res->r = softcard_loop_find(j->exports_dir, j->id, dev) < 0 ? 0 /* none: nothing to tell */
                                                                     : softcard_loop_refresh_size(dev, j->size, &res->err);
}

void softcard_loop_detach_work(void *arg, struct zero_subprocess_result *res) {
        const struct softcard_loop_job *j = arg;
        struct softcard_loop l = {.direct = true};

        /* The index's direct device, checked: only it (a FUSE one, or none checked: the walk). */
        if (j->indexed && j->dev[0] && softcard_loop_direct_of(j->exports_dir, j->dev, j->id, j->path)) {
                snprintf(l.dev, sizeof(l.dev), "%s", j->dev);
                res->r = softcard_loop_release(&l);
        } else if (j->indexed && !j->dev[0])
                res->r = 0; /* the card made none */
        else
                res->r = softcard_loop_detach_id(j->exports_dir, j->id);
        if (res->r < 0)
                zero_error_default(&res->err, res->r, "Failed to detach the loop device");
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

/* The device (MAJ:MIN in mountinfo) of the topmost mount at path; -ENOENT when none. */
static int mount_dev(const char *path, dev_t *ret) {
        _cleanup_free_ char *info = NULL;
        char *line, *save = NULL;
        bool found = false;
        int r;

        r = zero_read_file("/proc/self/mountinfo", 64U << 20, &info, NULL);
        if (r < 0)
                return r;
        for (line = strtok_r(info, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                unsigned maj, min;
                char point[PATH_MAX];
                /* ID PARENT MAJ:MIN ROOT MOUNTPOINT ...; later lines are mounted on top. */
                if (sscanf(line, "%*u %*u %u:%u %*s %4095s", &maj, &min, point) != 3)
                        continue;
                unescape(point);
                if (streq(point, path)) {
                        *ret = makedev(maj, min);
                        found = true;
                }
        }
        return found ? 0 : -ENOENT;
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
                if (!loops[i].direct && (k = softcard_loop_detach(loops[i].dev)) < 0 && r >= 0)
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
