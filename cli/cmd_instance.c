/* SPDX-License-Identifier: Apache-2.0 */
/* zeroctl create | ls | show | start | stop | restart | rm | console */
#include <getopt.h>
#include <inttypes.h>
#include <string.h>

#include "cli/operation.h"
#include "cli/output.h"
#include "cli/zeroctl.h"
#include "common/util.h"

/* Extra time the wait for a stop gets beyond the grace period the user asked for: the SIGKILL
 * and the cleanup after it. */
#define STOP_WAIT_SLACK_S 30

static int add_env(json_t *env, const char *kv, struct zero_error *reterr) {
        _cleanup_free_ char *key = NULL;
        const char *eq = strchr(kv, '=');
        json_t *check;

        if (!eq || eq == kv)
                return zeroctl_usage_error(reterr, "--env wants KEY=VALUE, not '%s'", kv);
        key = strndup(kv, (size_t) (eq - kv));
        if (!key)
                return -ENOMEM;
        check = json_string(key); /* NULL for invalid UTF-8 */
        if (!check)
                return zeroctl_usage_error(reterr, "--env key '%s' is not valid UTF-8", key);
        json_decref(check);
        return zeroctl_json_set_string(env, key, eq + 1, "--env value", reterr);
}

/* --volume VOL:PATH[:PERSONALITY]. The name ends at the first ':', the personality starts after
 * the last one, so a PATH may hold ':' when the personality is spelled out. Whether PATH is
 * absolute and PERSONALITY one zerod knows is zerod's to say. */
static int add_volume(json_t *volumes, const char *arg, struct zero_error *reterr) {
        _cleanup_free_ char *copy = strdup(arg);
        json_auto_t *v = json_object();
        char *path, *personality;
        int r;

        if (!copy || !v)
                return -ENOMEM;
        path = strchr(copy, ':');
        if (!path || path == copy || path[1] == '\0')
                return zeroctl_usage_error(
                        reterr, "--volume wants VOL:PATH[:PERSONALITY], not '%s'", arg);
        *path++ = '\0';
        personality = strrchr(path, ':');
        if (personality) {
                *personality++ = '\0';
                if (path[0] == '\0' || personality[0] == '\0')
                        return zeroctl_usage_error(
                                reterr, "--volume wants VOL:PATH[:PERSONALITY], not '%s'", arg);
        }
        if ((r = zeroctl_json_set_string(v, "name", copy, "--volume", reterr)) < 0 ||
            (r = zeroctl_json_set_string(v, "path", path, "--volume", reterr)) < 0 ||
            (personality &&
             (r = zeroctl_json_set_string(v, "personality", personality, "--volume", reterr)) < 0))
                return r;
        return json_array_append(volumes, v) < 0 ? -ENOMEM : 0;
}

/* --nic NET[,ip=IP][,mac=MAC]: the network first, then each key at most once. */
static int add_nic(json_t *nics, const char *arg, struct zero_error *reterr) {
        _cleanup_free_ char *copy = strdup(arg);
        json_auto_t *n = json_object();
        char *save = NULL, *item;
        int r;

        if (!copy || !n)
                return -ENOMEM;
        /* strtok_r would skip empty items: ",ip=x" and "net,,ip=x" must not pass. */
        if (copy[0] == '\0' || copy[0] == ',' || strstr(copy, ",,") ||
            copy[strlen(copy) - 1] == ',')
                return zeroctl_usage_error(reterr, "--nic wants NET[,ip=IP][,mac=MAC], not '%s'",
                                           arg);
        item = strtok_r(copy, ",", &save);
        r = zeroctl_json_set_string(n, "network", item, "--nic", reterr);
        if (r < 0)
                return r;
        while ((item = strtok_r(NULL, ",", &save))) {
                char *eq = strchr(item, '=');

                if (eq)
                        *eq++ = '\0';
                if (!eq || *eq == '\0' || (!streq(item, "ip") && !streq(item, "mac")))
                        return zeroctl_usage_error(
                                reterr, "--nic wants NET[,ip=IP][,mac=MAC], not '%s'", arg);
                if (json_object_get(n, item))
                        return zeroctl_usage_error(reterr, "--nic '%s' gives %s twice", arg, item);
                r = zeroctl_json_set_string(n, item, eq, "--nic", reterr);
                if (r < 0)
                        return r;
        }
        return json_array_append(nics, n) < 0 ? -ENOMEM : 0;
}

