/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /v1/images. POST takes either JSON naming host paths (only below [images] import_dirs), or
 * the image itself as a tar body (?name=NAME), streamed to a file in the state directory as it
 * comes, never held in memory, bounded by [images] upload_max. Either way the import is an
 * operation (image_import.c): 202 with its Location; GET /v1/images/NAME finds the image once
 * the operation has succeeded.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/api.h"
#include "agent/image.h"
#include "agent/operation.h"
#include "common/log.h"
#include "common/text.h"
#include "common/util.h"

void zero_api_list_images(struct zero_request *req) {
        static const struct zero_api_page_rules rules = {};
        struct zero_agent *a = zero_request_agent(req);
        struct zero_image_row *rows = NULL;
        struct zero_api_page p;
        size_t n = 0;
        json_t *arr;
        int r;

        if (zero_api_page_params(req, &rules, &p) < 0)
                return;
        /* One more than the page: there is a next one when it comes. */
        r = zero_store_image_list_page(a->store, &(struct zero_store_page){.after = p.after, .limit = p.limit ? p.limit + 1 : 0},
                                       &rows, &n);
        if (r < 0)
                return zero_api_store_error(req, r, "listing images");
        bool more = p.limit && n > p.limit;
        arr = json_array();
        for (size_t i = 0; i < n && (!more || i < p.limit); i++)
                json_array_append_new(arr, zero_image_to_json(&rows[i]));
        zero_reply_json(req, 200, json_pack("{s:o,s:o}", "images", arr, "next",
                                            more ? json_string(rows[p.limit - 1].name) : json_null()));
        zero_api_link_next(req, "images", &p, more ? rows[p.limit - 1].name : NULL);
        zero_image_rows_free(rows, n);
}

void zero_api_get_image(struct zero_request *req) {
        struct zero_agent *a = zero_request_agent(req);
        struct zero_image_row row = {};
        int r = zero_store_image_get(a->store, zero_request_param(req, 0), &row);

        if (r == -ENOENT)
                return zero_reply_error(req, 404, "not_found", "no image named '%s'", ZERO_QUOTE(zero_request_param(req, 0)));
        if (r < 0)
                return zero_api_store_error(req, r, "reading image");
        zero_reply_json(req, 200, zero_image_to_json(&row));
        zero_image_row_done(&row);
}

void zero_api_delete_image(struct zero_request *req) {
        struct zero_agent *a = zero_request_agent(req);
        const char *name = zero_request_param(req, 0);
        struct zero_image_row row = {};
        int r, users;

        r = zero_store_image_get(a->store, name, &row);
        zero_image_row_done(&row);
        if (r == -ENOENT)
                return zero_reply_error(req, 404, "not_found", "no image named '%s'", ZERO_QUOTE(name));
        if (r < 0)
                return zero_api_store_error(req, r, "reading image");
        users = zero_store_image_users(a->store, name);
        if (users > 0)
                return zero_reply_error(req, 409, "in_use", "image '%s' is used by %d instance(s)", name, users);
        r = zero_store_image_delete(a->store, name);
        if (r == -ENOTEMPTY || r == -EBUSY)
                return zero_reply_error(req, 409, "in_use", "image '%s' is in use", name);
        if (r < 0)
                return zero_api_store_error(req, r, "deleting image");
        r = zero_image_remove_files(a, name);
        if (r < 0)
                log_warning_errno(r, "Image %s is deleted but its files could not be removed: %m", name);
        zero_reply_empty(req, 204);
}

/* What every import checks first, whatever its form: the name is free, the node has room
 * (counting the caller's own upload when it is one already). */
