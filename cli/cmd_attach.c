/* SPDX-License-Identifier: Apache-2.0 */
/* zeroctl attach-volume | detach-volume | attach-nic | detach-nic: an instance's volumes and NICs
 * changed after create. Each is one "attach" or "detach" operation, waited for like start. */
#include <assert.h>
#include <getopt.h>
#include <string.h>

#include "cli/operation.h"
#include "cli/zeroctl.h"
#include "common/util.h"

/* "VERB INSTANCE WORD [--KEY VALUE]...": the shape of attach-volume and attach-nic. keys[] are
 * the options, each sent as the body field of the same name when given; WORD goes in word_key,
 * and word_what names it in messages. The server owns the checks of what the values mean
 * (absolute path, personality, IP in the subnet, unicast MAC). */
static int parse_attach(int argc, char **argv, const char *word_key, const char *word_what,
                        const char *const *keys, size_t n_keys, const char **ret_instance,
                        json_t **ret_body, struct zero_error *reterr) {
        struct option options[4] = {};
        const char *values[3] = {}, *instance, *word;
        json_auto_t *body = json_object();
        int c, r;

        assert(n_keys < ELEMENTSOF(options) && n_keys <= ELEMENTSOF(values));
        if (!body)
                return -ENOMEM;
        for (size_t i = 0; i < n_keys; i++)
                options[i] = (struct option){keys[i], required_argument, NULL, 0x100 + (int) i};
        options[n_keys] = (struct option){"help", no_argument, NULL, 'h'};

        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":h", options, NULL)) >= 0) {
                if (c == 'h')
                        return ZEROCTL_HELP;
                if (c < 0x100 || c >= 0x100 + (int) n_keys)
                        return zeroctl_getopt_error(c, argv, reterr);
                values[c - 0x100] = optarg;
        }
        r = zeroctl_instance_and_word(argc, argv, word_what, &instance, &word, reterr);
        if (r < 0)
                return r;
        r = zeroctl_json_set_string(body, word_key, word, word_what, reterr);
        if (r < 0)
                return r;
        /* Only what the user said: zerod picks the rest (personality, IP, MAC). */
        for (size_t i = 0; i < n_keys; i++) {
                _cleanup_free_ char *what = NULL;

                if (!values[i])
                        continue;
                what = zero_strdup_printf("--%s", keys[i]);
                if (!what)
                        return -ENOMEM;
                r = zeroctl_json_set_string(body, keys[i], values[i], what, reterr);
                if (r < 0)
                        return r;
        }
        *ret_instance = instance;
        *ret_body = TAKE_PTR(body);
        return 0;
}

int zeroctl_parse_attach_volume(int argc, char **argv, const char **ret_instance,
                                json_t **ret_body, struct zero_error *reterr) {
        static const char *const keys[] = {"path", "personality"};
        json_auto_t *body = NULL;
        const char *instance;
        int r;

        r = parse_attach(argc, argv, "name", "volume name", keys, ELEMENTSOF(keys), &instance,
                         &body, reterr);
        if (r != 0)
                return r;
        /* zerod wants a path for every data volume (the mount point in a container; a VM
         * ignores it), as "create --volume VOL:PATH" does: say so before sending. */
        if (!json_object_get(body, "path"))
                return zeroctl_usage_error(reterr, "missing --path");
        *ret_instance = instance;
        *ret_body = TAKE_PTR(body);
        return 0;
}

int zeroctl_parse_attach_nic(int argc, char **argv, const char **ret_instance, json_t **ret_body,
                             struct zero_error *reterr) {
        static const char *const keys[] = {"ip", "mac"};

        return parse_attach(argc, argv, "network", "network name", keys, ELEMENTSOF(keys),
                            ret_instance, ret_body, reterr);
}

/* "<what> to|from <instance>": the object of the line zeroctl_operation_run prints. */
static int run(struct zeroctl *z, const char *method, const char *instance, const char *suffix,
               const json_t *body, const char *verb, const char *done, const char *object,
               struct zero_error *reterr) {
        _cleanup_free_ char *path = zeroctl_object_path("instances", instance, suffix);

        if (!path)
                return -ENOMEM;
        return zeroctl_operation_run(z, method, path, body, z->opts.timeout_s, verb, done, object,
                                     reterr);
}

int zeroctl_cmd_attach_volume(struct zeroctl *z, int argc, char **argv,
                              struct zero_error *reterr) {
        json_auto_t *body = NULL;
        _cleanup_free_ char *object = NULL;
        const char *instance;
        int r;

        r = zeroctl_parse_attach_volume(argc, argv, &instance, &body, reterr);
        if (r != 0)
                return r;
        object = zero_strdup_printf("volume %s to %s",
                                    json_string_value(json_object_get(body, "name")), instance);
        if (!object)
                return -ENOMEM;
        return run(z, "POST", instance, "/volumes", body, "attach", "attached", object, reterr);
}

int zeroctl_cmd_attach_nic(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr) {
        json_auto_t *body = NULL;
        _cleanup_free_ char *object = NULL;
        const char *instance;
        int r;

        r = zeroctl_parse_attach_nic(argc, argv, &instance, &body, reterr);
        if (r != 0)
                return r;
        /* The NIC's id is zerod's to pick: 'zeroctl show' lists it. */
        object = zero_strdup_printf("a NIC on %s to %s",
                                    json_string_value(json_object_get(body, "network")), instance);
        if (!object)
                return -ENOMEM;
        return run(z, "POST", instance, "/nics", body, "attach", "attached", object, reterr);
}

/* "VERB INSTANCE KEY": DELETE /v1/instances/INSTANCE/<collection>/KEY. */
static int detach(struct zeroctl *z, int argc, char **argv, const char *collection,
                  const char *what, struct zero_error *reterr) {
        _cleanup_free_ char *escaped = NULL, *suffix = NULL, *object = NULL;
        const char *words[2];
        int r;

        r = zeroctl_parse_words(argc, argv, 2, words, reterr);
        if (r != 0)
                return r;
        escaped = zeroctl_path_escape(words[1]);
        if (!escaped)
                return -ENOMEM;
        suffix = zero_strdup_printf("/%s/%s", collection, escaped);
        object = zero_strdup_printf("%s %s from %s", what, words[1], words[0]);
        if (!suffix || !object)
                return -ENOMEM;
        return run(z, "DELETE", words[0], suffix, NULL, "detach", "detached", object, reterr);
}

int zeroctl_cmd_detach_volume(struct zeroctl *z, int argc, char **argv,
                              struct zero_error *reterr) {
        return detach(z, argc, argv, "volumes", "volume", reterr);
}

int zeroctl_cmd_detach_nic(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr) {
        return detach(z, argc, argv, "nics", "NIC", reterr);
}