int zeroctl_parse_create(int argc, char **argv, json_t **ret_spec, struct zero_error *reterr) {
        enum {
                OPT_IMAGE = 0x100,
                OPT_MODE,
                OPT_CPUS,
                OPT_MEMORY,
                OPT_ENV,
                OPT_HOSTNAME,
                OPT_CWD,
                OPT_READ_ONLY,
                OPT_ROOT_VOLUME,
                OPT_VOLUME,
                OPT_NIC,
                OPT_TPM,
                OPT_EVICT,
        };
        static const struct option options[] = {
                {"image", required_argument, NULL, OPT_IMAGE},
                {"mode", required_argument, NULL, OPT_MODE},
                {"cpus", required_argument, NULL, OPT_CPUS},
                {"memory", required_argument, NULL, OPT_MEMORY},
                {"env", required_argument, NULL, OPT_ENV},
                {"hostname", required_argument, NULL, OPT_HOSTNAME},
                {"cwd", required_argument, NULL, OPT_CWD},
                {"read-only", no_argument, NULL, OPT_READ_ONLY},
                {"root-volume", required_argument, NULL, OPT_ROOT_VOLUME},
                {"volume", required_argument, NULL, OPT_VOLUME},
                {"nic", required_argument, NULL, OPT_NIC},
                {"stdin", no_argument, NULL, 'i'},
                {"tpm", no_argument, NULL, OPT_TPM},
                {"evict", required_argument, NULL, OPT_EVICT},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        json_auto_t *spec = json_object();
        json_auto_t *env = json_object();
        json_auto_t *volumes = json_array();
        json_auto_t *nics = json_array();
        const char *image = NULL, *mode = "container", *hostname = NULL, *cwd = NULL,
                   *root_volume = NULL, *evict = NULL;
        int64_t cpus = 0, memory = 0;
        bool read_only = false, stdin_open = false, tpm = false;
        int dashdash = argc, c, r;

        if (!spec || !env || !volumes || !nics)
                return -ENOMEM;
        /* Everything after "--" is the command, never options: split there before getopt, so
         * "-- sh -c 'echo hi'" reaches the instance untouched. */
        for (int i = 1; i < argc; i++)
                if (streq(argv[i], "--")) {
                        dashdash = i;
                        break;
                }

        optind = 0;
        opterr = 0;
        while ((c = getopt_long(dashdash, argv, ":hi", options, NULL)) >= 0) {
                switch (c) {
                case 'i':
                        stdin_open = true;
                        break;
                case OPT_IMAGE:
                        image = optarg;
                        break;
                case OPT_MODE:
                        mode = optarg;
                        break;
                case OPT_CPUS:
                        r = zeroctl_parse_uint("--cpus", optarg, 1, 65536, &cpus, reterr);
                        if (r < 0)
                                return r;
                        break;
                case OPT_MEMORY:
                        if (zeroctl_parse_memory_mib(optarg, &memory) < 0)
                                return zeroctl_usage_error(
                                        reterr, "--memory wants MiB (or 512M, 2G), not '%s'",
                                        optarg);
                        break;
                case OPT_ENV:
                        r = add_env(env, optarg, reterr);
                        if (r < 0)
                                return r;
                        break;
                case OPT_HOSTNAME:
                        hostname = optarg;
                        break;
                case OPT_CWD:
                        cwd = optarg;
                        break;
                case OPT_READ_ONLY:
                        read_only = true;
                        break;
                case OPT_TPM:
                        tpm = true;
                        break;
                case OPT_EVICT:
                        evict = optarg;
                        break;
                case OPT_ROOT_VOLUME:
                        root_volume = optarg;
                        break;
                case OPT_VOLUME:
                        r = add_volume(volumes, optarg, reterr);
                        if (r < 0)
                                return r;
                        break;
                case OPT_NIC:
                        r = add_nic(nics, optarg, reterr);
                        if (r < 0)
                                return r;
                        break;
                case 'h':
                        return ZEROCTL_HELP;
                default:
                        return zeroctl_getopt_error(c, argv, reterr);
                }
        }
        if (optind >= dashdash)
                return zeroctl_usage_error(reterr, "missing instance name");
        if (dashdash - optind > 1)
                return zeroctl_usage_error(reterr,
                                           "unexpected argument '%s' (a command goes after '--')",
                                           argv[optind + 1]);
        if (!image)
                return zeroctl_usage_error(reterr, "missing --image");
        if (dashdash < argc && dashdash + 1 == argc)
                return zeroctl_usage_error(reterr, "no command after '--'");

        if ((r = zeroctl_json_set_string(spec, "name", argv[optind], "the name", reterr)) < 0 ||
            (r = zeroctl_json_set_string(spec, "mode", mode, "--mode", reterr)) < 0 ||
            (r = zeroctl_json_set_string(spec, "image", image, "--image", reterr)) < 0)
                return r;
        /* Only what the user said: the server owns the defaults. */
        if (cpus > 0 && json_object_set_new(spec, "cpus", json_integer(cpus)) < 0)
                return -ENOMEM;
        if (memory > 0 && json_object_set_new(spec, "memory_mib", json_integer(memory)) < 0)
                return -ENOMEM;
        if (dashdash < argc) {
                json_t *cmd = json_array();
                if (!cmd || json_object_set_new(spec, "command", cmd) < 0)
                        return -ENOMEM;
                for (int i = dashdash + 1; i < argc; i++) {
                        json_t *a = json_string(argv[i]);
                        if (!a)
                                return zeroctl_usage_error(reterr,
                                                           "command argument %d is not valid UTF-8",
                                                           i - dashdash);
                        if (json_array_append_new(cmd, a) < 0)
                                return -ENOMEM;
                }
        }
        if (json_object_size(env) > 0 && json_object_set(spec, "env", env) < 0)
                return -ENOMEM;
        if (hostname &&
            (r = zeroctl_json_set_string(spec, "hostname", hostname, "--hostname", reterr)) < 0)
                return r;
        if (cwd && (r = zeroctl_json_set_string(spec, "cwd", cwd, "--cwd", reterr)) < 0)
                return r;
        if (read_only && json_object_set_new(spec, "readonly_rootfs", json_true()) < 0)
                return -ENOMEM;
        if (stdin_open && json_object_set_new(spec, "stdin", json_true()) < 0)
                return -ENOMEM;
        if (tpm && json_object_set_new(spec, "tpm", json_true()) < 0)
                return -ENOMEM;
        /* Which words zerod takes ("stop") is zerod's to say. */
        if (evict && (r = zeroctl_json_set_string(spec, "evict", evict, "--evict", reterr)) < 0)
                return r;
        if (root_volume &&
            (r = zeroctl_json_set_string(spec, "root_volume", root_volume, "--root-volume",
                                         reterr)) < 0)
                return r;
        if (json_array_size(volumes) > 0 && json_object_set(spec, "volumes", volumes) < 0)
                return -ENOMEM;
        if (json_array_size(nics) > 0 && json_object_set(spec, "nics", nics) < 0)
                return -ENOMEM;

        *ret_spec = TAKE_PTR(spec);
        return 0;
}

/* After the options: exactly one instance name. */
static int one_name(int argc, char **argv, const char **ret_name, struct zero_error *reterr) {
        if (argc - optind != 1)
                return zeroctl_usage_error(reterr, "%s", argc - optind < 1 ? "missing instance name" : "too many arguments");
        *ret_name = argv[optind];
        return 0;
}

/* "VERB NAME [--OPTION N]": the shape of stop. */
static int parse_name_and_number(int argc, char **argv, const char *option, int64_t min,
                                 int64_t max, const char **ret_name, int64_t *ret_value,
                                 struct zero_error *reterr) {
        const struct option options[] = {
                {option, required_argument, NULL, 'n'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        _cleanup_free_ char *what = zero_strdup_printf("--%s", option);
        int64_t value = -1;
        int c, r;

        if (!what)
                return -ENOMEM;
        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":h", options, NULL)) >= 0) {
                switch (c) {
                case 'n':
                        r = zeroctl_parse_uint(what, optarg, min, max, &value, reterr);
                        if (r < 0)
                                return r;
                        break;
                case 'h':
                        return ZEROCTL_HELP;
                default:
                        return zeroctl_getopt_error(c, argv, reterr);
                }
        }
        if (one_name(argc, argv, ret_name, reterr) < 0)
                return -EINVAL;
        *ret_value = value;
        return 0;
}

