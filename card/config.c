/* SPDX-License-Identifier: Apache-2.0 */
#include "card/config.h"

#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "common/ini.h"
#include "common/util.h"

#define MIB (1024ULL * 1024ULL)

struct zc_config *zc_config_free(struct zc_config *c) {
        if (!c)
                return NULL;
        zero_ini_done(&c->ini);
        free(c->state_dir);
        free(c->run_dir);
        free(c->netns);
        free(c->api_socket);
        free(c->softcard);
        free(c->shim);
        free(c->kernel);
        free(c->initrd);
        free(c->accel);
        free(c->listen);
        free(c->zerod_log_level);
        free(c->personality);
        free(c);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct zc_config *, zc_config_free)

const char *zc_config_get(const struct zc_config *c, const char *section, const char *key) {
        return zero_ini_get(&c->ini, section, key);
}

static int on_entry(void *userdata, const char *section, const char *key, const char *value, struct zero_error *err) {
        struct zc_config *c = userdata;
        return zero_ini_set(&c->ini, section, key, value);
}

/* A string value, def when unset (NULL: none); required ones say so. */
static int get_str(struct zc_config *c, const char *section, const char *key, const char *def, bool required,
                   char **ret, struct zero_error *err) {
        const char *v = zc_config_get(c, section, key);

        if (!v && required)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "[%s] %s is required", section, key);
        v = v ?: def;
        *ret = v ? strdup(v) : NULL;
        return !v || *ret ? 0 : -ENOMEM;
}

static int get_int(struct zc_config *c, const char *section, const char *key, int64_t min, int64_t max, int64_t def,
                   int64_t *ret, struct zero_error *err) {
        const char *v = zc_config_get(c, section, key);

        *ret = def;
        if (v && zero_parse_int64(v, min, max, ret) < 0)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "[%s] %s=%s: expected an integer in %lld..%lld",
                                      section, key, v, (long long) min, (long long) max);
        return 0;
}

static int log_level_of(const char *v, int *ret) {
        static const char *const names[] = {[LOG_ERR] = "error",
                                            [LOG_WARNING] = "warning",
                                            [LOG_NOTICE] = "notice",
                                            [LOG_INFO] = "info",
                                            [LOG_DEBUG] = "debug"};
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (names[i] && streq(names[i], v)) {
                        *ret = (int) i;
                        return 0;
                }
        return -EINVAL;
}

int zc_config_load(const char *path, struct zc_config **ret, struct zero_error *err) {
        static const char *const shim_candidates[] = {"../shim/zero-shim", "../libexec/zero/zero-shim", NULL};
        static const char *const softcard_candidates[] = {"../plugins/softcard.so", "../lib/zero/plugins/softcard.so",
                                                          NULL};
        _cleanup_(zc_config_freep) struct zc_config *c = calloc(1, sizeof(*c));
        _cleanup_free_ char *level = NULL, *autostart = NULL, *maintenance = NULL;
        int64_t n;
        int r;

        if (!c)
                return -ENOMEM;
        r = zero_ini_parse_file(path, on_entry, c, err);
        if (r < 0)
                return r;
        if ((r = get_str(c, "card", "state_dir", NULL, true, &c->state_dir, err)) < 0 ||
            (r = get_str(c, "card", "run_dir", NULL, true, &c->run_dir, err)) < 0 ||
            (r = get_str(c, "card", "netns", NULL, false, &c->netns, err)) < 0 ||
            (r = get_str(c, "card", "api_socket", NULL, false, &c->api_socket, err)) < 0 ||
            (r = get_str(c, "card", "softcard", NULL, false, &c->softcard, err)) < 0 ||
            (r = get_str(c, "card", "shim", NULL, false, &c->shim, err)) < 0 ||
            (r = get_str(c, "card", "log_level", "info", false, &level, err)) < 0 ||
            (r = get_str(c, "host", "kernel", NULL, false, &c->kernel, err)) < 0 ||
            (r = get_str(c, "host", "initrd", NULL, false, &c->initrd, err)) < 0 ||
            (r = get_str(c, "host", "accel", "tcg", false, &c->accel, err)) < 0 ||
            (r = get_str(c, "host", "listen", "127.0.0.1:0", false, &c->listen, err)) < 0 ||
            (r = get_str(c, "host", "autostart", "true", false, &autostart, err)) < 0 ||
            (r = get_str(c, "host", "maintenance", "false", false, &maintenance, err)) < 0 ||
            (r = get_str(c, "host", "zerod_log_level", "info", false, &c->zerod_log_level, err)) < 0 ||
            (r = get_str(c, "host", "personality", "virtio-blk", false, &c->personality, err)) < 0)
                return r;
        if (c->state_dir[0] != '/' || c->run_dir[0] != '/')
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "[card] state_dir and run_dir are absolute paths");
        if (log_level_of(level, &c->log_level) < 0)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID,
                                      "[card] log_level=%s: expected error, warning, "
                                      "notice, info or debug",
                                      level);
        if (!streq(c->accel, "tcg") && !streq(c->accel, "kvm"))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "[host] accel=%s: expected tcg or kvm", c->accel);
        if (!streq(autostart, "true") && !streq(autostart, "false"))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "[host] autostart=%s: expected true or false",
                                      autostart);
        c->autostart = streq(autostart, "true");
        if (!streq(maintenance, "true") && !streq(maintenance, "false"))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "[host] maintenance=%s: expected true or false",
                                      maintenance);
        c->maintenance = streq(maintenance, "true");
        if (!strchr(c->listen, ':'))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "[host] listen=%s: expected HOST:PORT", c->listen);
        if ((r = get_int(c, "host", "memory_mib", 256, 1 << 20, 1024, &n, err)) < 0)
                return r;
        c->memory_mib = (uint64_t) n;
        if ((r = get_int(c, "host", "cpus", 1, 64, 1, &n, err)) < 0)
                return r;
        c->cpus = (unsigned) n;
        if ((r = get_int(c, "host", "hotplug_ports", 1, 32, 8, &n, err)) < 0)
                return r;
        c->hotplug_ports = (unsigned) n;
        if ((r = get_int(c, "host", "state_volume_size", (int64_t) (256 * MIB), INT64_MAX, (int64_t) (4096 * MIB), &n,
                         err)) < 0)
                return r;
        c->state_volume_size = (uint64_t) n;
        if ((r = get_int(c, "host", "console_log_max", 1024, 1LL << 40, (int64_t) MIB, &n, err)) < 0)
                return r;
        c->console_log_max = (uint64_t) n;
        if (!c->api_socket && !(c->api_socket = zero_strdup_printf("%s/card.sock", c->run_dir)))
                return -ENOMEM;
        if (!c->shim && !(c->shim = zero_path_beside_exe(shim_candidates)))
                return zero_error_set(err, -ENOENT, ZERO_E_INVALID, "cannot find zero-shim: set [card] shim=PATH");
        if (!c->softcard && !(c->softcard = zero_path_beside_exe(softcard_candidates)))
                return zero_error_set(err, -ENOENT, ZERO_E_INVALID,
                                      "cannot find softcard.so: set [card] softcard=PATH");
        *ret = TAKE_PTR(c);
        return 0;
}