static int import_admissible(struct zero_request *req, const char *name, unsigned own) {
        struct zero_agent *a = zero_request_agent(req);
        struct zero_image_row row = {};
        struct zero_op *op;

        if (!name || !zero_name_is_valid(name)) {
                zero_reply_error(req, 422, "invalid",
                                 "name: a string of 1-63 of [a-z0-9-], starting with a letter or digit, is required");
                return -EINVAL;
        }
        if (zero_store_image_get(a->store, name, &row) >= 0) {
                zero_image_row_done(&row);
                zero_reply_error(req, 409, "conflict", "an image named '%s' exists already", name);
                return -EEXIST;
        }
        if ((op = zero_image_import_running(a, name))) {
                zero_reply_error(req, 409, "conflict", "image '%s' is being imported (operation %s)", name, op->row.id);
                return -EEXIST;
        }
        if (zero_image_imports(a) - own >= ZERO_IMAGE_IMPORTS_MAX) {
                zero_reply_error(req, 503, "busy", "at most %d imports run at once: retry when one has ended",
                                 ZERO_IMAGE_IMPORTS_MAX);
                return -EBUSY;
        }
        return 0;
}

static void launch_import(struct zero_request *req, const char *id, json_t *params, bool *ret_taken) {
        struct zero_agent *a = zero_request_agent(req);
        struct zero_error err = {};
        struct zero_op *op = NULL;
        int r = zero_op_new_detached(a, "import", id, params, &op);

        if (r < 0)
                return zero_reply_error(req, 500, "internal", "cannot create the operation: %s", strerror(-r));
        r = zero_op_commit_and_launch(a, zero_store_begin(a->store), op, NULL, NULL, NULL, &err);
        r = zero_api_reply_op(req, r, op, &err);
        if (ret_taken)
                *ret_taken = r >= 0;
}

/* "source", "kernel" or "initrd": the host path's import directory and the path below it. */
static int host_param(struct zero_request *req, json_t *params, json_t *body, const char *what) {
        _cleanup_free_ char *dir = NULL, *rel = NULL, *full = NULL;
        const char *path = json_string_value(json_object_get(body, what));
        struct zero_error err = {};
        struct stat st;
        char k[32];
        int r;

        if (!path)
                return 0;
        r = zero_image_host_path(zero_request_agent(req), what, path, &dir, &rel, &err);
        if (r < 0) {
                zero_reply_zero_error(req, r, &err);
                return r;
        }
        /* The obvious mistakes answered at once; zero-unpack checks again what it opens. */
        full = zero_strdup_printf("%s/%s", dir, rel);
        if (!full || stat(full, &st) < 0) {
                zero_reply_error(req, 422, "invalid", "%s %s: %s", what, path, strerror(full ? errno : ENOMEM));
                return -EINVAL;
        }
        if (streq(what, "source") ? !S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)
                                  : !S_ISREG(st.st_mode) || st.st_size == 0) {
                zero_reply_error(req, 422, "invalid", "%s %s is not %s", what, path,
                                 streq(what, "source") ? "a directory or an archive" : "a non-empty regular file");
                return -EINVAL;
        }
        snprintf(k, sizeof(k), "%s_dir", what);
        json_object_set_new(params, k, json_string(dir));
        snprintf(k, sizeof(k), "%s_path", what);
        json_object_set_new(params, k, json_string(rel));
        return 0;
}

/* {"name", "source", "kernel", "initrd", "keep_setuid"}: an import of host paths. */
static void post_image_paths(struct zero_request *req, json_t *body) {
        json_auto_t *params = json_object();
        const char *name, *source, *key;
        json_t *v;

        json_object_foreach(body, key, v) {
                bool text = streq(key, "name") || streq(key, "source") || streq(key, "kernel") || streq(key, "initrd");
                if (!text && !streq(key, "keep_setuid"))
                        return zero_reply_error(req, 422, "invalid", "unknown field '%s'", ZERO_QUOTE(key));
                if (text ? !json_is_string(v) : !json_is_boolean(v))
                        return zero_reply_error(req, 422, "invalid", "%s: a %s is expected", key,
                                                text ? "string" : "boolean");
        }
        name = json_string_value(json_object_get(body, "name"));
        source = json_string_value(json_object_get(body, "source"));
        if (import_admissible(req, name, 0) < 0)
                return;
        if (!source)
                return zero_reply_error(req, 422, "invalid", "source: a path on the node is required");
        if (json_object_get(body, "initrd") && !json_object_get(body, "kernel"))
                return zero_reply_error(req, 422, "invalid", "an initrd needs a kernel");
        if (host_param(req, params, body, "source") < 0 || host_param(req, params, body, "kernel") < 0 ||
            host_param(req, params, body, "initrd") < 0)
                return;
        json_object_set_new(params, "name", json_string(name));
        json_object_set_new(params, "source", json_string(source));
        json_object_set_new(params, "keep_setuid", json_boolean(json_is_true(json_object_get(body, "keep_setuid"))));
        launch_import(req, NULL, TAKE_PTR(params), NULL);
}