int zeroctl_parse_stop(int argc, char **argv, const char **ret_name, int64_t *ret_grace_s,
                       struct zero_error *reterr) {
        /* zerod's bound: an hour between SIGTERM and SIGKILL. --grace, not --timeout: that is
         * the global option, how long zeroctl waits for the operation (issue 16). */
        return parse_name_and_number(argc, argv, "grace", 0, 3600, ret_name, ret_grace_s, reterr);
}

int zeroctl_parse_console(int argc, char **argv, const char **ret_name, int64_t *ret_bytes,
                          bool *ret_follow, bool *ret_interactive, struct zero_error *reterr) {
        enum { OPT_BYTES = 0x100 };
        static const struct option options[] = {
                {"bytes", required_argument, NULL, OPT_BYTES},
                {"follow", no_argument, NULL, 'f'},
                {"interactive", no_argument, NULL, 'i'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        int64_t bytes = -1;
        bool follow = false, interactive = false;
        int c, r;

        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ret_interactive ? ":fih" : ":fh", options, NULL)) >= 0) {
                switch (c) {
                case OPT_BYTES:
                        r = zeroctl_parse_uint("--bytes", optarg, 1, ZEROCTL_RESPONSE_MAX, &bytes, reterr);
                        if (r < 0)
                                return r;
                        break;
                case 'f':
                        follow = true;
                        break;
                case 'i':
                        if (!ret_interactive)
                                return zeroctl_getopt_error('?', argv, reterr);
                        interactive = true;
                        break;
                case 'h':
                        return ZEROCTL_HELP;
                default:
                        return zeroctl_getopt_error(c, argv, reterr);
                }
        }
        if (one_name(argc, argv, ret_name, reterr) < 0)
                return -EINVAL;
        if (interactive && (follow || bytes >= 0))
                return zeroctl_usage_error(reterr, "-i takes neither --follow nor --bytes: it follows from the end");
        *ret_bytes = bytes;
        *ret_follow = follow;
        if (ret_interactive)
                *ret_interactive = interactive;
        return 0;
}

