/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Safe extraction (extract.h). The rules are checked on each entry before its write; the writes
 * themselves cannot leave the root even if a rule were missed: every parent is opened with
 * openat2(RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV) from the root's fd, and every
 * last component is made with *at() calls on that parent that never follow a symlink.
 */
#include "agent/extract.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/util.h"

#define COPY_BUFFER (128 * 1024)
#define DISK_BLOCK 4096ULL

struct zero_extract {
        int root_fd;
        struct stat root_st;
        struct zero_extract_options opts;
        uint64_t bytes, disk, entries;
        void *links; /* the directory walk's files with several names (zero_hardlink_first) */
        char buf[COPY_BUFFER];
};

/* Where a regular file's data comes from: > 0 bytes, 0 at its end, < 0 -errno with *err. */
typedef ssize_t (*data_fn)(void *userdata, void *buf, size_t len, struct zero_error *err);

int zero_extract_new(int root_fd, const struct zero_extract_options *opts, struct zero_extract **ret) {
        struct zero_extract *x = calloc(1, sizeof(*x));

        if (!x)
                return -ENOMEM;
        if (fstat(root_fd, &x->root_st) < 0) {
                free(x);
                return -errno;
        }
        x->root_fd = root_fd;
        x->opts = *opts;
        *ret = x;
        return 0;
}

struct zero_extract *zero_extract_free(struct zero_extract *x) {
        if (!x)
                return NULL;
        zero_hardlink_map_free(x->links);
        free(x);
        return NULL;
}

uint64_t zero_extract_bytes(const struct zero_extract *x) {
        return x->bytes;
}

uint64_t zero_extract_disk_bytes(const struct zero_extract *x) {
        return x->disk;
}

uint64_t zero_extract_entries(const struct zero_extract *x) {
        return x->entries;
}

/* A path as messages show it: printable ASCII, other bytes as \xNN (the message goes into JSON,
 * which must be UTF-8), at most about 200 characters. */
static const char *shown(const char *path, char buf[static 256]) {
        size_t o = 0;

        for (const unsigned char *p = (const unsigned char *) path; *p && o < 240; p++) {
                if (*p >= 0x20 && *p < 0x7f && *p != '\\')
                        buf[o++] = (char) *p;
                else
                        o += (size_t) snprintf(buf + o, 256 - o, "\\x%02x", *p);
        }
        if (path[0] && o >= 240)
                o += (size_t) snprintf(buf + o, 256 - o, "...");
        buf[o] = '\0';
        return buf;
}

static int refuse(struct zero_error *err, const char *path, const char *why) {
        char b[256];
        return zero_error_set(err, -EPERM, ZERO_E_INVALID, "image entry '%s' %s", shown(path, b), why);
}

static int fs_error(struct zero_error *err, int r, const char *what, const char *path) {
        char b[256];
        return zero_error_set(err, r, ZERO_E_INTERNAL, "cannot %s '%s' in the image: %s", what, shown(path, b),
                              strerror(-r));
}

#define DEVICES_RULE "images may not hold device nodes, FIFOs or sockets"

/* Relative, no "..": the normalized copy without "." and empty components ("" is the root).
 * target: path is the hard link target of entry. */
static int normalize(const char *path, const char *entry, bool target, char **ret, struct zero_error *err) {
        char why[400], b[256];

        if (path[0] == '/') {
                snprintf(why, sizeof(why), "is a hard link to the absolute path '%s'", shown(path, b));
                return refuse(err, entry, target ? why : "is an absolute path: entries are relative to the image's root");
        }
        if (zero_path_has_dotdot(path)) {
                snprintf(why, sizeof(why), "is a hard link to '%s', which leaves the image: '..' is not allowed",
                         shown(path, b));
                return refuse(err, entry, target ? why : "leaves the image: '..' is not allowed");
        }
        *ret = zero_path_simplify(path);
        return *ret ? 0 : -ENOMEM;
}

