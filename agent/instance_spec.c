/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The instance spec: validation of what a user asks for, its JSON form, and the
 * struct zero_instance_info that plugins get.
 */
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/instance_spec.h"
#include "agent/card_info.h"
#include "agent/card_json.h"
#include "agent/image.h"
#include "agent/plugin_loader.h"
#include "agent/services.h"
#include "common/text.h"
#include "common/util.h"

#define ARG_MAX_COUNT 1024
#define ARG_MAX_LEN 65536
#define ENV_MAX_COUNT 1024
/* The kernel's PID_MAX_LIMIT on 64-bit: no pids limit above it means anything. */
#define PIDS_MAX_MAX 4194304

static int invalid(struct zero_error *err, const char *fmt, const char *field) {
        return zero_error_set(err, -EINVAL, ZERO_E_INVALID, fmt, field);
}

static bool hostname_valid(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > 63)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '.'))
                        return false;
        }
        return true;
}

/* "tpm": true needs a runtime that gives a vTPM (zero_probe.tpm, the vm plugin's swtpm): the
 * instance's own mode's, or for a mode that does not (a container, which keeps the state unused
 * until it runs as a VM) one it can switch to. An exclusive mode (bms) hands the tenant the
 * host itself, with the host's own TPM: refused there. */
static int tpm_check(const struct zero_agent *a, const struct zero_loaded_plugin *lp, struct zero_error *err) {
        const char *why = NULL;

        if (lp->probe.tpm)
                return 0;
        if (lp->probe.exclusive)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID,
                                      "tpm: mode '%s' hands the tenant the host, whose own TPM it has: no vTPM",
                                      lp->plugin->mode);
        for (size_t i = 0; a->plugins && i < a->plugins->n; i++) {
                const struct zero_probe *p = &a->plugins->items[i].probe;
                if (p->available && p->tpm)
                        return 0;
                if (p->tpm_reason[0])
                        why = p->tpm_reason;
        }
        return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "tpm: no runtime here gives a vTPM%s%s", why ? ": " : "",
                              why ? why : " (no vm plugin)");
}

int zero_spec_tpm_check(struct zero_agent *a, const struct zero_instance_row *row, const char *mode,
                        struct zero_error *err) {
        const struct zero_loaded_plugin *lp = zero_plugins_find(a->plugins, mode);
        json_auto_t *spec = row->spec ? json_loads(row->spec, 0, NULL) : NULL;

        if (!lp || !json_is_true(json_object_get(spec, "tpm")))
                return 0;
        return tpm_check(a, lp, err);
}