int zeroctl_parse_rm(int argc, char **argv, const char **ret_name, bool *ret_keep_volumes, bool *ret_force,
                     struct zero_error *reterr) {
        enum { OPT_KEEP_VOLUMES = 0x100 };
        static const struct option options[] = {
                {"keep-volumes", no_argument, NULL, OPT_KEEP_VOLUMES},
                {"force", no_argument, NULL, 'f'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        bool keep = false, force = false;
        int c;

        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":hf", options, NULL)) >= 0) {
                switch (c) {
                case OPT_KEEP_VOLUMES:
                        keep = true;
                        break;
                case 'f':
                        force = true;
                        break;
                case 'h':
                        return ZEROCTL_HELP;
                default:
                        return zeroctl_getopt_error(c, argv, reterr);
                }
        }
        if (one_name(argc, argv, ret_name, reterr) < 0)
                return -EINVAL;
        *ret_keep_volumes = keep;
        *ret_force = force;
        return 0;
}

/* A bms instance's create, step by step (follow.c): its hand-over takes the host, and the
 * operation ends once the card gave it back. */
static int create_followed(struct zeroctl *z, const json_t *spec, const char *name, struct zero_error *reterr) {
        json_auto_t *op = NULL, *final = NULL;
        _cleanup_free_ char *location = NULL, *id = NULL;
        int r, k;

        r = zeroctl_http_call(z->http, "POST", "/v1/instances", spec, 0, &op, &location, reterr);
        if (r >= 0)
                r = zeroctl_operation_id(op, &id, reterr);
        if (r < 0)
                return r;
        if (!z->opts.json) {
                fprintf(z->out, "creating %s (operation %s)\n", name, id);
                if (fflush(z->out) != 0)
                        return zero_error_set(reterr, -errno, ZERO_E_INTERNAL, "cannot write output: %m");
        }
        r = zeroctl_operation_follow(z, name, op, location, z->opts.timeout_s, &final, reterr);
        if (z->opts.json) {
                k = final ? zeroctl_print_json(z->out, final) : 0;
                return r < 0 ? r : k;
        }
        if (r >= 0)
                fprintf(z->out, "created %s (operation %s)\n", name, id);
        return r;
}

