/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A volume's source image (card.h: the image's root filesystem, a raw ext4 file of zerod's on the
 * host) is the card's to clone, so it must be on the card: it is named there by the SHA-256 of
 * its bytes, uploaded the first time a volume is made from it, and found there every time after
 * (by this host, after a reboot, or by another host with the same image). The hash is a child's
 * (sha256sum: hundreds of MiB take seconds, which zerod's loop does not wait for), kept for the
 * driver's life by the file's identity (device, inode, size, mtime: an image never changes, and
 * a new one under the same name is another file), and on the file itself, in its extended
 * attribute user.zero.sha256 ("HEX SIZE SEC.NSEC" of its mtime), so that the zerod of the next
 * boot does not hash it again: after each bms take-back the host boots anew, and the hash of the
 * 90 MiB busybox image was 10 s of every hand-over's volumes step under TCG (docs/benchmarks.md,
 * "bms"). The attribute is believed only while the file's size and mtime are those it names.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "common/subprocess.h"
#include "common/util.h"
#include "io/lab/lab.h"

#define HASH_TIMEOUT_USEC (300ULL * 1000000ULL)
#define UPLOAD_TIMEOUT_USEC (600ULL * 1000000ULL)
#define HASH_XATTR "user.zero.sha256"

struct lab_source {
        dev_t dev;
        ino_t ino;
        off_t size;
        struct timespec mtime;
        char sha256[65];
        struct lab_source *next;
};

void lab_sources_free(struct zero_card *card) {
        while (card->sources) {
                struct lab_source *s = card->sources;
                card->sources = s->next;
                free(s);
        }
}

static struct lab_source *source_find(struct zero_card *card, const struct stat *st) {
        for (struct lab_source *s = card->sources; s; s = s->next)
                if (s->dev == st->st_dev && s->ino == st->st_ino && s->size == st->st_size &&
                    s->mtime.tv_sec == st->st_mtim.tv_sec && s->mtime.tv_nsec == st->st_mtim.tv_nsec)
                        return s;
        return NULL;
}

/* The hash kept on the file (HASH_XATTR) for a file of st's size and mtime: 0 and ret filled, or
 * -ENOENT (none, or one of another size or mtime). */
static int xattr_get(const char *path, const struct stat *st, char ret[65]) {
        char v[128], hex[65];
        long long size, sec, nsec;
        ssize_t n = getxattr(path, HASH_XATTR, v, sizeof(v) - 1);

        if (n <= 0)
                return -ENOENT;
        v[n] = '\0';
        if (sscanf(v, "%64s %lld %lld.%lld", hex, &size, &sec, &nsec) != 4 || strlen(hex) != 64 ||
            strspn(hex, "0123456789abcdef") != 64 || size != (long long) st->st_size ||
            sec != (long long) st->st_mtim.tv_sec || nsec != (long long) st->st_mtim.tv_nsec)
                return -ENOENT;
        memcpy(ret, hex, 65);
        return 0;
}

static void xattr_set(const char *path, const struct stat *st, const char *sha256) {
        char v[128];
        int n = snprintf(v, sizeof(v), "%s %lld %lld.%09ld", sha256, (long long) st->st_size,
                         (long long) st->st_mtim.tv_sec, st->st_mtim.tv_nsec);

        /* Best effort: without it (a file system without user xattrs) the next boot hashes the
         * file again. */
        if (n > 0 && (size_t) n < sizeof(v))
                (void) setxattr(path, HASH_XATTR, v, (size_t) n, 0);
}

static void remember(struct zero_card *card, const struct stat *st, const char *sha256) {
        struct lab_source *s = calloc(1, sizeof(*s));

        if (!s)
                return;
        *s = (struct lab_source){
                .dev = st->st_dev, .ino = st->st_ino, .size = st->st_size, .mtime = st->st_mtim, .next = card->sources};
        memcpy(s->sha256, sha256, sizeof(s->sha256));
        card->sources = s;
}

static void on_hashed(void *userdata, int status, const char *output) {
        struct lab_op *op = userdata;
        struct zero_error err = {};
        struct stat st;

        op->child = NULL;
        if (status != 0 || strlen(output) < 64 || strspn(output, "0123456789abcdef") < 64) {
                zero_error_set(&err, -EIO, ZERO_E_RUNTIME, "cannot hash the source image %s: %s", op->source,
                               status == -ETIMEDOUT ? "timed out" : output);
                return lab_op_next(op, -EIO, &err);
        }
        snprintf(op->sha256, sizeof(op->sha256), "%.64s", output);
        if (stat(op->source, &st) >= 0) {
                remember(op->card, &st, op->sha256);
                xattr_set(op->source, &st, op->sha256);
        }
        lab_op_next(op, 0, NULL);
}

int lab_source_hash(struct lab_op *op) {
        char *const argv[] = {(char *) "sha256sum", op->source, NULL};
        struct lab_source *s;
        struct stat st;
        int r;

        if (!op->source[0])
                return 1; /* a blank volume */
        if (stat(op->source, &st) < 0)
                return zero_error_set(&op->err, -errno, ZERO_E_INVALID, "the source image %s: %m", op->source);
        s = source_find(op->card, &st);
        if (s) {
                memcpy(op->sha256, s->sha256, sizeof(op->sha256));
                return 1;
        }
        if (xattr_get(op->source, &st, op->sha256) >= 0) {
                remember(op->card, &st, op->sha256);
                return 1;
        }
        r = zero_subprocess_start(op->card->event, argv, on_hashed, op, &op->child);
        if (r >= 0)
                r = zero_subprocess_set_timeout(op->child, HASH_TIMEOUT_USEC);
        if (r < 0)
                return zero_error_set(&op->err, r, ZERO_E_INTERNAL, "cannot hash the source image: %s", strerror(-r));
        return 0;
}

static void on_image(void *userdata, int r, long status, json_t *body, const struct zero_error *err) {
        struct lab_op *op = userdata;

        op->req = NULL;
        op->need_upload = r == -ENOENT;
        lab_op_next(op, op->need_upload ? 0 : r, err);
}

int lab_source_check(struct lab_op *op) {
        _cleanup_free_ char *path = zero_strdup_printf("/v1/images/%s", op->sha256);
        int r;

        if (!op->source[0])
                return 1;
        if (!path)
                return -ENOMEM;
        r = lab_client_request(op->card->client, "GET", path, NULL, NULL, 0, on_image, op, &op->req);
        return r < 0 ? zero_error_set(&op->err, r, ZERO_E_INTERNAL, "cannot ask the card: %s", strerror(-r)) : 0;
}

static void on_uploaded(void *userdata, int r, long status, json_t *body, const struct zero_error *err) {
        struct lab_op *op = userdata;

        op->req = NULL;
        lab_op_next(op, r, err);
}

int lab_source_upload(struct lab_op *op) {
        _cleanup_free_ char *path = zero_strdup_printf("/v1/images/%s", op->sha256);
        int r;

        if (!op->source[0] || !op->need_upload)
                return 1;
        if (!path)
                return -ENOMEM;
        r = lab_client_request(op->card->client, "PUT", path, NULL, op->source, UPLOAD_TIMEOUT_USEC, on_uploaded, op,
                               &op->req);
        return r < 0 ? zero_error_set(&op->err, r, ZERO_E_INTERNAL, "cannot upload %s: %s", op->source, strerror(-r))
                     : 0;
}
