/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The tar reader (tar.h). One pass, one 512-byte block at a time: a header, or the blocks
 * that carry a pax header or a GNU long name for the header after it. Nothing is trusted: every
 * length is bounded before memory is allocated for it, every number is checked for overflow.
 */
#include "common/tar.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"

/* Offsets of the ustar header's fields. */
#define H_NAME 0
#define H_MODE 100
#define H_UID 108
#define H_GID 116
#define H_SIZE 124
#define H_MTIME 136
#define H_CHKSUM 148
#define H_TYPE 156
#define H_LINKNAME 157
#define H_MAGIC 257
#define H_DEVMAJOR 329
#define H_DEVMINOR 337
#define H_PREFIX 345

/* What pax headers say about an entry. A key is not mentioned, set, or deleted (an empty value:
 * in a per-entry header it hides the global value, and the header's own field counts). */
enum { PAX_NONE, PAX_SET, PAX_DELETED };
struct pax {
        uint8_t path_st, linkpath_st, size_st, uid_st, gid_st, mtime_st;
        char *path, *linkpath;
        uint64_t size, uid, gid;
        int64_t mtime;
};

struct zero_tar {
        zero_tar_read_fn read;
        void *userdata;
        const uint8_t *mem; /* zero_tar_new_buffer() */
        size_t mem_len, mem_off;

        uint64_t offset;    /* bytes consumed */
        uint64_t remaining; /* data of the current entry not read yet */
        uint64_t padding;   /* after it, to the next block */
        bool ended;

        struct pax global, local;
        char *long_name, *long_link;
        struct zero_tar_entry entry;
};

static void pax_done(struct pax *p) {
        free(p->path);
        free(p->linkpath);
        *p = (struct pax){};
}

static void entry_done(struct zero_tar *t) {
        free(t->entry.path);
        free(t->entry.linkpath);
        t->entry = (struct zero_tar_entry){};
}

static ssize_t mem_read(void *userdata, void *buf, size_t len) {
        struct zero_tar *t = userdata;
        size_t n = t->mem_len - t->mem_off;

        if (n > len)
                n = len;
        memcpy(buf, t->mem + t->mem_off, n);
        t->mem_off += n;
        return (ssize_t) n;
}

int zero_tar_new(zero_tar_read_fn read, void *userdata, struct zero_tar **ret) {
        struct zero_tar *t = calloc(1, sizeof(*t));

        if (!t)
                return -ENOMEM;
        t->read = read;
        t->userdata = userdata;
        *ret = t;
        return 0;
}

int zero_tar_new_buffer(const void *data, size_t len, struct zero_tar **ret) {
        int r = zero_tar_new(mem_read, NULL, ret);

        if (r < 0)
                return r;
        (*ret)->userdata = *ret;
        (*ret)->mem = data;
        (*ret)->mem_len = len;
        return 0;
}

struct zero_tar *zero_tar_free(struct zero_tar *t) {
        if (!t)
                return NULL;
        entry_done(t);
        pax_done(&t->global);
        pax_done(&t->local);
        free(t->long_name);
        free(t->long_link);
        free(t);
        return NULL;
}

uint64_t zero_tar_offset(const struct zero_tar *t) {
        return t->offset;
}

static int bad(struct zero_error *err, uint64_t offset, const char *what) {
        return zero_error_set(err, -EBADMSG, ZERO_E_INVALID, "not a valid tar archive: %s (at byte %llu)", what,
                              (unsigned long long) offset);
}

/* Reads exactly len bytes: 1, or 0 at a clean end of input (nothing read), -EBADMSG when it ends
 * in the middle. */
static int read_full(struct zero_tar *t, void *buf, size_t len, struct zero_error *err) {
        size_t got = 0;

        while (got < len) {
                ssize_t n = t->read(t->userdata, (uint8_t *) buf + got, len - got);
                if (n < 0)
                        return zero_error_set(err, (int) n, ZERO_E_INTERNAL, "cannot read the archive: %s",
                                              strerror((int) -n));
                if (n == 0)
                        break;
                got += (size_t) n;
        }
        t->offset += got;
        if (got == len)
                return 1;
        if (got == 0)
                return 0;
        return bad(err, t->offset, "truncated");
}

