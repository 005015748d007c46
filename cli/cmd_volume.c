/* SPDX-License-Identifier: Apache-2.0 */
/* zeroctl volume create | list | show | rm | resize | qos */
#include <getopt.h>
#include <inttypes.h>
#include <string.h>

#include "cli/operation.h"
#include "cli/output.h"
#include "cli/zeroctl.h"
#include "common/util.h"

static int parse_size(const char *what, const char *s, int64_t *ret, struct zero_error *reterr) {
        if (zeroctl_parse_size_bytes(s, ret) < 0)
                return zeroctl_usage_error(reterr,
                                           "%s wants bytes or a size such as 512M, 10G, 1T "
                                           "(1024-based), not '%s'",
                                           what, s);
        return 0;
}

static int set_integer(json_t *o, const char *key, int64_t v) {
        return json_object_set_new(o, key, json_integer((json_int_t) v)) < 0 ? -ENOMEM : 0;
}

/* "NAME (10.0GiB)" from the volume zerod answered with, for the one line a verb prints. */
static void print_volume_line(struct zeroctl *z, const char *verb, const char *name,
                              const json_t *volume) {
        json_t *bytes = json_object_get(volume, "size_bytes");
        _cleanup_free_ char *size = json_is_integer(bytes) && json_integer_value(bytes) >= 0
                                            ? zeroctl_format_bytes(
                                                      (uint64_t) json_integer_value(bytes))
                                            : NULL;

        fprintf(z->out, "%s volume %s%s%s%s\n", verb, name, size ? " (" : "", strempty(size),
                size ? ")" : "");
}

int zeroctl_parse_volume_create(int argc, char **argv, json_t **ret_body,
                                struct zero_error *reterr) {
        enum { OPT_SIZE = 0x100, OPT_IMAGE };
        static const struct option options[] = {
                {"size", required_argument, NULL, OPT_SIZE},
                {"image", required_argument, NULL, OPT_IMAGE},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        json_auto_t *body = json_object();
        const char *image = NULL;
        int64_t size = -1;
        int c, r;

        if (!body)
                return -ENOMEM;
        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":h", options, NULL)) >= 0) {
                switch (c) {
                case OPT_SIZE:
                        r = parse_size("--size", optarg, &size, reterr);
                        if (r < 0)
                                return r;
                        break;
                case OPT_IMAGE:
                        image = optarg;
                        break;
                case 'h':
                        return ZEROCTL_HELP;
                default:
                        return zeroctl_getopt_error(c, argv, reterr);
                }
        }
        if (optind >= argc)
                return zeroctl_usage_error(reterr, "missing volume name");
        if (argc - optind > 1)
                return zeroctl_usage_error(reterr, "unexpected argument '%s'", argv[optind + 1]);
        /* A blank volume without --size, or a size below the image's, is zerod's to refuse. */
        r = zeroctl_json_set_string(body, "name", argv[optind], "the name", reterr);
        if (r < 0)
                return r;
        if (size >= 0 && (r = set_integer(body, "size_bytes", size)) < 0)
                return r;
        if (image && (r = zeroctl_json_set_string(body, "image", image, "--image", reterr)) < 0)
                return r;
        *ret_body = TAKE_PTR(body);
        return 0;
}

int zeroctl_parse_volume_resize(int argc, char **argv, const char **ret_name, json_t **ret_body,
                                struct zero_error *reterr) {
        json_auto_t *body = NULL;
        const char *words[2];
        int64_t size;
        int r;

        r = zeroctl_parse_words(argc, argv, 2, words, reterr);
        if (r != 0)
                return r;
        r = parse_size("SIZE", words[1], &size, reterr);
        if (r < 0)
                return r;
        body = json_pack("{sI}", "size_bytes", (json_int_t) size);
        if (!body)
                return -ENOMEM;
        *ret_name = words[0];
        *ret_body = TAKE_PTR(body);
        return 0;
}

int zeroctl_parse_volume_qos(int argc, char **argv, const char **ret_name, json_t **ret_body,
                             struct zero_error *reterr) {
        enum { OPT_IOPS = 0x100, OPT_BPS };
        static const struct option options[] = {
                {"iops", required_argument, NULL, OPT_IOPS},
                {"bps", required_argument, NULL, OPT_BPS},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        json_auto_t *body = json_object();
        int64_t iops = -1, bps = -1;
        int c, r;

        if (!body)
                return -ENOMEM;
        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":h", options, NULL)) >= 0) {
                switch (c) {
                case OPT_IOPS:
                        r = zeroctl_parse_uint("--iops", optarg, 0, INT64_MAX, &iops, reterr);
                        if (r < 0)
                                return r;
                        break;
                case OPT_BPS:
                        r = parse_size("--bps", optarg, &bps, reterr);
                        if (r < 0)
                                return r;
                        break;
                case 'h':
                        return ZEROCTL_HELP;
                default:
                        return zeroctl_getopt_error(c, argv, reterr);
                }
        }
        if (optind >= argc)
                return zeroctl_usage_error(reterr, "missing volume name");
        if (argc - optind > 1)
                return zeroctl_usage_error(reterr, "unexpected argument '%s'", argv[optind + 1]);
        /* An empty PUT would change nothing: most likely a forgotten option. */
        if (iops < 0 && bps < 0)
                return zeroctl_usage_error(reterr, "missing --iops or --bps (0 = unlimited)");
        /* A limit left out stays as it is in zerod. */
        if (iops >= 0 && (r = set_integer(body, "iops", iops)) < 0)
                return r;
        if (bps >= 0 && (r = set_integer(body, "bps", bps)) < 0)
                return r;
        *ret_name = argv[optind];
        *ret_body = TAKE_PTR(body);
        return 0;
}

