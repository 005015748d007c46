/* SPDX-License-Identifier: Apache-2.0 */
/* The tar stream of a directory tree (tar_write.h): a small state machine over fts_read(). */
#include "cli/tar_write.h"

#include <fcntl.h>
#include <fts.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/util.h"

#define BLOCK 512
#define NAME_FIELD 100

struct extra {
        char *name, *path;
};

struct zeroctl_tar {
        FTS *fts;
        size_t root_len;
        char *prefix; /* "rootfs/" or "./" */
        dev_t dev;
        struct extra extra[2];
        size_t n_extra, next_extra;
        void *links; /* files with several names (zero_hardlink_first) */

        char *pending; /* header bytes not handed out yet: pending[off..len) */
        size_t len, off, cap;
        int fd;        /* the current file's data ... */
        uint64_t left; /* ... still to come from it */
        uint64_t pad;  /* zeros after it */
        const char *what; /* its path, for messages */
        bool ended;
};

int zeroctl_tar_new(const char *dir, const char *prefix, struct zeroctl_tar **ret, struct zero_error *reterr) {
        _cleanup_free_ char *root = strdup(dir);
        struct zeroctl_tar *t;
        struct stat st;
        size_t n;

        if (!root)
                return -ENOMEM;
        n = strlen(root);
        while (n > 1 && root[n - 1] == '/')
                root[--n] = '\0';
        if (stat(root, &st) < 0 || !S_ISDIR(st.st_mode))
                return zero_error_set(reterr, -ENOTDIR, ZERO_E_USAGE, "%s is not a directory", dir);
        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->fd = -EBADF;
        t->dev = st.st_dev;
        t->root_len = n;
        t->prefix = prefix ? zero_strdup_printf("%s/", prefix) : strdup("./");
        t->fts = fts_open((char *const[]){root, NULL}, FTS_PHYSICAL | FTS_NOCHDIR | FTS_XDEV, NULL);
        if (!t->prefix || !t->fts) {
                int r = t->prefix ? -errno : -ENOMEM;
                zeroctl_tar_free(t);
                return zero_error_set(reterr, r, ZERO_E_INTERNAL, "cannot read %s: %s", dir, strerror(-r));
        }
        *ret = t;
        return 0;
}

int zeroctl_tar_add_file(struct zeroctl_tar *t, const char *name, const char *path, struct zero_error *reterr) {
        struct stat st;

        if (t->n_extra >= ELEMENTSOF(t->extra))
                return -E2BIG;
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
                return zero_error_set(reterr, -EINVAL, ZERO_E_USAGE, "%s is not a regular file", path);
        t->extra[t->n_extra] = (struct extra){strdup(name), strdup(path)};
        if (!t->extra[t->n_extra].name || !t->extra[t->n_extra].path)
                return -ENOMEM;
        t->n_extra++;
        return 0;
}

struct zeroctl_tar *zeroctl_tar_free(struct zeroctl_tar *t) {
        if (!t)
                return NULL;
        if (t->fts)
                fts_close(t->fts);
        for (size_t i = 0; i < t->n_extra; i++) {
                free(t->extra[i].name);
                free(t->extra[i].path);
        }
        zero_hardlink_map_free(t->links);
        safe_close(t->fd);
        free(t->prefix);
        free(t->pending);
        free(t);
        return NULL;
}

static int reserve(struct zeroctl_tar *t, size_t more) {
        if (t->len + more > t->cap) {
                size_t cap = (t->len + more) * 2;
                char *p = realloc(t->pending, cap);
                if (!p)
                        return -ENOMEM;
                t->pending = p;
                t->cap = cap;
        }
        return 0;
}

/* An octal field, or base-256 (GNU) when the value does not fit in w-1 octal digits. */
static void put_number(uint8_t *f, size_t w, uint64_t v) {
        if (w - 1 >= 22 || v < (UINT64_C(1) << (3 * (w - 1)))) {
                char tmp[32];
                snprintf(tmp, sizeof(tmp), "%0*llo", (int) w - 1, (unsigned long long) v);
                memcpy(f, tmp, w - 1);
                return;
        }
        memset(f, 0, w);
        f[0] = 0x80;
        for (size_t i = w - 1; i > 0 && v; i--, v >>= 8)
                f[i] = (uint8_t) v;
}

