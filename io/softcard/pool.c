/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The volume pool (storage.h): where new volumes live, as raw files on a filesystem that clones a
 * file by sharing its extents (FICLONE: XFS with reflink=1, btrfs). By default an XFS image the
 * softcard makes beside its state (STATE/pool.img, sparse, as large as the free space under it when
 * made) and mounts at STATE/pool through a direct-I/O loop device, like Incus's default loop pool;
 * or a directory the operator names ([card] pool), already on such a filesystem.
 *
 * Making and mounting the image takes a mkfs.xfs and an XFS log recovery: never on the loop. The
 * volume jobs and ops ask for softcard_pool_ensure_work() in a child (volume_file.c, volume_op.c);
 * zerod's start (sync()) calls softcard_pool_ensure() itself, as it does everything at once.
 *
 * close() detaches the mount (MNT_DETACH): volumes still exported keep the filesystem alive through
 * their loop devices' files, and the image's loop device (autoclear) goes with the last of them.
 * The next ensure mounts the same loop device again when it is still bound, which gives the same
 * superblock: an image is never mounted twice through two devices.
 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "common/util.h"
#include "io/softcard/storage.h"

#define POOL_SIZE_MIN (1ULL << 30) /* XFS wants 300 MB; leave room for its log */
#define POOL_SIZE_MAX (1ULL << 50) /* 1 PiB: SOFTCARD_VOLUME_SIZE_MAX */
#define POOL_MKFS_TIMEOUT_MS (5 * 60 * 1000)

static int parse_size(const char *s, uint64_t *ret) {
        char *end = NULL;
        unsigned long long v;

        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || end == s)
                return -EINVAL;
        switch (*end) {
        case 'T':
                v <<= 10; /* fall through */
        case 'G':
                v <<= 10; /* fall through */
        case 'M':
                v <<= 20;
                end++;
                break;
        case '\0':
                break;
        default:
                return -EINVAL;
        }
        if (*end || v < POOL_SIZE_MIN || v > POOL_SIZE_MAX)
                return -EINVAL;
        *ret = v;
        return 0;
}

int softcard_pool_init(struct softcard_pool *p, const char *state_dir, const char *dir, const char *size,
                       struct zero_error *err) {
        char real[PATH_MAX];
        struct stat st;
        int r;

        *p = (struct softcard_pool){};
        if (size && *size && parse_size(size, &p->image_size) < 0)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID,
                                      "[card] pool_size: '%s' is not a size from 1G to 1024T (bytes, or with M, G "
                                      "or T)",
                                      size);
        if (dir && *dir) {
                /* The operator's: it must be there (a mount we would not know how to make). */
                if (!realpath(dir, real) || stat(real, &st) < 0 || !S_ISDIR(st.st_mode))
                        return zero_error_set(err, -ENOENT, ZERO_E_INVALID, "[card] pool: %s is not a directory", dir);
                snprintf(p->dir, sizeof(p->dir), "%s", real);
                return 0;
        }
        r = zero_mkdir_p(state_dir, 0700);
        if (r < 0 || !realpath(state_dir, real))
                return zero_error_default(err, r < 0 ? r : -errno, "softcard: cannot resolve the state directory");
        if (strlen(real) + 16 >= sizeof(p->dir))
                return zero_error_set(err, -ENAMETOOLONG, ZERO_E_INVALID, "softcard: state directory too long");
        snprintf(p->dir, sizeof(p->dir), "%s/pool", real);
        snprintf(p->image, sizeof(p->image), "%s/pool.img", real);
        snprintf(p->lock, sizeof(p->lock), "%s/pool.lock", real);
        return 0;
}

bool softcard_pool_holds(const struct softcard_pool *p, const char *path) {
        size_t len = p ? strlen(p->dir) : 0;

        return len > 0 && strncmp(path, p->dir, len) == 0 && path[len] == '/';
}

/* Mounted: the directory is on another device than its parent. */
static bool pool_mounted(const struct softcard_pool *p) {
        _cleanup_free_ char *parent = zero_strdup_printf("%s/..", p->dir);
        struct stat a, b;

        return parent && stat(p->dir, &a) >= 0 && stat(parent, &b) >= 0 && a.st_dev != b.st_dev;
}

bool softcard_pool_ready(const struct softcard_pool *p) {
        return !p || !p->image[0] || pool_mounted(p);
}