int zeroctl_cmd_create(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr) {
        json_auto_t *spec = NULL;
        int r;

        r = zeroctl_parse_create(argc, argv, &spec, reterr);
        if (r != 0)
                return r;
        if (z->opts.timeout_s > 0 && streq(strempty(json_string_value(json_object_get(spec, "mode"))), "bms"))
                r = create_followed(z, spec, json_string_value(json_object_get(spec, "name")), reterr);
        else
                r = zeroctl_operation_run(z, "POST", "/v1/instances", spec, z->opts.timeout_s, "create", "created",
                                          json_string_value(json_object_get(spec, "name")), reterr);
        return zeroctl_evict_hint(r, reterr);
}

int zeroctl_cmd_list(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr) {
        return zeroctl_list_collection(z, argc, argv, "instances", "instance",
                                       zeroctl_print_instances, reterr);
}

int zeroctl_cmd_show(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr) {
        _cleanup_free_ char *path = NULL;
        json_auto_t *j = NULL;
        const char *name;
        int r;

        r = zeroctl_parse_name_only(argc, argv, &name, reterr);
        if (r != 0)
                return r;
        path = zeroctl_object_path("instances", name, NULL);
        if (!path)
                return -ENOMEM;
        r = zeroctl_http_call(z->http, "GET", path, NULL, 0, &j, NULL, reterr);
        if (r < 0)
                return r;
        if (z->opts.json)
                return zeroctl_print_json(z->out, j);
        r = zeroctl_print_instance(z->out, j);
        if (r == -EBADMSG)
                return zero_error_set(reterr, r, ZERO_E_INTERNAL, "zerod answered %s with no JSON object",
                                      path);
        return r;
}

int zeroctl_parse_start(int argc, char **argv, const char **ret_name, const char **ret_evict,
                        struct zero_error *reterr) {
        static const struct option options[] = {
                {"evict", required_argument, NULL, 'e'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        const char *evict = NULL;
        int c, r;

        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":h", options, NULL)) >= 0) {
                switch (c) {
                case 'e':
                        evict = optarg;
                        break;
                case 'h':
                        return ZEROCTL_HELP;
                default:
                        return zeroctl_getopt_error(c, argv, reterr);
                }
        }
        r = one_name(argc, argv, ret_name, reterr);
        if (r < 0)
                return r;
        *ret_evict = evict;
        return 0;
}