int zero_extract_check(const struct zero_tar_entry *e, char **ret_path, struct zero_error *err) {
        _cleanup_free_ char *path = NULL, *target = NULL;
        char why[128];
        int r;

        switch (e->type) {
        case ZERO_TAR_CHAR:
                return refuse(err, e->path, "is a character device: " DEVICES_RULE);
        case ZERO_TAR_BLOCK_DEV:
                return refuse(err, e->path, "is a block device: " DEVICES_RULE);
        case ZERO_TAR_FIFO:
                return refuse(err, e->path, "is a FIFO: " DEVICES_RULE);
        case ZERO_TAR_OTHER:
                if (e->typeflag >= 0x20 && e->typeflag < 0x7f)
                        snprintf(why, sizeof(why), "has the unsupported entry type '%c'", e->typeflag);
                else
                        snprintf(why, sizeof(why), "has the unsupported entry type 0x%02x", (unsigned char) e->typeflag);
                return refuse(err, e->path, why);
        default:
                break;
        }
        if (e->uid >= UINT32_MAX || e->gid >= UINT32_MAX)
                return refuse(err, e->path, "has an owner or group beyond 2^32-2");
        r = normalize(e->path, e->path, false, &path, err);
        if (r < 0)
                return r;
        if (!path[0] && e->type != ZERO_TAR_DIR)
                return refuse(err, e->path, "names the image's root, which is a directory");
        if (e->type == ZERO_TAR_HARDLINK) {
                r = normalize(e->linkpath, e->path, true, &target, err);
                if (r < 0)
                        return r;
                if (!target[0] || streq(target, path))
                        return refuse(err, e->path, "is a hard link to itself or to the image's root");
        }
        *ret_path = TAKE_PTR(path);
        return 0;
}

static int openat2_fd(int dfd, const char *path, uint64_t flags, uint64_t resolve) {
        struct open_how how = {.flags = flags | O_CLOEXEC, .resolve = resolve};
        long fd = syscall(SYS_openat2, dfd, path, &how, sizeof(how));
        return fd < 0 ? -errno : (int) fd;
}

#define RESOLVE_INSIDE (RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)

/* The directory holding path's last component (an O_PATH fd), its parents made when create (0755,
 * root's, as tar makes them). Resolved from the root in one call; component by component when
 * that fails, which also says which component is in the way. */
static int open_parent(struct zero_extract *x, const char *path, bool create, const char *entry, int *ret,
                       struct zero_error *err) {
        const char *slash = strrchr(path, '/');
        _cleanup_free_ char *parent = slash ? strndup(path, (size_t) (slash - path)) : strdup(".");
        _cleanup_close_ int cur = -EBADF;
        char why[400], b[256];
        int fd;

        if (!parent)
                return -ENOMEM;
        fd = openat2_fd(x->root_fd, parent, O_PATH | O_DIRECTORY, RESOLVE_IN_ROOT | RESOLVE_INSIDE);
        if (fd >= 0) {
                *ret = fd;
                return 0;
        }
        cur = fcntl(x->root_fd, F_DUPFD_CLOEXEC, 3);
        if (cur < 0)
                return -errno;
        for (char *c = parent, *next; *c; c = next) {
                next = c + strcspn(c, "/");
                if (*next)
                        *next++ = '\0';
                fd = openat2_fd(cur, c, O_PATH | O_DIRECTORY, RESOLVE_BENEATH | RESOLVE_INSIDE);
                if (fd == -ENOENT && create) {
                        if (mkdirat(cur, c, 0755) < 0 && errno != EEXIST)
                                return fs_error(err, -errno, "create the directory", parent);
                        fd = openat2_fd(cur, c, O_PATH | O_DIRECTORY, RESOLVE_BENEATH | RESOLVE_INSIDE);
                }
                if (fd == -ELOOP) {
                        snprintf(why, sizeof(why),
                                 "goes through the symlink '%s': entries may not be written through symlinks",
                                 shown(parent, b));
                        return refuse(err, entry, why);
                }
                if (fd == -ENOTDIR) {
                        snprintf(why, sizeof(why), "is under '%s', which is not a directory", shown(parent, b));
                        return refuse(err, entry, why);
                }
                if (fd == -ENOENT)
                        return refuse(err, entry, "is a hard link to a file the image does not have before it");
                if (fd < 0)
                        return fs_error(err, fd, "open the directory", parent);
                /* parent now holds the path up to and including c, for the messages */
                if (*next)
                        next[-1] = '/';
                safe_close(cur);
                cur = fd;
        }
        *ret = TAKE_FD(cur);
        return 0;
}