/* The loop device already bound to the image (a pool detached by close(), still alive). */
static int pool_loop_find(const char *image, char dev[static 32]) {
        DIR *d = opendir("/sys/block");
        struct dirent *de;
        int r = -ENOENT;

        while (d && r < 0 && (de = readdir(d))) {
                _cleanup_free_ char *path = NULL, *backing = NULL;

                if (strncmp(de->d_name, "loop", 4) != 0)
                        continue;
                path = zero_strdup_printf("/sys/block/%s/loop/backing_file", de->d_name);
                if (!path || zero_read_file(path, PATH_MAX, &backing, NULL) < 0)
                        continue;
                backing[strcspn(backing, "\n")] = '\0';
                if (streq(backing, image)) {
                        snprintf(dev, 32, "/dev/%.20s", de->d_name);
                        r = 0;
                }
        }
        if (d)
                closedir(d);
        return r;
}

/* A direct-I/O loop device over the image that clears itself when the filesystem lets go: its fd in
 * *ret_fd, to be kept open until the mount holds the device (autoclear clears it at the last close,
 * which would otherwise be ours, before the mount). */
static int pool_loop_attach(const char *image, char dev[static 32], int *ret_fd, struct zero_error *err) {
        _cleanup_close_ int file = open(image, O_RDWR | O_CLOEXEC);

        if (file < 0)
                return zero_error_default(err, -errno, "Failed to open the pool image");
        return softcard_loop_configure(file, LO_FLAGS_DIRECT_IO | LO_FLAGS_AUTOCLEAR, "zero-pool", dev, ret_fd, err);
}

/* A new image, made under .tmp and renamed: a crash leaves none half made. */
static int pool_make(const struct softcard_pool *p, struct zero_error *err) {
        _cleanup_free_ char *tmp = zero_strdup_printf("%s.tmp", p->image), *out = NULL;
        _cleanup_close_ int fd = -EBADF;
        uint64_t size = p->image_size;
        struct statvfs sv;
        int r;

        if (!tmp)
                return zero_error_default(err, -ENOMEM, "pool");
        if (size == 0) { /* as large as the free space under it now, the disk's to give */
                if (statvfs(p->lock, &sv) < 0) /* beside the image */
                        return zero_error_default(err, -errno, "Failed to read the free space for the pool");
                size = (uint64_t) sv.f_bavail * sv.f_frsize;
                size = size < POOL_SIZE_MIN ? POOL_SIZE_MIN : size > POOL_SIZE_MAX ? POOL_SIZE_MAX : size;
                size &= ~((1ULL << 20) - 1);
        }
        (void) unlink(tmp);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 || ftruncate(fd, (off_t) size) < 0)
                return zero_error_default(err, -errno, "Failed to create the pool image");
        fd = safe_close(fd);
        /*
         * 1 KiB blocks: a direct loop device takes the smallest I/O its file allows as its logical
         * block size, and XFS with reflinks allows nothing below its block size (a write to a
         * shared block is a copy of the whole block). With 4 KiB blocks, the ext4 of an image with
         * 1 KiB blocks (mkfs.ext4's choice below 512 MiB: small images) would not mount on its
         * clone's device ("bad block size 1024"); forcing 512-byte sectors turns direct I/O off.
         * -K: no discard of a sparse file; the mount table hidden, as for mkfs.ext4.
         */
        char *argv[] = {"mkfs.xfs", "-q", "-K", "-b", "size=1024", "-m", "reflink=1", tmp, NULL};
        r = zero_run_wait_flags(argv, POOL_MKFS_TIMEOUT_MS, ZERO_CHILD_HIDE_MOUNTS, &out);
        if (r != 0) {
                (void) unlink(tmp);
                if (r == 127 || r == -ENOENT)
                        return zero_error_set(err, -ENOENT, ZERO_E_UNAVAILABLE,
                                              "mkfs.xfs is missing: install xfsprogs, or name a reflink-capable "
                                              "directory as [card] pool");
                return softcard_command_failed(argv, r, out, err);
        }
        fd = open(tmp, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) < 0 || rename(tmp, p->image) < 0)
                return zero_error_default(err, -errno, "Failed to create the pool image");
        return 0;
}