/* zerod's words for the way out of a busy node (agent/node_owner.c), and zeroctl's. */
#define EVICT_HINT_API "(\"evict\": \"stop\" stops the others first)"
#define EVICT_HINT_CLI "(--evict stop stops them first)"

int zeroctl_evict_hint(int r, struct zero_error *reterr) {
        char *at;

        if (r >= 0 || !reterr || reterr->code != ZERO_E_CONFLICT || !(at = strstr(reterr->message, EVICT_HINT_API)))
                return r;
        /* The CLI's words are shorter: they fit where the API's were. */
        memcpy(at, EVICT_HINT_CLI, sizeof(EVICT_HINT_CLI) - 1);
        memmove(at + sizeof(EVICT_HINT_CLI) - 1, at + sizeof(EVICT_HINT_API) - 1,
                strlen(at + sizeof(EVICT_HINT_API) - 1) + 1);
        return r;
}

/* restart: NAME in, one operation out. */
static int simple_operation(struct zeroctl *z, int argc, char **argv, const char *method,
                            const char *suffix, const char *done, struct zero_error *reterr) {
        _cleanup_free_ char *path = NULL;
        const char *name;
        int r;

        r = zeroctl_parse_name_only(argc, argv, &name, reterr);
        if (r != 0)
                return r;
        path = zeroctl_object_path("instances", name, suffix);
        if (!path)
                return -ENOMEM;
        return zeroctl_operation_run(z, method, path, NULL, z->opts.timeout_s, argv[0], done, name,
                                     reterr);
}

int zeroctl_cmd_start(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr) {
        json_auto_t *body = NULL;
        _cleanup_free_ char *path = NULL;
        const char *name, *evict;
        int r;

        r = zeroctl_parse_start(argc, argv, &name, &evict, reterr);
        if (r != 0)
                return r;
        if (evict) {
                body = json_object();
                if (!body)
                        return -ENOMEM;
                r = zeroctl_json_set_string(body, "evict", evict, "--evict", reterr);
                if (r < 0)
                        return r;
        }
        path = zeroctl_object_path("instances", name, "/start");
        if (!path)
                return -ENOMEM;
        r = zeroctl_operation_run(z, "POST", path, body, z->opts.timeout_s, "start", "started", name, reterr);
        return zeroctl_evict_hint(r, reterr);
}

int zeroctl_cmd_restart(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr) {
        return simple_operation(z, argc, argv, "POST", "/restart", "restarted", reterr);
}

int zeroctl_cmd_rm(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr) {
        _cleanup_free_ char *path = NULL;
        const char *name;
        bool keep_volumes, force;
        int r;

        r = zeroctl_parse_rm(argc, argv, &name, &keep_volumes, &force, reterr);
        if (r != 0)
                return r;
        /* Only what the user said: without the flag zerod's default (delete the root volume it
         * made from the image) holds. --force: killed at once, not stopped with a grace period
         * (a shell that ignores SIGTERM costs the whole of it otherwise). */
        path = zeroctl_object_path("instances", name,
                                   keep_volumes && force ? "?delete_volumes=false&force=true"
                                   : keep_volumes        ? "?delete_volumes=false"
                                   : force               ? "?force=true"
                                                         : NULL);
        if (!path)
                return -ENOMEM;
        return zeroctl_operation_run(z, "DELETE", path, NULL, z->opts.timeout_s, "rm", "deleted",
                                     name, reterr);
}