static int skip(struct zero_tar *t, uint64_t n, struct zero_error *err) {
        uint8_t sink[4096];

        while (n > 0) {
                size_t k = n > sizeof(sink) ? sizeof(sink) : (size_t) n;
                int r = read_full(t, sink, k, err);
                if (r == 0)
                        return bad(err, t->offset, "truncated");
                if (r < 0)
                        return r;
                n -= k;
        }
        return 0;
}

static uint64_t padding_of(uint64_t size) {
        return (ZERO_TAR_BLOCK - size % ZERO_TAR_BLOCK) % ZERO_TAR_BLOCK;
}

/* An octal field (leading blanks, digits, then a blank or NUL) or GNU base-256 (first byte
 * 0x80: big-endian binary; 0xff: negative, refused). An empty field is 0. */
static int parse_number(const uint8_t *f, size_t w, uint64_t *ret) {
        uint64_t v = 0;
        size_t i = 0;

        if (f[0] == 0x80) {
                for (i = 1; i < w; i++) {
                        if (v >> 56)
                                return -ERANGE;
                        v = v << 8 | f[i];
                }
                *ret = v;
                return 0;
        }
        if (f[0] & 0x80)
                return -ERANGE;
        while (i < w && f[i] == ' ')
                i++;
        for (; i < w && f[i] >= '0' && f[i] <= '7'; i++) {
                if (v >> 60)
                        return -ERANGE;
                v = v << 3 | (uint64_t) (f[i] - '0');
        }
        for (; i < w; i++)
                if (f[i] != ' ' && f[i] != '\0')
                        return -EINVAL;
        *ret = v;
        return 0;
}

static bool block_is_zero(const uint8_t *b) {
        for (size_t i = 0; i < ZERO_TAR_BLOCK; i++)
                if (b[i])
                        return false;
        return true;
}

/* The checksum is the sum of the header's bytes with its own field as blanks; some old tars
 * summed signed chars, so either sum is accepted. */
static bool checksum_ok(const uint8_t *h) {
        uint64_t want, u = 0;
        int64_t s = 0;

        if (parse_number(h + H_CHKSUM, 8, &want) < 0)
                return false;
        for (size_t i = 0; i < ZERO_TAR_BLOCK; i++) {
                uint8_t c = i >= H_CHKSUM && i < H_CHKSUM + 8 ? ' ' : h[i];
                u += c;
                s += (signed char) c;
        }
        return want == u || (int64_t) want == s;
}

/* Reads the n bytes of data of an extended header (pax or a GNU long name), then its padding. */
static int read_blob(struct zero_tar *t, uint64_t n, uint64_t max, uint64_t at, char **ret, struct zero_error *err) {
        _cleanup_free_ char *b = NULL;
        int r;

        if (n > max)
                return bad(err, at, "extended header too large");
        b = malloc((size_t) n + 1);
        if (!b)
                return -ENOMEM;
        r = read_full(t, b, (size_t) n, err);
        if (r == 0 && n > 0)
                return bad(err, t->offset, "truncated");
        if (r < 0)
                return r;
        b[n] = '\0';
        r = skip(t, padding_of(n), err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(b);
        return 0;
}

static int parse_u64(const char *s, size_t n, uint64_t *ret) {
        uint64_t v = 0;

        if (n == 0)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - 9) / 10)
                        return -EINVAL;
                v = v * 10 + (uint64_t) (s[i] - '0');
        }
        *ret = v;
        return 0;
}

static int pax_set_string(char **slot, uint8_t *st, const char *v, size_t n) {
        char *c = NULL;

        if (memchr(v, '\0', n))
                return -EINVAL;
        if (n && !(c = strndup(v, n)))
                return -ENOMEM;
        free(*slot);
        *slot = c;
        *st = n ? PAX_SET : PAX_DELETED;
        return 0;
}

