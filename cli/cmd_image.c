/* SPDX-License-Identifier: Apache-2.0 */
/* zeroctl image import | list | show | rm */
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>

#include "cli/output.h"
#include "cli/zeroctl.h"
#include "common/util.h"

/* zerod resolves paths itself, from its own working directory: a local path must be absolute.
 * Anything that is not a local path (yet) goes as it is. */
static int set_path(json_t *body, const char *key, const char *path, struct zero_error *reterr) {
        _cleanup_free_ char *abs = realpath(path, NULL);

        if (json_object_set_new(body, key, json_string(abs ? abs : path)) < 0)
                return zeroctl_usage_error(reterr, "%s must be valid UTF-8", key);
        return 0;
}

int zeroctl_parse_image_import(int argc, char **argv, json_t **ret_body,
                               struct zero_error *reterr) {
        enum { OPT_KERNEL = 0x100, OPT_INITRD };
        static const struct option options[] = {
                {"kernel", required_argument, NULL, OPT_KERNEL},
                {"initrd", required_argument, NULL, OPT_INITRD},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        json_auto_t *body = json_object();
        const char *kernel = NULL, *initrd = NULL;
        int c, r;

        if (!body)
                return -ENOMEM;
        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":h", options, NULL)) >= 0) {
                switch (c) {
                case OPT_KERNEL:
                        kernel = optarg;
                        break;
                case OPT_INITRD:
                        initrd = optarg;
                        break;
                case 'h':
                        return ZEROCTL_HELP;
                default:
                        return zeroctl_getopt_error(c, argv, reterr);
                }
        }
        if (argc - optind < 2)
                return zeroctl_usage_error(reterr, argc - optind < 1 ? "missing image name" : "missing SOURCE");
        if (argc - optind > 2)
                return zeroctl_usage_error(reterr, "unexpected argument '%s'", argv[optind + 2]);
        if (json_object_set_new(body, "name", json_string(argv[optind])) < 0)
                return zeroctl_usage_error(reterr, "NAME and SOURCE must be valid UTF-8");
        if ((r = set_path(body, "source", argv[optind + 1], reterr)) < 0 ||
            (kernel && (r = set_path(body, "kernel", kernel, reterr)) < 0) ||
            (initrd && (r = set_path(body, "initrd", initrd, reterr)) < 0))
                return r;
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
