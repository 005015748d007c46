/* SPDX-License-Identifier: Apache-2.0 */
/* zeroctl image import | list | show | rm */
#include <limits.h>
#include <stdlib.h>

#include "cli/output.h"
#include "cli/zeroctl.h"
#include "common/util.h"

int zeroctl_parse_image_import(int argc, char **argv, json_t **ret_body,
                               struct zero_error *reterr) {
        _cleanup_free_ char *abs = NULL;
        json_auto_t *body = NULL;
        const char *words[2], *source;
        int r;

        r = zeroctl_parse_words(argc, argv, 2, words, reterr);
        if (r != 0)
                return r;
        /* zerod resolves SOURCE itself, from its own working directory: a local path must be
         * absolute. Anything that is not a local path (yet) goes as it is. */
        source = words[1];
        abs = realpath(source, NULL);
        if (abs)
                source = abs;
        body = json_object();
        if (!body)
                return -ENOMEM;
        if (json_object_set_new(body, "name", json_string(words[0])) < 0 ||
            json_object_set_new(body, "source", json_string(source)) < 0)
                return zeroctl_usage_error(reterr, "NAME and SOURCE must be valid UTF-8");
        *ret_body = TAKE_PTR(body);
        return 0;
}

int zeroctl_cmd_image_import(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr) {
        json_auto_t *body = NULL;
        json_auto_t *image = NULL;
        _cleanup_free_ char *size = NULL;
        json_t *bytes;
        int r;

        r = zeroctl_parse_image_import(argc, argv, &body, reterr);
        if (r != 0)
                return r;
        /* Synchronous: the answer comes once the rootfs is copied, within --timeout. */
        r = zeroctl_http_call(z->http, "POST", "/v1/images", body, 0, &image, NULL, reterr);
        if (r < 0)
                return r;
        if (z->opts.json)
                return zeroctl_print_json(z->out, image);
        bytes = json_object_get(image, "size_bytes");
        if (json_is_integer(bytes) && json_integer_value(bytes) >= 0) {
                size = zeroctl_format_bytes((uint64_t) json_integer_value(bytes));
                if (!size)
                        return -ENOMEM;
        }
        fprintf(z->out, "imported image %s%s%s%s\n",
                strempty(json_string_value(json_object_get(body, "name"))), size ? " (" : "",
                strempty(size), size ? ")" : "");
        return 0;
}

int zeroctl_cmd_image_list(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr) {
        return zeroctl_list_collection(z, argc, argv, "images", "image", zeroctl_print_images,
                                       reterr);
}

int zeroctl_cmd_image_show(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr) {
        return zeroctl_show_named(z, argc, argv, "images", reterr);
}

int zeroctl_cmd_image_rm(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr) {
        return zeroctl_delete_named(z, argc, argv, "images", "image", reterr);
}
