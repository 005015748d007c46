/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Images on the card: what volumes are cloned from (card.h's source: an image's root filesystem, a
 * raw ext4 file). zerod keeps its images on the host; the host's card driver uploads one to the
 * card the first time a volume is made from it, named by the SHA-256 of its bytes, so a second
 * clone (or a second host with the same image) uploads nothing. PUT /v1/images/SHA256 streams the
 * body to STATE/images/.upload-*, hashing it as it comes; a body whose hash is not its name is
 * refused (422) and removed; one that is becomes STATE/images/SHA256.raw once flushed (fsync and
 * rename in a child: a flush of hundreds of MiB takes seconds, which the loop does not wait for)
 * and is recorded. An image is never changed and, while volumes may be clones of it (copy-on-write,
 * qcow2 backing files), never removed.
 */
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "card/card.h"
#include "card/store.h"
#include "common/log.h"
#include "common/subprocess.h"
#include "common/util.h"

#define IMAGE_SIZE_MAX (64ULL << 30)
#define COMMIT_TIMEOUT_USEC (120ULL * 1000000ULL)

struct upload {
        struct zc *zc;
        char sha256[65];
        char tmp[512], final[512];
        int fd;
        gnutls_hash_hd_t hash;
        uint64_t bytes;
        bool taken; /* the commit owns the file now */
};