/* --- uploads --- */

/* A body over the limit is read on, and dropped, for up to this much more, so that the client
 * gets its 413 once it has sent what it had (RFC 9112 9.6); past it the connection is closed. */
#define UPLOAD_DRAIN_MAX (64u << 20)

struct upload {
        struct zero_agent *agent;
        char id[33];  /* of the operation it becomes, and of its work directory */
        char *work, *file;
        int fd;
        uint64_t bytes;   /* of the body so far */
        char *name;
        bool keep_setuid;
        bool too_large; /* over upload_max: the rest is dropped, the answer is 413 */
        bool taken;     /* the operation owns the work directory now */
};

static void upload_free(void *state) {
        struct upload *u = state;

        safe_close(u->fd);
        if (!u->taken && u->work)
                zero_image_remove_later(u->agent, u->work);
        u->agent->uploads--;
        free(u->work);
        free(u->file);
        free(u->name);
        free(u);
}

static bool media_type_is(const char *value, const char *const *types) {
        size_t n = value ? strcspn(value, "; ") : 0;

        for (; value && *types; types++)
                if (n == strlen(*types) && strncasecmp(value, *types, n) == 0)
                        return true;
        return false;
}

static int bool_query(struct zero_request *req, const char *key, bool *ret) {
        const char *q = zero_request_query(req, key);

        if (!q)
                return 0;
        if (streq(q, "true") || streq(q, "1") || streq(q, "false") || streq(q, "0")) {
                *ret = streq(q, "true") || streq(q, "1");
                return 0;
        }
        zero_reply_error(req, 422, "invalid", "%s: expected true or false", key);
        return -EINVAL;
}