int softcard_pool_ensure(const struct softcard_pool *p, bool make, struct zero_error *err) {
        _cleanup_close_ int lock = -EBADF, held = -EBADF;
        char dev[32];
        int r;

        if (softcard_pool_ready(p))
                return 0;
        /* One at a time: a create's child and an export's may both find it unmounted. */
        lock = open(p->lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (lock < 0 || flock(lock, LOCK_EX) < 0)
                return zero_error_default(err, -errno, "Failed to lock the pool");
        if (pool_mounted(p))
                return 0;
        if (access(p->image, F_OK) < 0) {
                if (!make)
                        return 0; /* nothing can be in a pool never made */
                r = pool_make(p, err);
                if (r < 0)
                        return r;
        }
        r = zero_mkdir_p(p->dir, 0700);
        if (r < 0)
                return zero_error_default(err, r, "Failed to create the pool's mount point");
        if (pool_loop_find(p->image, dev) < 0) {
                r = pool_loop_attach(p->image, dev, &held, err);
                if (r < 0)
                        return r;
        }
        if (mount(dev, p->dir, "xfs", MS_NODEV | MS_NOSUID | MS_NOEXEC, NULL) < 0)
                return zero_error_default(err, -errno, "Failed to mount the pool");
        r = zero_mkdir_p(p->dir, 0700); /* the root of a new XFS is 0755 */
        if (r >= 0 && chmod(p->dir, 0700) < 0)
                r = -errno;
        return r < 0 ? zero_error_default(err, r, "Failed to set up the pool") : 0;
}

void softcard_pool_ensure_work(void *arg, struct zero_subprocess_result *res) {
        res->r = softcard_pool_ensure(arg, true, &res->err);
}

void softcard_pool_release(const struct softcard_pool *p) {
        if (p && p->image[0] && pool_mounted(p))
                (void) umount2(p->dir, MNT_DETACH);
}

/* ---- Clones ---- */

static uint64_t fnv1a64(uint64_t h, const void *data, size_t n) {
        for (const unsigned char *s = data; n--; s++)
                h = (h ^ *s) * 1099511628211ULL;
        return h;
}

int softcard_pool_base(const struct softcard_pool *p, const char *base, char ret[static PATH_MAX],
                       struct zero_error *err) {
        struct stat b, d;
        uint64_t h = 14695981039346656037ULL;

        if (stat(base, &b) < 0)
                return zero_error_set(err, -errno, ZERO_E_NOT_FOUND, "image base %s: %s", base, strerror(errno));
        if (stat(p->dir, &d) < 0)
                return zero_error_default(err, -errno, "Failed to look at the pool");
        if (b.st_dev == d.st_dev) { /* in the pool already: cloned from where it is */
                snprintf(ret, PATH_MAX, "%s", base);
                return 0;
        }
        /* The copy of an image's base goes by what it is now: a base made again is copied again. */
        h = fnv1a64(h, base, strlen(base));
        h = fnv1a64(h, &b.st_ino, sizeof(b.st_ino));
        h = fnv1a64(h, &b.st_size, sizeof(b.st_size));
        h = fnv1a64(h, &b.st_mtim, sizeof(b.st_mtim));
        if (snprintf(ret, PATH_MAX, "%s/bases/%016llx.raw", p->dir, (unsigned long long) h) >= PATH_MAX)
                return zero_error_set(err, -ENAMETOOLONG, ZERO_E_INTERNAL, "pool path too long");
        return 0;
}

int softcard_file_clone(const char *from, const char *to, uint64_t size, bool reflink) {
        _cleanup_close_ int in = open(from, O_RDONLY | O_CLOEXEC), out = -EBADF;
        struct stat st;
        int r = 0;

        if (in < 0 || fstat(in, &st) < 0)
                return -errno;
        out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (out < 0)
                return -errno;
        if (reflink && ioctl(out, FICLONE, in) < 0)
                r = -errno;
        for (off_t done = 0; !reflink && r >= 0 && done < st.st_size;) {
                ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t) (st.st_size - done), 0);
                if (n <= 0)
                        r = n < 0 ? -errno : -EIO;
                done += n > 0 ? n : 0;
        }
        if (r >= 0 && (uint64_t) st.st_size < size && ftruncate(out, (off_t) size) < 0)
                r = -errno;
        if (r < 0)
                (void) unlink(to);
        return r;
}
