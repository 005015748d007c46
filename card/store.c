/* SPDX-License-Identifier: Apache-2.0 */
/* The card's store (store.h). */
#include "card/store.h"

#include <string.h>

#include "common/util.h"

#define STORE_FILE_MAX (16U * 1024U * 1024U)

static const char *const sections[] = {"volumes", "images", "networks", "nics", "presentations", "host"};

struct zc_store {
        char *path;
        json_t *root;
};

struct zc_store *zc_store_free(struct zc_store *s) {
        if (!s)
                return NULL;
        json_decref(s->root);
        free(s->path);
        free(s);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct zc_store *, zc_store_free)

static int save(struct zc_store *s, struct zero_error *err) {
        _cleanup_free_ char *text = json_dumps(s->root, JSON_INDENT(1) | JSON_SORT_KEYS);
        int r;

        if (!text)
                return zero_error_set(err, -ENOMEM, ZERO_E_INTERNAL, "cannot write the card's store: out of memory");
        r = zero_write_file_atomic(s->path, text, strlen(text), 0600);
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_INTERNAL, "cannot write the card's store %s: %s", s->path,
                                      strerror(-r));
        return 0;
}

int zc_store_open(const char *path, struct zc_store **ret, struct zero_error *err) {
        _cleanup_(zc_store_freep) struct zc_store *s = calloc(1, sizeof(*s));
        _cleanup_free_ char *text = NULL;
        json_error_t jerr;
        size_t len;
        json_int_t version;
        int r;

        if (!s || !(s->path = strdup(path)))
                return -ENOMEM;
        r = zero_read_file(path, STORE_FILE_MAX, &text, &len);
        if (r == -ENOENT)
                s->root = json_pack("{s:i}", "version", ZC_STORE_VERSION);
        else if (r < 0)
                return zero_error_set(err, r, ZERO_E_INTERNAL, "cannot read the card's store %s: %s", path,
                                      strerror(-r));
        else if (!(s->root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr)) || !json_is_object(s->root))
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL, "the card's store %s is not a JSON object: %s",
                                      path, s->root ? "" : jerr.text);
        if (!s->root)
                return -ENOMEM;
        version = json_integer_value(json_object_get(s->root, "version"));
        if (version < 1 || version > ZC_STORE_VERSION)
                return zero_error_set(err, -EPROTO, ZERO_E_INTERNAL,
                                      "the card's store %s has version %lld: this zero-card reads %d", path,
                                      (long long) version, ZC_STORE_VERSION);
        for (size_t i = 0; i < ELEMENTSOF(sections); i++)
                if (!json_is_object(json_object_get(s->root, sections[i])) &&
                    json_object_set_new(s->root, sections[i], json_object()) < 0)
                        return -ENOMEM;
        *ret = TAKE_PTR(s);
        return 0;
}

json_t *zc_store_section(struct zc_store *s, const char *section) {
        return json_object_get(s->root, section);
}

json_t *zc_store_get(struct zc_store *s, const char *section, const char *id) {
        return id ? json_object_get(zc_store_section(s, section), id) : NULL;
}

int zc_store_put(struct zc_store *s, const char *section, const char *id, json_t *rec, struct zero_error *err) {
        json_t *sec = zc_store_section(s, section);

        if (!sec || !rec || json_object_set_new(sec, id, rec) < 0)
                return zero_error_set(err, -ENOMEM, ZERO_E_INTERNAL, "cannot record %s %s", section, id);
        return save(s, err);
}

int zc_store_set(struct zc_store *s, const char *section, const char *id, const char *key, json_t *value,
                 struct zero_error *err) {
        json_t *rec = zc_store_get(s, section, id);

        if (!rec) {
                json_decref(value);
                return zero_error_set(err, -ENOENT, ZERO_E_NOT_FOUND, "no %s %s", section, id);
        }
        if (!value || json_object_set_new(rec, key, value) < 0)
                return zero_error_set(err, -ENOMEM, ZERO_E_INTERNAL, "cannot record %s %s", section, id);
        return save(s, err);
}

int zc_store_remove(struct zc_store *s, const char *section, const char *id, struct zero_error *err) {
        if (json_object_del(zc_store_section(s, section), id) < 0)
                return 0; /* gone already */
        return save(s, err);
}

json_t *zc_store_host(struct zc_store *s, const char *key) {
        return json_object_get(zc_store_section(s, "host"), key);
}

int zc_store_set_host(struct zc_store *s, const char *key, json_t *value, struct zero_error *err) {
        if (!value || json_object_set_new(zc_store_section(s, "host"), key, value) < 0)
                return zero_error_set(err, -ENOMEM, ZERO_E_INTERNAL, "cannot record the host's %s", key);
        return save(s, err);
}