int zeroctl_cmd_stop(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr) {
        json_auto_t *body = NULL, *op = NULL, *final = NULL;
        _cleanup_free_ char *path = NULL, *location = NULL, *id = NULL;
        unsigned wait_s = z->opts.timeout_s;
        size_t n_printed = 0;
        const char *name;
        bool by_card;
        int64_t grace;
        int r, k;

        r = zeroctl_parse_stop(argc, argv, &name, &grace, reterr);
        if (r != 0)
                return r;
        if (grace >= 0) {
                body = json_pack("{sI}", "timeout_s", (json_int_t) grace);
                if (!body)
                        return -ENOMEM;
                /* Waiting less than the grace period would report a timeout for a stop that is
                 * going exactly as asked. */
                if (wait_s > 0 && wait_s < grace + STOP_WAIT_SLACK_S)
                        wait_s = (unsigned) grace + STOP_WAIT_SLACK_S;
        }
        path = zeroctl_object_path("instances", name, "/stop");
        if (!path)
                return -ENOMEM;
        if (wait_s == 0)
                return zeroctl_operation_run(z, "POST", path, body, 0, "stop", "stopped", name, reterr);
        r = zeroctl_http_call(z->http, "POST", path, body, 0, &op, &location, reterr);
        if (r >= 0)
                r = zeroctl_operation_id(op, &id, reterr);
        if (r < 0)
                return r;
        /* A bms tenant's stop, answered by the card: its steps as it takes the host back, then
         * zerod's word once it is back. */
        by_card = streq(strempty(json_string_value(json_object_get(op, "answered_by"))), "card");
        if (by_card && !z->opts.json) {
                fprintf(z->out, "stopping %s: the card takes the host back (operation %s)\n", name, id);
                if (fflush(z->out) != 0)
                        return zero_error_set(reterr, -errno, ZERO_E_INTERNAL, "cannot write output: %m");
        }
        r = zeroctl_operation_wait_from(z, op, location, wait_s, NULL, by_card ? &n_printed : NULL, &final, reterr);
        if (z->opts.json && final) {
                k = zeroctl_print_json(z->out, final);
                return r < 0 ? r : k;
        }
        if (r >= 0)
                fprintf(z->out, "stopped %s (operation %s)\n", name, id);
        return r;
}

/* --follow: each chunk as it comes, out at once. */
static int console_out(const char *data, size_t len, void *userdata) {
        FILE *out = userdata;

        if (fwrite(data, 1, len, out) != len || fflush(out) != 0)
                return -EIO;
        return 0;
}

int zeroctl_cmd_console(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr) {
        _cleanup_free_ char *path = NULL, *base = NULL;
        struct zeroctl_response resp = {0};
        const char *name;
        int64_t bytes;
        bool follow, interactive;
        int r;

        r = zeroctl_parse_console(argc, argv, &name, &bytes, &follow, &interactive, reterr);
        if (r != 0)
                return r;
        if (interactive)
                return zeroctl_console_interactive(z, name, reterr);
        base = zeroctl_object_path("instances", name, "/console");
        if (!base)
                return -ENOMEM;
        if (bytes > 0)
                path = zero_strdup_printf("%s?bytes=%" PRId64 "%s", base, bytes, follow ? "&follow=true" : "");
        else
                path = zero_strdup_printf("%s%s", base, follow ? "?follow=true" : "");
        if (!path)
                return -ENOMEM;
        if (follow) {
                /* Until the instance is deleted or ^C: no bound on the whole, none on silence. */
                r = zeroctl_http_stream(z->http, path, "text/plain", ZEROCTL_TIMEOUT_NONE, 0, console_out, z->out,
                                        reterr);
                if (r == -EIO && !reterr->message[0])
                        r = zero_error_set(reterr, -EIO, ZERO_E_INTERNAL, "cannot write the console log");
                return r < 0 ? r : 0;
        }
        r = zeroctl_http_request(z->http, "GET", path, NULL, 0, &resp, reterr);
        if (r < 0)
                return r;
        if (resp.status >= 400 || resp.status < 200)
                r = zeroctl_http_error(resp.status, resp.body, resp.len, reterr);
        else if (resp.len > 0 && fwrite(resp.body, 1, resp.len, z->out) != resp.len)
                r = zero_error_set(reterr, -EIO, ZERO_E_INTERNAL, "cannot write the console log");
        zeroctl_response_done(&resp);
        return r;
}