int zero_spec_validate(struct zero_agent *a, json_t *body, struct zero_instance_row *ret, struct zero_error *err) {
        static const char *const known[] = {"name", "mode", "image", "cpus", "memory_mib", "command", "env", "hostname",
                                            "cwd", "readonly_rootfs", "pids_max", "userns", "stdin", "tpm",
                                            /* checked by zero_card_plan_build() */
                                            "root_volume", "root_personality", "volumes", "nics",
                                            /* checked by zero_instance_create() (node_owner.h) */
                                            "evict"};
        json_t *v, *spec;
        const char *key, *name, *mode, *image;
        json_int_t cpus = 1, memory = 256;
        size_t i;

        json_object_foreach(body, key, v) {
                bool ok = false;
                for (i = 0; i < ELEMENTSOF(known); i++)
                        ok = ok || streq(key, known[i]);
                if (!ok)
                        return invalid(err, "unknown field '%s'", key);
        }
        v = json_object_get(body, "name");
        if (!json_is_string(v))
                return invalid(err, "%s: a string is required", "name");
        name = json_string_value(v);
        if (!zero_name_is_valid(name))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID,
                                      "name '%s' is not valid: use 1-63 of [a-z0-9-], starting with a letter or digit",
                                      ZERO_QUOTE(name));
        v = json_object_get(body, "mode");
        mode = v ? json_string_value(v) : "container";
        if (!mode)
                return invalid(err, "%s: a string is required", "mode");
        /* The modes are those of the loaded plugins (plugin.h). */
        const struct zero_loaded_plugin *lp = zero_plugins_find(a->plugins, mode);
        if (!lp) {
                char modes[ZERO_PLUGINS_MAX * (ZERO_PLUGIN_MODE_MAX + 4)];
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "unknown mode '%s': expected %s", ZERO_QUOTE(mode),
                                      a->plugins && a->plugins->n > 0 ? zero_plugins_modes(a->plugins, modes, sizeof(modes))
                                                                      : "a mode of a runtime plugin (none is loaded)");
        }
        if (!lp->probe.available)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "mode '%s' cannot run here: %s", mode,
                                      lp->probe.reason);
        v = json_object_get(body, "image");
        if (!json_is_string(v))
                return invalid(err, "%s: a string is required", "image");
        image = json_string_value(v);
        if ((v = json_object_get(body, "cpus"))) {
                if (!json_is_integer(v))
                        return invalid(err, "%s: an integer is required", "cpus");
                cpus = json_integer_value(v);
                if (cpus < 1 || cpus > (json_int_t) a->node_cpus)
                        return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "cpus=%lld: this node has %u cpus",
                                              (long long) cpus, a->node_cpus);
        }
        if ((v = json_object_get(body, "memory_mib"))) {
                if (!json_is_integer(v))
                        return invalid(err, "%s: an integer is required", "memory_mib");
                memory = json_integer_value(v);
                if (memory < 4 || memory > (json_int_t) a->node_memory_mib)
                        return zero_error_set(err, -EINVAL, ZERO_E_INVALID,
                                              "memory_mib=%lld: must be 4..%llu (the node's memory)", (long long) memory,
                                              (unsigned long long) a->node_memory_mib);
        }
        v = json_object_get(body, "command");
        if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > ARG_MAX_COUNT)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "command: a non-empty array of at most %d strings is required",
                                      ARG_MAX_COUNT);
        for (i = 0; i < json_array_size(v); i++) {
                json_t *s = json_array_get(v, i);
                if (!json_is_string(s) || json_string_length(s) > ARG_MAX_LEN ||
                    strlen(json_string_value(s)) != json_string_length(s))
                        return invalid(err, "%s: every element must be a string without NUL bytes", "command");
        }
        if ((v = json_object_get(body, "env"))) {
                json_t *s;
                if (!json_is_object(v) || json_object_size(v) > ENV_MAX_COUNT)
                        return invalid(err, "%s: an object of strings is required", "env");
                json_object_foreach(v, key, s) {
                        if (!json_is_string(s) || key[0] == '\0' || strchr(key, '=') ||
                            strlen(json_string_value(s)) != json_string_length(s))
                                return invalid(err, "%s: keys must be non-empty without '=', values strings", "env");
                }
        }
        if ((v = json_object_get(body, "hostname")) && (!json_is_string(v) || !hostname_valid(json_string_value(v))))
                return invalid(err, "%s: a valid host name is required", "hostname");
        if ((v = json_object_get(body, "cwd")) && (!json_is_string(v) || json_string_value(v)[0] != '/'))
                return invalid(err, "%s: an absolute path is required", "cwd");
        if ((v = json_object_get(body, "readonly_rootfs")) && !json_is_boolean(v))
                return invalid(err, "%s: true or false", "readonly_rootfs");
        if ((v = json_object_get(body, "pids_max")) &&
            (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > PIDS_MAX_MAX))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "pids_max: an integer 1..%d is required",
                                      PIDS_MAX_MAX);
        if ((v = json_object_get(body, "userns")) && !json_is_boolean(v))
                return invalid(err, "%s: true or false", "userns");
        if ((v = json_object_get(body, "stdin")) && !json_is_boolean(v))
                return invalid(err, "%s: true or false", "stdin");
        if ((v = json_object_get(body, "tpm")) && !json_is_boolean(v))
                return invalid(err, "%s: true or false", "tpm");
        if (json_is_true(v)) {
                int r = tpm_check(a, lp, err);
                if (r < 0)
                        return r;
        }

        spec = json_pack("{s:O}", "command", json_object_get(body, "command"));
        if (!spec)
                return -ENOMEM;
        v = json_object_get(body, "env");
        json_object_set_new(spec, "env", v ? json_deep_copy(v) : json_object());
        if ((v = json_object_get(body, "hostname")))
                json_object_set(spec, "hostname", v);
        if ((v = json_object_get(body, "cwd")))
                json_object_set(spec, "cwd", v);
        json_object_set_new(spec, "readonly_rootfs", json_boolean(json_is_true(json_object_get(body, "readonly_rootfs"))));
        if ((v = json_object_get(body, "pids_max")))
                json_object_set(spec, "pids_max", v);
        if (json_is_true(json_object_get(body, "userns")))
                json_object_set_new(spec, "userns", json_true());
        if (json_is_true(json_object_get(body, "stdin")))
                json_object_set_new(spec, "stdin", json_true());
        if (json_is_true(json_object_get(body, "tpm")))
                json_object_set_new(spec, "tpm", json_true());

        *ret = (struct zero_instance_row){};
        char id[33];
        int r = zero_random_id(id);
        if (r < 0) {
                json_decref(spec);
                return r;
        }
        ret->id = strdup(id);
        ret->name = strdup(name);
        ret->mode = strdup(mode);
        ret->state = strdup(zero_inst_state_name(zero_inst_transition_find("create")->accepted));
        ret->image = strdup(image);
        ret->cpus = cpus;
        ret->memory_mib = memory;
        ret->spec = json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS);
        ret->created_at = ret->updated_at = (int64_t) zero_now_usec();
        json_decref(spec);
        if (!ret->id || !ret->name || !ret->mode || !ret->state || !ret->image || !ret->spec) {
                zero_instance_row_done(ret);
                return -ENOMEM;
        }
        return 0;
}