/* What an earlier entry of the same name left is replaced (tar's way), except that a directory
 * stays a directory: 1 when a directory is there and keep_dir, else 0 once nothing is. */
static int clear_name(int pfd, const char *base, bool keep_dir, const char *path, struct zero_error *err) {
        struct stat st;

        if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : fs_error(err, -errno, "inspect", path);
        if (S_ISDIR(st.st_mode)) {
                if (keep_dir)
                        return 1;
                if (unlinkat(pfd, base, AT_REMOVEDIR) < 0)
                        return errno == ENOTEMPTY || errno == EEXIST
                                       ? refuse(err, path, "replaces a directory that is not empty")
                                       : fs_error(err, -errno, "replace", path);
                return 0;
        }
        if (unlinkat(pfd, base, 0) < 0)
                return fs_error(err, -errno, "replace", path);
        return 0;
}

static uint32_t file_mode(const struct zero_extract *x, uint32_t mode) {
        return x->opts.keep_setuid ? mode : mode & ~(uint32_t) (S_ISUID | S_ISGID);
}

static int set_owner_mode_time(int fd, const struct zero_tar_entry *e, uint32_t mode, const char *path,
                               struct zero_error *err) {
        struct timespec ts[2] = {{.tv_sec = e->mtime}, {.tv_sec = e->mtime}};

        /* chown first: it clears setuid and setgid, which the chmod after it sets again */
        if (fchown(fd, (uid_t) e->uid, (gid_t) e->gid) < 0)
                return fs_error(err, -errno, "set the owner of", path);
        if (fchmod(fd, mode) < 0)
                return fs_error(err, -errno, "set the mode of", path);
        if (futimens(fd, ts) < 0)
                return fs_error(err, -errno, "set the time of", path);
        return 0;
}

static int write_file(struct zero_extract *x, int pfd, const char *base, const struct zero_tar_entry *e,
                      const char *path, data_fn data, void *userdata, struct zero_error *err) {
        _cleanup_close_ int fd = -EBADF;
        uint64_t written = 0;
        int r;

        fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return fs_error(err, -errno, "create", path);
        for (;;) {
                ssize_t n = data(userdata, x->buf, sizeof(x->buf), err);
                if (n < 0)
                        return (int) n;
                if (n == 0)
                        break;
                x->bytes += (uint64_t) n;
                written += (uint64_t) n;
                if (x->opts.max_bytes && x->bytes > x->opts.max_bytes)
                        return zero_error_set(err, -EFBIG, ZERO_E_INVALID,
                                              "the image's files are larger than the limit of %llu bytes ([images] "
                                              "image_max)",
                                              (unsigned long long) x->opts.max_bytes);
                r = zero_write_all(fd, x->buf, (size_t) n);
                if (r < 0)
                        return fs_error(err, r, "write", path);
        }
        x->disk += (written + DISK_BLOCK - 1) / DISK_BLOCK * DISK_BLOCK;
        return set_owner_mode_time(fd, e, file_mode(x, e->mode), path, err);
}

static int make_dir(struct zero_extract *x, int pfd, const char *base, const struct zero_tar_entry *e,
                    const char *path, struct zero_error *err) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (!path[0]) /* the root itself: "./" in an archive made with tar -C DIR . */
                return set_owner_mode_time(x->root_fd, e, e->mode & ~(uint32_t) S_ISUID, path, err);
        r = clear_name(pfd, base, true, path, err);
        if (r < 0)
                return r;
        if (r == 0 && mkdirat(pfd, base, 0700) < 0)
                return fs_error(err, -errno, "create the directory", path);
        fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return fs_error(err, -errno, "open the directory", path);
        x->disk += DISK_BLOCK;
        return set_owner_mode_time(fd, e, e->mode & ~(uint32_t) S_ISUID, path, err);
}