static int put_block(struct zeroctl_tar *t, char type, const char *name, mode_t mode, uid_t uid, gid_t gid,
                     uint64_t size, time_t mtime, const char *link) {
        uint8_t h[BLOCK] = {0};
        unsigned sum = 0;
        int r = reserve(t, BLOCK);

        if (r < 0)
                return r;
        memcpy(h, name, strnlen(name, NAME_FIELD));
        put_number(h + 100, 8, mode & 07777);
        put_number(h + 108, 8, uid);
        put_number(h + 116, 8, gid);
        put_number(h + 124, 12, size);
        put_number(h + 136, 12, mtime > 0 ? (uint64_t) mtime : 0);
        h[156] = (uint8_t) type;
        if (link)
                memcpy(h + 157, link, strnlen(link, NAME_FIELD));
        memcpy(h + 257, "ustar\0" "00", 8);
        memset(h + 148, ' ', 8);
        for (size_t i = 0; i < BLOCK; i++)
                sum += h[i];
        snprintf((char *) h + 148, 8, "%06o", sum);
        memcpy(t->pending + t->len, h, BLOCK);
        t->len += BLOCK;
        return 0;
}

/* A GNU long name ('L') or link target ('K'): a header, then the text with its NUL, padded. */
static int put_long(struct zeroctl_tar *t, char type, const char *text) {
        size_t n = strlen(text) + 1, padded = (n + BLOCK - 1) / BLOCK * BLOCK;
        int r = put_block(t, type, "././@LongLink", 0644, 0, 0, n, 0, NULL);

        if (r >= 0)
                r = reserve(t, padded);
        if (r < 0)
                return r;
        memset(t->pending + t->len, 0, padded);
        memcpy(t->pending + t->len, text, n);
        t->len += padded;
        return 0;
}

static int put_entry(struct zeroctl_tar *t, char type, const char *name, const struct stat *st, uint64_t size,
                     const char *link) {
        int r = 0;

        if (strlen(name) > NAME_FIELD)
                r = put_long(t, 'L', name);
        if (r >= 0 && link && strlen(link) > NAME_FIELD)
                r = put_long(t, 'K', link);
        return r < 0 ? r : put_block(t, type, name, st->st_mode, st->st_uid, st->st_gid, size, st->st_mtime, link);
}

/* The data of a regular file comes next: size bytes from fd, then zeros to the block. */
static void start_data(struct zeroctl_tar *t, int fd, uint64_t size, const char *what) {
        t->fd = fd;
        t->left = size;
        t->pad = (BLOCK - size % BLOCK) % BLOCK;
        t->what = what;
}

static int file_entry(struct zeroctl_tar *t, const char *name, const char *path, const struct stat *st,
                      struct zero_error *reterr) {
        int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC), r;

        if (fd < 0)
                return zero_error_set(reterr, -errno, ZERO_E_INTERNAL, "cannot read %s: %m", path);
        r = put_entry(t, '0', name, st, (uint64_t) st->st_size, NULL);
        if (r < 0) {
                safe_close(fd);
                return r;
        }
        start_data(t, fd, (uint64_t) st->st_size, path);
        return 0;
}