static int pax_set_number(uint64_t *slot, uint8_t *st, const char *v, size_t n) {
        uint64_t u;

        if (n == 0) {
                *st = PAX_DELETED;
                return 0;
        }
        if (parse_u64(v, n, &u) < 0)
                return -EINVAL;
        *slot = u;
        *st = PAX_SET;
        return 0;
}

static int pax_record(struct pax *p, const char *key, size_t klen, const char *v, size_t n) {
        uint64_t u;

#define KEY(k) (klen == strlen(k) && memcmp(key, k, klen) == 0)
        if (KEY("path"))
                return pax_set_string(&p->path, &p->path_st, v, n);
        if (KEY("linkpath"))
                return pax_set_string(&p->linkpath, &p->linkpath_st, v, n);
        if (klen >= 11 && memcmp(key, "GNU.sparse.", 11) == 0)
                return -EOPNOTSUPP;
        if (KEY("size"))
                return pax_set_number(&p->size, &p->size_st, v, n);
        if (KEY("uid"))
                return pax_set_number(&p->uid, &p->uid_st, v, n);
        if (KEY("gid"))
                return pax_set_number(&p->gid, &p->gid_st, v, n);
        if (KEY("mtime")) {
                /* "1700000000.123456789": the seconds; a time before 1970 counts as 0. */
                const char *dot = memchr(v, '.', n);
                if (n > 0 && v[0] == '-') {
                        p->mtime = 0;
                        p->mtime_st = PAX_SET;
                        return 0;
                }
                if (pax_set_number(&u, &p->mtime_st, v, dot ? (size_t) (dot - v) : n) < 0 || u > INT64_MAX)
                        return -EINVAL;
                p->mtime = (int64_t) u;
                return 0;
        }
#undef KEY
        return 0; /* atime, uname, SCHILY.xattr.* (file capabilities are not taken), ... */
}

/* "LEN key=value\n" records, LEN counting the whole record. */
static int pax_parse(struct pax *p, const char *b, size_t n, uint64_t at, struct zero_error *err) {
        while (n > 0) {
                size_t digits = 0, len = 0, klen;
                const char *rec = b, *eq;
                int r;

                while (digits < n && b[digits] >= '0' && b[digits] <= '9') {
                        if (len > ZERO_TAR_PAX_MAX)
                                return bad(err, at, "bad pax record length");
                        len = len * 10 + (size_t) (b[digits] - '0');
                        digits++;
                }
                if (digits == 0 || digits >= n || b[digits] != ' ' || len <= digits + 1 || len > n ||
                    rec[len - 1] != '\n')
                        return bad(err, at, "bad pax record");
                eq = memchr(rec + digits + 1, '=', len - digits - 2);
                if (!eq)
                        return bad(err, at, "pax record without '='");
                klen = (size_t) (eq - (rec + digits + 1));
                r = pax_record(p, rec + digits + 1, klen, eq + 1, (size_t) (rec + len - 1 - (eq + 1)));
                if (r == -EOPNOTSUPP)
                        return zero_error_set(err, r, ZERO_E_INVALID,
                                              "sparse files are not supported (pax GNU.sparse at byte %llu)",
                                              (unsigned long long) at);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return bad(err, at, "bad pax value");
                b += len;
                n -= len;
        }
        return 0;
}

/* A GNU long name's data: the name, NUL-terminated inside its size. */
static int long_name(struct zero_tar *t, uint64_t size, uint64_t at, char **slot, struct zero_error *err) {
        char *s = NULL;
        int r = read_blob(t, size, ZERO_TAR_PATH_MAX, at, &s, err);

        if (r < 0)
                return r;
        free(*slot);
        *slot = s;
        return 0;
}

static int dup_path(char **slot, const char *s) {
        *slot = strdup(s);
        return *slot ? 0 : -ENOMEM;
}