static bool is_sha256(const char *s) {
        return s && strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

json_t *zc_image_json(const char *sha256, json_t *rec) {
        return json_pack("{s:s,s:I}", "sha256", sha256, "size_bytes",
                         json_integer_value(json_object_get(rec, "size_bytes")));
}

static void upload_free(void *state) {
        struct upload *u = state;

        safe_close(u->fd);
        if (u->hash)
                gnutls_hash_deinit(u->hash, NULL);
        if (!u->taken && u->tmp[0])
                (void) unlink(u->tmp);
        free(u);
}

static int upload_begin(struct zero_request *req, void **ret) {
        struct zc *zc = zc_request_card(req);
        const char *id = zero_request_param(req, 0);
        const char *len = zero_request_header(req, "Content-Length");
        int64_t n;
        struct upload *u;

        if (!is_sha256(id)) {
                zero_reply_error(req, 422, "invalid", "an image is named by its SHA-256: 64 lowercase hex digits");
                return -EINVAL;
        }
        if (len && (zero_parse_int64(len, 0, INT64_MAX, &n) < 0 || (uint64_t) n > IMAGE_SIZE_MAX)) {
                zero_reply_error(req, 413, "too_large", "an image is at most %llu bytes", IMAGE_SIZE_MAX);
                return -EFBIG;
        }
        if (zc_store_get(zc->store, "images", id)) {
                zero_reply_json(req, 200, zc_image_json(id, zc_store_get(zc->store, "images", id)));
                return -EEXIST;
        }
        u = calloc(1, sizeof(*u));
        if (!u) {
                zero_reply_error(req, 500, "internal", "out of memory");
                return -ENOMEM;
        }
        u->zc = zc;
        u->fd = -EBADF;
        snprintf(u->sha256, sizeof(u->sha256), "%s", id);
        snprintf(u->tmp, sizeof(u->tmp), "%s/.upload-%.16s-XXXXXX", zc->images_dir, id);
        snprintf(u->final, sizeof(u->final), "%s/%s.raw", zc->images_dir, id);
        u->fd = mkostemp(u->tmp, O_CLOEXEC);
        if (u->fd < 0 || gnutls_hash_init(&u->hash, GNUTLS_DIG_SHA256) < 0) {
                int r = -errno;
                if (u->fd < 0)
                        u->tmp[0] = '\0';
                zero_reply_error(req, 500, "internal", "cannot take the upload in %s: %s", zc->images_dir,
                                 strerror(-r ?: EIO));
                upload_free(u);
                return -EIO;
        }
        *ret = u;
        return 0;
}

static int upload_data(struct zero_request *req, void *state, const char *buf, size_t len) {
        struct upload *u = state;
        int r;

        if (u->bytes + len > IMAGE_SIZE_MAX) {
                zero_reply_error(req, 413, "too_large", "an image is at most %llu bytes", IMAGE_SIZE_MAX);
                return -EFBIG;
        }
        r = zero_write_all(u->fd, buf, len);
        if (r < 0) {
                zero_reply_error(req, 507, "insufficient_storage", "cannot write the upload: %s", strerror(-r));
                return r;
        }
        gnutls_hash(u->hash, buf, len);
        u->bytes += len;
        return 0;
}

const struct zero_upload_ops zc_image_upload = {.begin = upload_begin, .data = upload_data, .free = upload_free};

/* ---- the commit: flushed and renamed off the loop, then recorded ---- */

struct commit {
        struct zc *zc;
        struct zc_answer *answer;
        char sha256[65], tmp[512], final[512];
        uint64_t bytes;
        struct zero_subprocess *child;
};

static void commit_in_child(void *arg, struct zero_subprocess_result *res) {
        struct commit *c = arg;
        int fd = open(c->tmp, O_RDONLY | O_CLOEXEC);

        if (fd < 0 || fsync(fd) < 0 || rename(c->tmp, c->final) < 0) {
                res->r = zero_error_set(&res->err, -errno, ZERO_E_INTERNAL, "cannot keep the image: %m");
                return;
        }
        close(fd);
        res->r = 0;
}

static void commit_free(struct commit *c) {
        c->child = zero_subprocess_free(c->child);
        (void) unlink(c->tmp); /* gone when it was renamed */
        free(c);
}

static void on_commit(void *userdata, const struct zero_subprocess_result *res) {
        struct commit *c = userdata;
        struct zero_error err = res->err;
        json_auto_t *img = NULL;
        int r = res->r;

        c->child = NULL;
        if (r >= 0) {
                /* The directory's entry: flushed on the loop (one inode's metadata). */
                int fd = open(c->zc->images_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd >= 0) {
                        (void) fsync(fd);
                        close(fd);
                }
                r = zc_store_put(c->zc->store, "images", c->sha256,
                                 json_pack("{s:I}", "size_bytes", (json_int_t) c->bytes), &err);
        }
        if (r >= 0) {
                log_info("Image %s: %llu bytes", c->sha256, (unsigned long long) c->bytes);
                img = zc_image_json(c->sha256, zc_store_get(c->zc->store, "images", c->sha256));
        }
        zc_answer_done(c->answer, r, img, &err);
        commit_free(c);
}

void zc_api_put_image(struct zero_request *req) {
        struct upload *u = zero_request_upload(req);
        unsigned char digest[32];
        char hex[65];
        struct commit *c;
        int r;

        if (!u)
                return zero_reply_error(req, 400, "malformed", "PUT /v1/images/SHA256 takes the image as its body");
        gnutls_hash_output(u->hash, digest);
        for (size_t i = 0; i < sizeof(digest); i++)
                snprintf(hex + 2 * i, 3, "%02x", digest[i]);
        if (!streq(hex, u->sha256))
                return zero_reply_error(req, 422, "invalid", "the body's SHA-256 is %s, not %s: refused", hex,
                                        u->sha256);
        c = calloc(1, sizeof(*c));
        if (!c)
                return zero_reply_error(req, 500, "internal", "out of memory");
        *c = (struct commit){.zc = u->zc, .bytes = u->bytes};
        snprintf(c->sha256, sizeof(c->sha256), "%s", u->sha256);
        snprintf(c->tmp, sizeof(c->tmp), "%s", u->tmp);
        snprintf(c->final, sizeof(c->final), "%s", u->final);
        u->taken = true;
        u->fd = safe_close(u->fd);
        c->answer = zc_api_park(req, 201, false);
        if (!c->answer)
                return commit_free(c);
        r = zero_subprocess_call(c->zc->event, "the image's flush", commit_in_child, c, COMMIT_TIMEOUT_USEC, on_commit,
                                 c, &c->child);
        if (r < 0) {
                zc_answer_done(c->answer, r, NULL,
                               &(struct zero_error){.code = ZERO_E_INTERNAL, .message = "cannot keep the image now"});
                commit_free(c);
        }
}