/* IMAGE_DIR/name in *ret when the image has that file, NULL when it has not. */
static int image_file(const char *dir, const char *name, char **ret) {
        char *p = zero_strdup_printf("%s/%s", dir, name);

        if (!p)
                return -ENOMEM;
        if (access(p, F_OK) < 0)
                p = mfree(p);
        *ret = p;
        return 0;
}

void zero_info_done(struct zero_info_holder *h) {
        json_decref(h->spec);
        free(h->argv);
        strv_free(h->env);
        free(h->image_dir);
        free(h->kernel);
        free(h->initrd);
        if (h->card) {
                zero_card_info_done(h->card);
                free(h->card);
        }
        *h = (struct zero_info_holder){};
}

int zero_info_build(struct zero_agent *a, const struct zero_instance_row *row, struct zero_inst *inst,
                    struct zero_info_holder *ret, struct zero_error *err) {
        struct zero_info_holder h = {};
        json_error_t jerr;
        json_t *cmd, *env, *v;
        const char *key;
        size_t i, n;

        h.spec = json_loads(row->spec ? row->spec : "{}", 0, &jerr);
        if (!h.spec)
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL, "stored spec of %s is unreadable", row->name);
        cmd = json_object_get(h.spec, "command");
        env = json_object_get(h.spec, "env");
        n = json_array_size(cmd);
        h.argv = calloc(n + 1, sizeof(char *));
        h.env = calloc(json_object_size(env) + 1, sizeof(char *));
        h.image_dir = zero_strdup_printf("%s/images/%s", a->config->state_dir, row->image);
        h.card = calloc(1, sizeof(*h.card));
        if (!h.argv || !h.env || !h.image_dir || !h.card || image_file(h.image_dir, ZERO_IMAGE_KERNEL_FILE, &h.kernel) < 0 ||
            image_file(h.image_dir, ZERO_IMAGE_INITRD_FILE, &h.initrd) < 0) {
                zero_info_done(&h);
                return -ENOMEM;
        }
        for (i = 0; i < n; i++)
                h.argv[i] = (char *) json_string_value(json_array_get(cmd, i));
        i = 0;
        json_object_foreach(env, key, v) {
                h.env[i] = zero_strdup_printf("%s=%s", key, json_string_value(v));
                if (!h.env[i++]) {
                        zero_info_done(&h);
                        return -ENOMEM;
                }
        }
        h.info = (struct zero_instance_info){
                .size = sizeof(struct zero_instance_info),
                .id = row->id,
                .name = row->name,
                .mode = row->mode,
                .cpus = (unsigned) row->cpus,
                .memory_mib = (uint64_t) row->memory_mib,
                .argv = (const char *const *) h.argv,
                .env = (const char *const *) h.env,
                .hostname = json_string_value(json_object_get(h.spec, "hostname")),
                .cwd = json_string_value(json_object_get(h.spec, "cwd")),
                .readonly_rootfs = json_is_true(json_object_get(h.spec, "readonly_rootfs")),
                .image_name = row->image,
                .image_dir = h.image_dir,
                .run_dir = inst->run_dir,
                .state_dir = inst->state_dir,
                .pids_max = (uint64_t) json_integer_value(json_object_get(h.spec, "pids_max")),
                .userns = json_is_true(json_object_get(h.spec, "userns")),
                .stdin_open = json_is_true(json_object_get(h.spec, "stdin")),
                .tpm = json_is_true(json_object_get(h.spec, "tpm")),
                .kernel = h.kernel,
                .initrd = h.initrd,
        };
        if (zero_card_info_build(a, row->id, h.card) < 0) {
                zero_info_done(&h);
                return zero_error_set(err, -EIO, ZERO_E_UNAVAILABLE, "cannot read the volumes and NICs of %s", row->name);
        }
        h.info.n_volumes = h.card->n_atts;
        h.info.volumes = h.card->volumes;
        h.info.n_nics = h.card->n_nics;
        h.info.nics = h.card->nics;
        *ret = h;
        return 0;
}

