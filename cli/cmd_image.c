/* SPDX-License-Identifier: Apache-2.0 */
/* zeroctl image import | list | show | rm */
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/operation.h"
#include "cli/output.h"
#include "cli/tar_write.h"
#include "cli/zeroctl.h"
#include "common/util.h"

int zeroctl_parse_image_import(int argc, char **argv, struct zeroctl_image_import *ret, struct zero_error *reterr) {
        enum { OPT_KERNEL = 0x100, OPT_INITRD, OPT_NODE_PATH, OPT_KEEP_SETUID };
        static const struct option options[] = {
                {"kernel", required_argument, NULL, OPT_KERNEL},
                {"initrd", required_argument, NULL, OPT_INITRD},
                {"node-path", no_argument, NULL, OPT_NODE_PATH},
                {"keep-setuid", no_argument, NULL, OPT_KEEP_SETUID},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        struct zeroctl_image_import o = {};
        int c;

        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":h", options, NULL)) >= 0) {
                switch (c) {
                case OPT_KERNEL:
                        o.kernel = optarg;
                        break;
                case OPT_INITRD:
                        o.initrd = optarg;
                        break;
                case OPT_NODE_PATH:
                        o.node_path = true;
                        break;
                case OPT_KEEP_SETUID:
                        o.keep_setuid = true;
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
        if (o.initrd && !o.kernel)
                return zeroctl_usage_error(reterr, "--initrd needs --kernel");
        o.name = argv[optind];
        o.source = argv[optind + 1];
        *ret = o;
        return 0;
}

/* A path on the node as zerod wants it: absolute, made so against our working directory (the
 * node resolves symlinks itself, below its import_dirs). */
static int node_path(json_t *body, const char *key, const char *path, struct zero_error *reterr) {
        _cleanup_free_ char *abs = NULL;
        char cwd[PATH_MAX];

        if (!path)
                return 0;
        if (path[0] != '/') {
                if (!getcwd(cwd, sizeof(cwd)))
                        return zero_error_set(reterr, -errno, ZERO_E_INTERNAL, "cannot make %s absolute: %m", path);
                abs = zero_strdup_printf("%s/%s", cwd, path);
                if (!abs)
                        return -ENOMEM;
        }
        if (json_object_set_new(body, key, json_string(abs ? abs : path)) < 0)
                return zeroctl_usage_error(reterr, "%s must be valid UTF-8", key);
        return 0;
}

int zeroctl_image_import_json(const struct zeroctl_image_import *o, json_t **ret, struct zero_error *reterr) {
        json_auto_t *body = json_pack("{s:b}", "keep_setuid", o->keep_setuid);
        int r;

        if (!body)
                return -ENOMEM;
        if (json_object_set_new(body, "name", json_string(o->name)) < 0)
                return zeroctl_usage_error(reterr, "NAME must be valid UTF-8");
        if ((r = node_path(body, "source", o->source, reterr)) < 0 || (r = node_path(body, "kernel", o->kernel, reterr)) < 0 ||
            (r = node_path(body, "initrd", o->initrd, reterr)) < 0)
                return r;
        *ret = TAKE_PTR(body);
        return 0;
}

static ssize_t read_tar(void *userdata, void *buf, size_t len, struct zero_error *reterr) {
        return zeroctl_tar_read(userdata, buf, len, reterr);
}

static ssize_t read_fd(void *userdata, void *buf, size_t len, struct zero_error *reterr) {
        ssize_t n;

        while ((n = read(*(int *) userdata, buf, len)) < 0 && errno == EINTR)
                ;
        return n < 0 ? zero_error_set(reterr, -errno, ZERO_E_INTERNAL, "cannot read the archive: %m") : n;
}

/* The media type of an archive, from its first bytes (zerod looks at them the same way). */
static const char *archive_type(int fd) {
        unsigned char m[6] = {0};

        if (pread(fd, m, sizeof(m), 0) < 0)
                return "application/x-tar";
        if (m[0] == 0x1f && m[1] == 0x8b)
                return "application/gzip";
        if (memcmp(m, "\xfd" "7zXZ\0", 6) == 0)
                return "application/x-xz";
        return "application/x-tar";
}

/* SOURCE from here: a directory goes as a tar made while it is sent (with --kernel, in the image
 * layout: rootfs/, vmlinuz, initrd.img); an archive goes as it is. */
static int upload(struct zeroctl *z, const struct zeroctl_image_import *o, json_t **ret_op, char **ret_location,
                  struct zero_error *reterr) {
        _cleanup_free_ char *name = zeroctl_path_escape(o->name), *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct zeroctl_tar *t = NULL;
        struct stat st;
        int r;

        if (!name)
                return -ENOMEM;
        path = zero_strdup_printf("/v1/images?name=%s%s", name, o->keep_setuid ? "&keep_setuid=true" : "");
        if (!path)
                return -ENOMEM;
        if (stat(o->source, &st) < 0)
                return zero_error_set(reterr, -errno, ZERO_E_USAGE, "%s: %m", o->source);
        if (S_ISREG(st.st_mode)) {
                if (o->kernel)
                        return zeroctl_usage_error(reterr, "--kernel goes with a directory; an archive holds rootfs/, "
                                                           "vmlinuz and initrd.img itself");
                fd = open(o->source, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        return zero_error_set(reterr, -errno, ZERO_E_INTERNAL, "cannot read %s: %m", o->source);
                return zeroctl_http_upload(z->http, path, archive_type(fd), (int64_t) st.st_size, read_fd, &fd, ret_op,
                                           ret_location, reterr);
        }
        r = zeroctl_tar_new(o->source, o->kernel ? "rootfs" : NULL, &t, reterr);
        if (r >= 0 && o->kernel)
                r = zeroctl_tar_add_file(t, "vmlinuz", o->kernel, reterr);
        if (r >= 0 && o->initrd)
                r = zeroctl_tar_add_file(t, "initrd.img", o->initrd, reterr);
        if (r >= 0)
                r = zeroctl_http_upload(z->http, path, "application/x-tar", -1, read_tar, t, ret_op, ret_location,
                                        reterr);
        zeroctl_tar_free(t);
        return r;
}

int zeroctl_cmd_image_import(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr) {
        struct zeroctl_image_import o;
        json_auto_t *body = NULL, *op = NULL, *final = NULL, *image = NULL;
        _cleanup_free_ char *location = NULL, *size = NULL, *escaped = NULL, *get = NULL;
        json_t *bytes;
        int r;

        r = zeroctl_parse_image_import(argc, argv, &o, reterr);
        if (r != 0)
                return r;
        if (o.node_path) {
                r = zeroctl_image_import_json(&o, &body, reterr);
                if (r >= 0)
                        r = zeroctl_http_call(z->http, "POST", "/v1/images", body, 0, &op, &location, reterr);
        } else
                r = upload(z, &o, &op, &location, reterr);
        if (r < 0)
                return r;
        r = zeroctl_operation_wait(z, op, location, z->opts.timeout_s, &final, reterr);
        if (r < 0) {
                if (z->opts.json && final)
                        (void) zeroctl_print_json(z->out, final);
                return r;
        }
        escaped = zeroctl_path_escape(o.name);
        get = escaped ? zero_strdup_printf("/v1/images/%s", escaped) : NULL;
        if (!get)
                return -ENOMEM;
        r = zeroctl_http_call(z->http, "GET", get, NULL, 0, &image, NULL, reterr);
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
        fprintf(z->out, "imported image %s%s%s%s\n", o.name, size ? " (" : "", strempty(size), size ? ")" : "");
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