/* Everything is decided from the headers: the type, the name, the size when it is announced. */
static int upload_begin(struct zero_request *req, void **ret) {
        static const char *const archives[] = {"application/x-tar", "application/gzip", "application/x-gzip",
                                               "application/x-xz", NULL};
        static const char *const encodings[] = {"identity", "gzip", "x-gzip", NULL};
        struct zero_agent *a = zero_request_agent(req);
        const char *ctype = zero_request_header(req, "Content-Type");
        const char *cenc = zero_request_header(req, "Content-Encoding");
        const char *len = zero_request_header(req, "Content-Length");
        const char *name = zero_request_query(req, "name");
        struct upload *u;
        bool keep_setuid = false;
        int64_t n = 0;
        int r;

        if (!media_type_is(ctype, archives)) {
                zero_reply_error(req, 415, "unsupported_media_type",
                                 "an image upload is application/x-tar, application/gzip, application/x-gzip or "
                                 "application/x-xz (host paths are application/json), not %s",
                                 ctype ? ZERO_QUOTE(ctype) : "(none)");
                return -EPROTONOSUPPORT;
        }
        if (cenc && !media_type_is(cenc, encodings)) {
                zero_reply_error(req, 415, "unsupported_media_type",
                                 "Content-Encoding %s: an image upload may only be gzip'd", ZERO_QUOTE(cenc));
                return -EPROTONOSUPPORT;
        }
        if (import_admissible(req, name, 0) < 0 || bool_query(req, "keep_setuid", &keep_setuid) < 0)
                return -EINVAL;
        if (len && zero_parse_int64(len, 0, INT64_MAX, &n) >= 0 && (uint64_t) n > a->config->upload_max) {
                zero_reply_error(req, 413, "too_large",
                                 "an image upload of %lld bytes is over the limit of %llu bytes ([images] upload_max)",
                                 (long long) n, (unsigned long long) a->config->upload_max);
                return -EFBIG;
        }
        u = calloc(1, sizeof(*u));
        if (!u) {
                zero_reply_error(req, 500, "internal", "out of memory");
                return -ENOMEM;
        }
        a->uploads++;
        *u = (struct upload){.agent = a, .fd = -EBADF, .keep_setuid = keep_setuid};
        r = zero_random_id(u->id);
        if (r >= 0) {
                u->work = zero_image_work_dir(a, u->id);
                u->file = u->work ? zero_strdup_printf("%s/upload", u->work) : NULL;
                u->name = strdup(name);
                r = u->work && u->file && u->name ? zero_mkdir_p(u->work, 0700) : -ENOMEM;
        }
        if (r >= 0 && (u->fd = open(u->file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
                r = -errno;
        if (r < 0) {
                zero_reply_error(req, 500, "internal", "cannot store the upload: %s", strerror(-r));
                upload_free(u);
                return r;
        }
        log_info("Receiving image %s (%s%s%s, %s bytes)", name, ctype, cenc ? ", " : "", strempty(cenc),
                 len ? len : "unknown");
        *ret = u;
        return 0;
}

static void reply_too_large(struct zero_request *req, uint64_t max) {
        zero_reply_error(req, 413, "too_large", "the image upload is over the limit of %llu bytes ([images] upload_max)",
                         (unsigned long long) max);
}

/* Each chunk goes to the file as it comes: a write to the page cache, not a wait on the disk. */
static int upload_data(struct zero_request *req, void *state, const char *buf, size_t len) {
        struct upload *u = state;
        uint64_t max = u->agent->config->upload_max;
        int r;

        u->bytes += len;
        if (u->bytes > max && !u->too_large) {
                u->too_large = true;
                (void) ftruncate(u->fd, 0); /* its space back at once */
                log_info("Image upload %s is over %llu bytes: dropping the rest", u->name, (unsigned long long) max);
        }
        if (u->too_large) {
                if (u->bytes - max <= UPLOAD_DRAIN_MAX)
                        return 0;
                reply_too_large(req, max);
                return -EFBIG;
        }
        r = zero_write_all(u->fd, buf, len);
        if (r < 0) {
                zero_reply_error(req, r == -ENOSPC ? 507 : 500, r == -ENOSPC ? "insufficient_storage" : "internal",
                                 "cannot store the upload: %s", strerror(-r));
                return r;
        }
        return 0;
}

const struct zero_upload_ops zero_api_image_upload = {
        .begin = upload_begin,
        .data = upload_data,
        .free = upload_free,
};

/* The whole body is in: the operation takes the file. */
static void post_image_upload(struct zero_request *req, struct upload *u) {
        json_t *params;

        u->fd = safe_close(u->fd);
        if (u->too_large)
                return reply_too_large(req, u->agent->config->upload_max);
        if (import_admissible(req, u->name, 1) < 0) /* anything changed while the body came */
                return;
        params = json_pack("{s:s,s:s,s:s,s:b}", "name", u->name, "source", "upload", "archive", u->file, "keep_setuid",
                           u->keep_setuid);
        log_info("Received image %s: %llu bytes", u->name, (unsigned long long) u->bytes);
        launch_import(req, u->id, params, &u->taken);
}

void zero_api_post_image(struct zero_request *req) {
        struct upload *u = zero_request_upload(req);
        json_t *body = zero_request_body(req);

        if (u)
                return post_image_upload(req, u);
        if (!body)
                return zero_reply_error(req, 400, "malformed",
                                        "a JSON body (host paths) or an image archive (?name=NAME, an upload) is required");
        post_image_paths(req, body);
}