/* The pax value of path (which 0) or linkpath (1), NULL when the header's field counts. */
static const char *pax_string(const struct pax *local, const struct pax *global, uint8_t lst, uint8_t gst, int which) {
        if (lst == PAX_SET)
                return which ? local->linkpath : local->path;
        if (lst == PAX_NONE && gst == PAX_SET)
                return which ? global->linkpath : global->path;
        return NULL;
}

/* Builds t->entry from the header and whatever extended headers came before it. */
static int make_entry(struct zero_tar *t, const uint8_t *h, uint64_t at, struct zero_error *err) {
        struct zero_tar_entry *e = &t->entry;
        bool posix = memcmp(h + H_MAGIC, "ustar\0", 6) == 0;
        char name[256 + 2];
        const char *p;
        uint64_t mode, v;
        size_t n;
        int r;

        e->offset = at;
        e->typeflag = (char) h[H_TYPE];
        if (parse_number(h + H_MODE, 8, &mode) < 0 || parse_number(h + H_UID, 8, &e->uid) < 0 ||
            parse_number(h + H_GID, 8, &e->gid) < 0 || parse_number(h + H_SIZE, 12, &e->size) < 0 ||
            parse_number(h + H_DEVMAJOR, 8, &v) < 0 || v > UINT32_MAX)
                return bad(err, at, "bad number in header");
        e->devmajor = (uint32_t) v;
        if (parse_number(h + H_DEVMINOR, 8, &v) < 0 || v > UINT32_MAX)
                return bad(err, at, "bad number in header");
        e->devminor = (uint32_t) v;
        e->mode = (uint32_t) (mode & 07777);
        r = parse_number(h + H_MTIME, 12, &v);
        e->mtime = r < 0 || v > INT64_MAX ? 0 : (int64_t) v; /* pre-1970 (negative) times count as 0 */

        /* The name: pax > GNU long name > ustar prefix/name. */
        if ((p = pax_string(&t->local, &t->global, t->local.path_st, t->global.path_st, 0)))
                r = dup_path(&e->path, p);
        else if (t->long_name)
                r = dup_path(&e->path, t->long_name);
        else {
                size_t pl = posix ? strnlen((const char *) h + H_PREFIX, 155) : 0;
                size_t nl = strnlen((const char *) h + H_NAME, 100);
                snprintf(name, sizeof(name), "%.*s%s%.*s", (int) pl, h + H_PREFIX, pl ? "/" : "", (int) nl, h + H_NAME);
                r = dup_path(&e->path, name);
        }
        if (r < 0)
                return r;
        n = strlen(e->path);
        if (n == 0)
                return bad(err, at, "entry without a name");
        if (n >= ZERO_TAR_PATH_MAX)
                return bad(err, at, "name too long");

        /* '1'..'6' are the enum's values in order (tar.h) */
        _Static_assert(ZERO_TAR_HARDLINK == 1 && ZERO_TAR_FIFO == 6, "enum zero_tar_type follows the typeflags");
        if (e->typeflag == '0' || e->typeflag == '\0' || e->typeflag == '7')
                e->type = e->path[n - 1] == '/' ? ZERO_TAR_DIR : ZERO_TAR_FILE;
        else if (e->typeflag >= '1' && e->typeflag <= '6')
                e->type = (enum zero_tar_type) (e->typeflag - '0');
        else if (e->typeflag == 'S')
                return zero_error_set(err, -EOPNOTSUPP, ZERO_E_INVALID,
                                      "sparse files are not supported (GNU 'S' entry at byte %llu)",
                                      (unsigned long long) at);
        else
                e->type = ZERO_TAR_OTHER;
        while (n > 1 && e->path[n - 1] == '/')
                e->path[--n] = '\0';

        if (e->type == ZERO_TAR_HARDLINK || e->type == ZERO_TAR_SYMLINK) {
                if ((p = pax_string(&t->local, &t->global, t->local.linkpath_st, t->global.linkpath_st, 1)))
                        r = dup_path(&e->linkpath, p);
                else if (t->long_link)
                        r = dup_path(&e->linkpath, t->long_link);
                else {
                        snprintf(name, sizeof(name), "%.*s", (int) strnlen((const char *) h + H_LINKNAME, 100),
                                 h + H_LINKNAME);
                        r = dup_path(&e->linkpath, name);
                }
                if (r < 0)
                        return r;
                if (!e->linkpath[0])
                        return bad(err, at, "link without a target");
                if (strlen(e->linkpath) >= ZERO_TAR_PATH_MAX)
                        return bad(err, at, "link target too long");
        }

#define PAX(field)                                                                                                     \
        (t->local.field##_st == PAX_SET                                        ? t->local.field                       \
         : t->local.field##_st == PAX_NONE && t->global.field##_st == PAX_SET ? t->global.field                      \
                                                                                : e->field)
        e->size = PAX(size);
        e->uid = PAX(uid);
        e->gid = PAX(gid);
        e->mtime = PAX(mtime);
#undef PAX
        /* Only these carry data; the size field of the others means nothing (as libarchive
         * reads it: a pax hard link may carry its file's data). */
        if (e->type != ZERO_TAR_FILE && e->type != ZERO_TAR_HARDLINK && e->type != ZERO_TAR_OTHER)
                e->size = 0;
        t->remaining = e->size;
        t->padding = padding_of(e->size);
        return 0;
}