json_t *zero_time_json(int64_t usec) {
        char buf[32];
        return usec ? json_string(zero_format_time((uint64_t) usec, buf)) : json_null();
}

json_t *zero_inst_json(const struct zero_instance_full *f) {
        const struct zero_instance_row *row = &f->inst;
        json_error_t jerr;
        json_t *spec = json_loads(row->spec ? row->spec : "{}", 0, &jerr);
        json_t *j;

        if (!spec)
                spec = json_object();
        json_t *host = json_object_get(spec, "hostname");
        j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:O,s:O,s:s,s:O,s:o,s:o,s:s?,s:o,s:o,s:o}", "id", row->id, "name",
                      row->name, "mode", row->mode, "state", row->state, "image", row->image, "cpus",
                      (json_int_t) row->cpus, "memory_mib", (json_int_t) row->memory_mib, "command",
                      json_object_get(spec, "command") ?: json_null(), "env", json_object_get(spec, "env") ?: json_null(),
                      "hostname", host ? json_string_value(host) : row->name, "readonly_rootfs",
                      json_object_get(spec, "readonly_rootfs") ?: json_false(), "pid",
                      row->pid > 0 ? json_integer(row->pid) : json_null(), "exit_code",
                      row->has_exit_code ? json_integer(row->exit_code) : json_null(), "error", row->error,
                      "created_at", zero_time_json(row->created_at), "started_at", zero_time_json(row->started_at),
                      "stopped_at", zero_time_json(row->stopped_at));
        if (j) {
                /* Container-only; kept through switches to a VM and back. */
                json_object_set(j, "pids_max", json_object_get(spec, "pids_max") ?: json_null());
                json_object_set_new(j, "userns", json_boolean(json_is_true(json_object_get(spec, "userns"))));
                json_object_set_new(j, "stdin", json_boolean(json_is_true(json_object_get(spec, "stdin"))));
                /* The vTPM's state stays with the instance in every mode; used when it is a VM. */
                json_object_set_new(j, "tpm", json_boolean(json_is_true(json_object_get(spec, "tpm"))));
        }
        json_decref(spec);
        if (j)
                zero_card_instance_json(f, j);
        return j;
}