static int tree_entry(struct zeroctl_tar *t, FTSENT *e, struct zero_error *reterr) {
        const char *rel = e->fts_path + t->root_len;
        _cleanup_free_ char *name = NULL;
        char target[PATH_MAX];
        const char *first;
        ssize_t n;
        int r;

        while (*rel == '/')
                rel++;
        name = zero_strdup_printf("%s%s%s", t->prefix, rel, e->fts_info == FTS_D && *rel ? "/" : "");
        if (!name)
                return -ENOMEM;
        switch (e->fts_info) {
        case FTS_D:
                return put_entry(t, '5', name, e->fts_statp, 0, NULL);
        case FTS_F:
                /* a file seen before under another name is a hard link to that name */
                first = NULL;
                r = e->fts_statp->st_nlink > 1
                            ? zero_hardlink_first(&t->links, e->fts_statp->st_dev, e->fts_statp->st_ino, name, &first)
                            : 0;
                if (r < 0)
                        return r;
                if (first)
                        return put_entry(t, '1', name, e->fts_statp, 0, first);
                return file_entry(t, name, e->fts_accpath, e->fts_statp, reterr);
        case FTS_SL:
        case FTS_SLNONE:
                n = readlink(e->fts_accpath, target, sizeof(target) - 1);
                if (n < 0)
                        return zero_error_set(reterr, -errno, ZERO_E_INTERNAL, "cannot read the symlink %s: %m", e->fts_path);
                target[n] = '\0';
                return put_entry(t, '2', name, e->fts_statp, 0, target);
        case FTS_DEFAULT:
                return zero_error_set(reterr, -EPERM, ZERO_E_INTERNAL, "%s is %s: images may not hold device nodes, FIFOs or sockets",
                                      e->fts_path,
                                      S_ISCHR(e->fts_statp->st_mode)   ? "a character device"
                                      : S_ISBLK(e->fts_statp->st_mode) ? "a block device"
                                      : S_ISFIFO(e->fts_statp->st_mode) ? "a FIFO"
                                                                        : "a socket");
        default: /* FTS_DNR, FTS_ERR, FTS_NS: unreadable */
                return zero_error_set(reterr, -e->fts_errno, ZERO_E_INTERNAL, "cannot read %s: %s", e->fts_path,
                                      strerror(e->fts_errno));
        }
}

/* Fills pending with what comes next: the next entry's headers, or the end-of-archive blocks. */
static int next(struct zeroctl_tar *t, struct zero_error *reterr) {
        FTSENT *e;
        struct stat st;
        int r;

        t->len = t->off = 0;
        while (t->fts && (errno = 0, e = fts_read(t->fts))) {
                if (e->fts_info == FTS_DP) /* a directory again, after its entries */
                        continue;
                return tree_entry(t, e, reterr);
        }
        if (t->fts && errno != 0)
                return zero_error_set(reterr, -errno, ZERO_E_INTERNAL, "cannot read the tree: %m");
        if (t->next_extra < t->n_extra) {
                const struct extra *x = &t->extra[t->next_extra++];
                if (stat(x->path, &st) < 0)
                        return zero_error_set(reterr, -errno, ZERO_E_INTERNAL, "cannot read %s: %m", x->path);
                st.st_mode = (st.st_mode & ~(mode_t) 07777) | 0644;
                st.st_uid = st.st_gid = 0;
                return file_entry(t, x->name, x->path, &st, reterr);
        }
        r = reserve(t, 2 * BLOCK);
        if (r < 0)
                return r;
        memset(t->pending, 0, 2 * BLOCK);
        t->len = 2 * BLOCK;
        t->ended = true;
        return 0;
}

ssize_t zeroctl_tar_read(struct zeroctl_tar *t, void *buf, size_t len, struct zero_error *reterr) {
        ssize_t n;
        int r;

        for (;;) {
                if (t->off < t->len) {
                        n = (ssize_t) (len < t->len - t->off ? len : t->len - t->off);
                        memcpy(buf, t->pending + t->off, (size_t) n);
                        t->off += (size_t) n;
                        return n;
                }
                if (t->left > 0) {
                        n = read(t->fd, buf, len < t->left ? len : (size_t) t->left);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0)
                                return zero_error_set(reterr, n < 0 ? -errno : -EIO, ZERO_E_INTERNAL,
                                                      "cannot read %s: %s", t->what,
                                                      n < 0 ? strerror(errno) : "it became shorter while being sent");
                        t->left -= (uint64_t) n;
                        return n;
                }
                t->fd = safe_close(t->fd);
                if (t->pad > 0) {
                        n = (ssize_t) (len < t->pad ? len : t->pad);
                        memset(buf, 0, (size_t) n);
                        t->pad -= (uint64_t) n;
                        return n;
                }
                if (t->ended)
                        return 0;
                r = next(t, reterr);
                if (r < 0)
                        return r;
        }
}