/*
 * zerod answers a volume's create and delete with an operation (202 and a Location): the card's
 * work on a large volume takes seconds. Waits for it like the instance verbs (--timeout; 0 does
 * not wait). A zerod that answers at once (201 with the volume, 204) is taken as it is.
 * *ret_op is the answer, or the operation as it ended.
 */
static int volume_request(struct zeroctl *z, const char *method, const char *path, const json_t *body,
                          const char *verb, const char *name, json_t **ret_answer, bool *ret_waited,
                          struct zero_error *reterr) {
        json_auto_t *answer = NULL;
        json_t *final = NULL;
        _cleanup_free_ char *location = NULL;
        int r;

        *ret_waited = false;
        r = zeroctl_http_call(z->http, method, path, body, 0, &answer, &location, reterr);
        if (r < 0)
                return r;
        if (!location) {
                *ret_answer = TAKE_PTR(answer);
                return 0;
        }
        if (z->opts.timeout_s == 0) {
                if (z->opts.json)
                        (void) zeroctl_print_json(z->out, answer);
                else
                        fprintf(z->out, "%s volume %s accepted (operation %s)\n", verb, name,
                                strempty(json_string_value(json_object_get(answer, "id"))));
                return 1;
        }
        r = zeroctl_operation_wait(z, answer, location, z->opts.timeout_s, &final, reterr);
        if (r < 0 && z->opts.json && final)
                (void) zeroctl_print_json(z->out, final); /* its error.code, for a script */
        json_decref(final);
        *ret_waited = true;
        return r;
}

int zeroctl_cmd_volume_create(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr) {
        json_auto_t *body = NULL;
        json_auto_t *volume = NULL;
        _cleanup_free_ char *path = NULL;
        const char *name;
        bool waited;
        int r;

        r = zeroctl_parse_volume_create(argc, argv, &body, reterr);
        if (r != 0)
                return r;
        name = json_string_value(json_object_get(body, "name"));
        r = volume_request(z, "POST", "/v1/volumes", body, "create", name, &volume, &waited, reterr);
        if (r != 0)
                return r < 0 ? r : 0;
        if (waited) {
                /* Made: what it is now (its state, its size) is the answer. */
                path = zeroctl_object_path("volumes", name, NULL);
                if (!path)
                        return -ENOMEM;
                r = zeroctl_http_call(z->http, "GET", path, NULL, 0, &volume, NULL, reterr);
                if (r < 0)
                        return r;
        }
        if (z->opts.json)
                return zeroctl_print_json(z->out, volume);
        print_volume_line(z, "created", name, volume);
        return 0;
}

int zeroctl_cmd_volume_list(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr) {
        return zeroctl_list_collection(z, argc, argv, "volumes", "volume", zeroctl_print_volumes,
                                       reterr);
}

int zeroctl_cmd_volume_show(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr) {
        return zeroctl_show_named(z, argc, argv, "volumes", reterr);
}

int zeroctl_cmd_volume_rm(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr) {
        _cleanup_free_ char *path = NULL;
        json_auto_t *answer = NULL;
        const char *name;
        bool waited;
        int r;

        r = zeroctl_parse_name_only(argc, argv, &name, reterr);
        if (r != 0)
                return r;
        path = zeroctl_object_path("volumes", name, NULL);
        if (!path)
                return -ENOMEM;
        r = volume_request(z, "DELETE", path, NULL, "delete", name, &answer, &waited, reterr);
        if (r != 0)
                return r < 0 ? r : 0;
        /* Nothing to print with --json: the volume is gone. */
        if (!z->opts.json)
                fprintf(z->out, "deleted volume %s\n", name);
        return 0;
}

/* resize and qos: a body to a volume's sub-resource, the volume back. */
static int volume_call(struct zeroctl *z, const char *method, const char *name, const char *suffix,
                       const json_t *body, json_t **ret_volume, struct zero_error *reterr) {
        _cleanup_free_ char *path = zeroctl_object_path("volumes", name, suffix);

        if (!path)
                return -ENOMEM;
        return zeroctl_http_call(z->http, method, path, body, 0, ret_volume, NULL, reterr);
}

int zeroctl_cmd_volume_resize(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr) {
        json_auto_t *body = NULL;
        json_auto_t *volume = NULL;
        const char *name;
        int r;

        r = zeroctl_parse_volume_resize(argc, argv, &name, &body, reterr);
        if (r != 0)
                return r;
        r = volume_call(z, "POST", name, "/resize", body, &volume, reterr);
        if (r < 0)
                return r;
        if (z->opts.json)
                return zeroctl_print_json(z->out, volume);
        print_volume_line(z, "resized", name, volume);
        return 0;
}

int zeroctl_cmd_volume_qos(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr) {
        json_auto_t *body = NULL;
        json_auto_t *volume = NULL;
        _cleanup_free_ char *qos = NULL;
        const char *name;
        int r;

        r = zeroctl_parse_volume_qos(argc, argv, &name, &body, reterr);
        if (r != 0)
                return r;
        r = volume_call(z, "PUT", name, "/qos", body, &volume, reterr);
        if (r < 0)
                return r;
        if (z->opts.json)
                return zeroctl_print_json(z->out, volume);
        /* What zerod now applies, the limits left out included. */
        qos = zeroctl_format_qos(json_object_get(volume, "qos"));
        if (!qos)
                return -ENOMEM;
        fprintf(z->out, "volume %s QoS: %s\n", name, qos);
        return 0;
}