static int make_symlink(struct zero_extract *x, int pfd, const char *base, const struct zero_tar_entry *e,
                        const char *path, struct zero_error *err) {
        struct timespec ts[2] = {{.tv_sec = e->mtime}, {.tv_sec = e->mtime}};
        int r = clear_name(pfd, base, false, path, err);

        if (r < 0)
                return r;
        if (symlinkat(e->linkpath, pfd, base) < 0)
                return fs_error(err, -errno, "create the symlink", path);
        if (fchownat(pfd, base, (uid_t) e->uid, (gid_t) e->gid, AT_SYMLINK_NOFOLLOW) < 0)
                return fs_error(err, -errno, "set the owner of", path);
        if (utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
                return fs_error(err, -errno, "set the time of", path);
        x->disk += DISK_BLOCK;
        return 0;
}

/* A hard link names a file of the tree made before it; the link's own header says nothing more. */
static int make_hardlink(struct zero_extract *x, int pfd, const char *base, const struct zero_tar_entry *e,
                         const char *path, struct zero_error *err) {
        _cleanup_free_ char *target = NULL;
        _cleanup_close_ int tfd = -EBADF;
        const char *tbase;
        struct stat st;
        int r;

        r = normalize(e->linkpath, e->path, true, &target, err);
        if (r < 0)
                return r;
        r = open_parent(x, target, false, e->path, &tfd, err);
        if (r < 0)
                return r;
        tbase = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
        if (fstatat(tfd, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0 || S_ISDIR(st.st_mode))
                return refuse(err, e->path, "is a hard link to a file the image does not have before it");
        r = clear_name(pfd, base, false, path, err);
        if (r < 0)
                return r;
        if (linkat(tfd, tbase, pfd, base, 0) < 0)
                return fs_error(err, -errno, "create the hard link", path);
        return 0;
}

static int extract_entry(struct zero_extract *x, const struct zero_tar_entry *e, data_fn data, void *userdata,
                         struct zero_error *err) {
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int pfd = -EBADF;
        const char *base;
        int r;

        if (++x->entries > ZERO_EXTRACT_ENTRIES_MAX)
                return zero_error_set(err, -EFBIG, ZERO_E_INVALID, "the image has more than %d entries",
                                      ZERO_EXTRACT_ENTRIES_MAX);
        r = zero_extract_check(e, &path, err);
        if (r < 0)
                return r;
        if (path[0]) {
                r = open_parent(x, path, true, e->path, &pfd, err);
                if (r < 0)
                        return r;
        }
        base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        switch (e->type) {
        case ZERO_TAR_FILE:
                r = clear_name(pfd, base, false, path, err);
                return r < 0 ? r : write_file(x, pfd, base, e, path, data, userdata, err);
        case ZERO_TAR_DIR:
                return make_dir(x, pfd, base, e, path, err);
        case ZERO_TAR_SYMLINK:
                return make_symlink(x, pfd, base, e, path, err);
        case ZERO_TAR_HARDLINK:
                return make_hardlink(x, pfd, base, e, path, err);
        default:
                return refuse(err, e->path, "has an unsupported type"); /* zero_extract_check said so */
        }
}

static ssize_t tar_data(void *userdata, void *buf, size_t len, struct zero_error *err) {
        return zero_tar_read(userdata, buf, len, err);
}

int zero_extract_tar(struct zero_extract *x, struct zero_tar *t, struct zero_error *err) {
        const struct zero_tar_entry *e;
        int r;

        while ((r = zero_tar_next(t, &e, err)) > 0) {
                r = extract_entry(x, e, tar_data, t, err);
                if (r < 0)
                        return r;
        }
        return r;
}

/* --- a host directory, walked --- */

struct file_source {
        int fd;
        const char *path;
};

static int source_error(struct zero_error *err, int r, const char *path) {
        char b[256];
        return zero_error_set(err, r, ZERO_E_INVALID, "cannot read '%s' of the source: %s", shown(path, b),
                              strerror(-r));
}

static ssize_t file_data(void *userdata, void *buf, size_t len, struct zero_error *err) {
        struct file_source *s = userdata;
        ssize_t n;

        while ((n = read(s->fd, buf, len)) < 0 && errno == EINTR)
                ;
        return n < 0 ? source_error(err, -errno, s->path) : n;
}

static int walk(struct zero_extract *x, int dfd, const char *rel, dev_t dev, struct zero_error *err);

static int walk_one(struct zero_extract *x, int dfd, const char *name, const char *path, dev_t dev,
                    struct zero_error *err) {
        struct zero_tar_entry e = {.path = (char *) path};
        _cleanup_free_ char *target = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        const char *first = NULL;
        int r;

        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return source_error(err, -errno, path);
        e.mode = st.st_mode & 07777;
        e.uid = st.st_uid;
        e.gid = st.st_gid;
        e.mtime = st.st_mtim.tv_sec;
        switch (st.st_mode & S_IFMT) {
        case S_IFREG:
                if (st.st_nlink > 1 && (r = zero_hardlink_first(&x->links, st.st_dev, st.st_ino, path, &first)) < 0)
                        return r;
                if (first) {
                        e.type = ZERO_TAR_HARDLINK;
                        e.linkpath = (char *) first;
                        return extract_entry(x, &e, NULL, NULL, err);
                }
                fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
                if (fd < 0)
                        return source_error(err, -errno, path);
                e.type = ZERO_TAR_FILE;
                return extract_entry(x, &e, file_data, &(struct file_source){fd, path}, err);
        case S_IFDIR:
                /* the image being made, should the source hold the state directory */
                if (st.st_dev == x->root_st.st_dev && st.st_ino == x->root_st.st_ino)
                        return 0;
                e.type = ZERO_TAR_DIR;
                r = extract_entry(x, &e, NULL, NULL, err);
                if (r < 0 || st.st_dev != dev)
                        return r;
                fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return source_error(err, -errno, path);
                return walk(x, TAKE_FD(fd), path, dev, err);
        case S_IFLNK:
                target = calloc(1, ZERO_TAR_PATH_MAX);
                if (!target)
                        return -ENOMEM;
                if (readlinkat(dfd, name, target, ZERO_TAR_PATH_MAX - 1) < 0)
                        return source_error(err, -errno, path);
                e.type = ZERO_TAR_SYMLINK;
                e.linkpath = target;
                return extract_entry(x, &e, NULL, NULL, err);
        case S_IFCHR:
                e.type = ZERO_TAR_CHAR;
                break;
        case S_IFBLK:
                e.type = ZERO_TAR_BLOCK_DEV;
                break;
        case S_IFIFO:
                e.type = ZERO_TAR_FIFO;
                break;
        case S_IFSOCK:
                return refuse(err, path, "is a socket: " DEVICES_RULE);
        default:
                e.type = ZERO_TAR_OTHER;
        }
        return extract_entry(x, &e, NULL, NULL, err); /* refused */
}

static int walk(struct zero_extract *x, int dfd, const char *rel, dev_t dev, struct zero_error *err) {
        _cleanup_close_ _unused_ int owned = dfd; /* closed whatever the way out */
        int copy = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
        DIR *d = copy >= 0 ? fdopendir(copy) : NULL;
        struct dirent *de;
        int r = 0;

        if (!d) {
                r = -errno;
                safe_close(copy);
                return source_error(err, r, rel[0] ? rel : ".");
        }
        while (r >= 0 && (errno = 0, de = readdir(d))) {
                _cleanup_free_ char *path = NULL;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                path = rel[0] ? zero_strdup_printf("%s/%s", rel, de->d_name) : strdup(de->d_name);
                if (!path)
                        r = -ENOMEM;
                else if (strlen(path) >= ZERO_TAR_PATH_MAX)
                        r = refuse(err, path, "has a path longer than 4095 bytes");
                else
                        r = walk_one(x, dfd, de->d_name, path, dev, err);
        }
        if (r >= 0 && errno != 0)
                r = source_error(err, -errno, rel[0] ? rel : ".");
        closedir(d);
        return r;
}

int zero_extract_dir(struct zero_extract *x, int src_fd, struct zero_error *err) {
        struct zero_tar_entry root = {.type = ZERO_TAR_DIR, .path = (char *) "."};
        struct stat st;
        int fd, r;

        if (fstat(src_fd, &st) < 0)
                return -errno;
        root.mode = st.st_mode & 07777;
        root.uid = st.st_uid;
        root.gid = st.st_gid;
        root.mtime = st.st_mtim.tv_sec;
        r = extract_entry(x, &root, NULL, NULL, err);
        if (r < 0)
                return r;
        fd = fcntl(src_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return -errno;
        return walk(x, fd, "", st.st_dev, err);
}