int zero_tar_next(struct zero_tar *t, const struct zero_tar_entry **ret, struct zero_error *err) {
        uint8_t h[ZERO_TAR_BLOCK];
        uint64_t at = 0;
        bool extended = false; /* an extended header came: the entry's offset is its */
        int r;

        if (t->ended)
                return 0;
        r = skip(t, t->remaining + t->padding, err);
        if (r < 0)
                return r;
        t->remaining = t->padding = 0;
        entry_done(t);
        pax_done(&t->local);
        t->long_name = mfree(t->long_name);
        t->long_link = mfree(t->long_link);

        for (;;) {
                uint64_t here = t->offset, size;
                _cleanup_free_ char *blob = NULL;

                if (!extended)
                        at = here;
                r = read_full(t, h, sizeof(h), err);
                if (r < 0)
                        return r;
                if (r == 0)
                        return bad(err, here, "the archive ends without its end-of-archive block");
                if (block_is_zero(h)) {
                        if (extended)
                                return bad(err, here, "an extended header without its entry");
                        /* The second zero block is not waited for: an end is an end. */
                        t->ended = true;
                        return 0;
                }
                if (!checksum_ok(h))
                        return bad(err, here, "header checksum mismatch");
                if (parse_number(h + H_SIZE, 12, &size) < 0)
                        return bad(err, here, "bad size");
                switch (h[H_TYPE]) {
                case 'x':
                case 'g':
                        r = read_blob(t, size, ZERO_TAR_PAX_MAX, here, &blob, err);
                        if (r >= 0)
                                r = pax_parse(h[H_TYPE] == 'x' ? &t->local : &t->global, blob, (size_t) size, here, err);
                        break;
                case 'L':
                        r = long_name(t, size, here, &t->long_name, err);
                        break;
                case 'K':
                        r = long_name(t, size, here, &t->long_link, err);
                        break;
                default:
                        r = make_entry(t, h, at, err);
                        if (r < 0)
                                return r;
                        *ret = &t->entry;
                        return 1;
                }
                if (r < 0)
                        return r;
                /* A global header stands alone; the others belong to the next header. */
                extended = extended || h[H_TYPE] != 'g';
        }
}

ssize_t zero_tar_read(struct zero_tar *t, void *buf, size_t len, struct zero_error *err) {
        ssize_t n;

        if (t->remaining == 0 || len == 0)
                return 0;
        if (len > t->remaining)
                len = (size_t) t->remaining;
        n = t->read(t->userdata, buf, len);
        if (n < 0)
                return zero_error_set(err, (int) n, ZERO_E_INTERNAL, "cannot read the archive: %s", strerror((int) -n));
        if (n == 0)
                return bad(err, t->offset, "truncated in the data of an entry");
        t->offset += (uint64_t) n;
        t->remaining -= (uint64_t) n;
        return n;
}
