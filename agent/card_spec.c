/* SPDX-License-Identifier: Apache-2.0 */
/* Validation of volume and network create bodies (card_spec.h). */
#include "agent/card_spec.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/stat.h>

#include "agent/image.h"
#include "common/text.h"
#include "common/util.h"

#define NAME_REQUIRED "name: a string of 1-63 of [a-z0-9-], starting with a letter or digit, is required"

int zero_json_only_fields(json_t *body, const char *const *known, struct zero_error *err) {
        const char *key;
        json_t *v;

        if (!json_is_object(body))
                return zero_error_set(err, -EINVAL, ZERO_E_MALFORMED, "a JSON object body is required");
        json_object_foreach(body, key, v) {
                bool ok = false;
                for (const char *const *k = known; *k; k++)
                        ok = ok || streq(key, *k);
                if (!ok)
                        return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "unknown field '%s'", ZERO_QUOTE(key));
        }
        return 0;
}

int zero_json_int_field(json_t *body, const char *key, int64_t min, int64_t max, int64_t *ret,
                        struct zero_error *err) {
        json_t *v = json_object_get(body, key);

        if (!v)
                return 0;
        if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "%s: an integer in %lld..%lld is expected", key,
                                      (long long) min, (long long) max);
        *ret = json_integer_value(v);
        return 1;
}

/* --- volumes --- */

int zero_volume_spec_parse(json_t *body, struct zero_volume_spec *ret, struct zero_error *err) {
        static const char *const known[] = {"name", "size_bytes", "image", NULL};
        struct zero_volume_spec spec = {};
        int r;

        if ((r = zero_json_only_fields(body, known, err)) < 0)
                return r;
        spec.name = json_string_value(json_object_get(body, "name"));
        spec.image = json_string_value(json_object_get(body, "image"));
        if (!spec.name || !zero_name_is_valid(spec.name))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, NAME_REQUIRED);
        if (json_object_get(body, "image") && !spec.image)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "image: an image name is expected");
        r = zero_json_int_field(body, "size_bytes", ZERO_VOLUME_SIZE_MIN, ZERO_VOLUME_SIZE_MAX, &spec.size_bytes, err);
        if (r < 0)
                return r;
        if (!spec.image && r == 0)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "size_bytes is required for a blank volume");
        *ret = spec;
        return 0;
}

int zero_volume_spec_check(struct zero_agent *a, struct zero_volume_spec *spec, struct zero_error *err) {
        struct zero_volume_row other = {};
        struct zero_image_row image = {};

        if (spec->image) {
                struct stat st;

                if (zero_store_image_get(a->store, spec->image, &image) < 0)
                        return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "image '%s' does not exist", ZERO_QUOTE(spec->image));
                _cleanup_free_ char *base = zero_strdup_printf("%s/%s", image.path, ZERO_IMAGE_BASE_FILE);
                zero_image_row_done(&image);
                if (!base || stat(base, &st) < 0)
                        return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "image '%s' has no base filesystem",
                                              spec->image);
                if (spec->size_bytes == 0)
                        spec->size_bytes = st.st_size;
                if (spec->size_bytes < st.st_size)
                        return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "size_bytes: at least the image's %lld bytes",
                                              (long long) st.st_size);
        }
        if (zero_store_volume_get(a->store, spec->name, &other) >= 0) {
                zero_volume_row_done(&other);
                return zero_error_set(err, -EEXIST, ZERO_E_CONFLICT, "a volume named '%s' exists already", spec->name);
        }
        return 0;
}

/* --- networks --- */

int zero_network_spec_parse(json_t *body, struct zero_network_spec *ret, struct zero_error *err) {
        static const char *const known[] = {"name", "subnet", NULL};
        struct zero_network_spec spec = {};
        int r;

        if ((r = zero_json_only_fields(body, known, err)) < 0)
                return r;
        spec.name = json_string_value(json_object_get(body, "name"));
        spec.subnet = json_string_value(json_object_get(body, "subnet"));
        if (!spec.name || !zero_name_is_valid(spec.name))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, NAME_REQUIRED);
        if (!spec.subnet || zero_ipv4_net_parse(spec.subnet, &spec.sub) < 0 || spec.sub.prefixlen < 8 ||
            spec.sub.prefixlen > 29 || zero_ipv4_net_gateway(&spec.sub, &spec.gateway) < 0)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID,
                                      "subnet: an IPv4 network from /8 to /29 with its host bits zero is required, "
                                      "e.g. 10.77.0.0/24");
        if (zero_ipv4_net_reserved(&spec.sub))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "subnet: %s overlaps %s, which no network may use",
                                      spec.subnet, zero_ipv4_net_reserved(&spec.sub));
        *ret = spec;
        return 0;
}

int zero_network_spec_check(struct zero_agent *a, const struct zero_network_spec *spec, struct zero_error *err) {
        struct zero_network_row *rows = NULL, row = {};
        size_t n = 0;
        int r;

        if (zero_store_network_get(a->store, spec->name, &row) >= 0) {
                zero_network_row_done(&row);
                return zero_error_set(err, -EEXIST, ZERO_E_CONFLICT, "a network named '%s' exists already", spec->name);
        }
        r = zero_store_network_list(a->store, &rows, &n);
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_UNAVAILABLE, "cannot list networks: %s", strerror(-r));
        for (size_t i = 0; r >= 0 && i < n; i++) {
                struct zero_ipv4_net other;
                if (zero_ipv4_net_parse(rows[i].subnet, &other) >= 0 && zero_ipv4_net_overlaps(&spec->sub, &other))
                        r = zero_error_set(err, -EEXIST, ZERO_E_CONFLICT, "subnet overlaps network '%s' (%s)",
                                           rows[i].name, rows[i].subnet);
        }
        zero_network_rows_free(rows, n);
        return r;
}
