/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "common/ini.h"
#include "common/log.h"
#include "common/util.h"

struct zero_config *zero_config_new(void) {
        return calloc(1, sizeof(struct zero_config));
}

struct zero_config *zero_config_free(struct zero_config *c) {
        if (!c)
                return NULL;
        zero_ini_done(&c->ini);
        free(c->state_dir);
        free(c->run_dir);
        free(c->plugin_dir);
        free(c->shim_path);
        free(c->node_name);
        for (size_t i = 0; i < c->n_listen; i++)
                free(c->listen[i]);
        for (size_t i = 0; i < c->n_import_dirs; i++)
                free(c->import_dirs[i]);
        free(c->unpack_path);
        free(c);
        return NULL;
}

const char *zero_config_get(const struct zero_config *c, const char *section, const char *key) {
        return zero_ini_get(&c->ini, section, key);
}

int zero_config_set(struct zero_config *c, const char *section, const char *key, const char *value,
                    struct zero_error *err) {
        if (streq(section, "agent") && streq(key, "listen")) {
                if (c->n_listen >= ZERO_LISTEN_MAX)
                        return zero_error_set(err, -E2BIG, ZERO_E_INVALID, "at most %d listen addresses",
                                              ZERO_LISTEN_MAX);
                if (strncmp(value, "unix:", 5) != 0 && strncmp(value, "tcp:", 4) != 0)
                        return zero_error_set(err, -EINVAL, ZERO_E_INVALID,
                                              "listen address '%s' is neither unix:PATH nor tcp:HOST:PORT", value);
                c->listen[c->n_listen] = strdup(value);
                if (!c->listen[c->n_listen])
                        return -ENOMEM;
                c->n_listen++;
                return 0;
        }
        return zero_ini_set(&c->ini, section, key, value);
}

static int on_ini_entry(void *userdata, const char *section, const char *key, const char *value,
                        struct zero_error *err) {
        return zero_config_set(userdata, section, key, value, err);
}

int zero_config_load_stream(struct zero_config *c, FILE *f, const char *name, struct zero_error *err) {
        return zero_ini_parse_stream(f, name, on_ini_entry, c, err);
}

int zero_config_load_file(struct zero_config *c, const char *path, struct zero_error *err) {
        return zero_ini_parse_file(path, on_ini_entry, c, err);
}

static int get_u64(const struct zero_config *c, const char *section, const char *key, int64_t min, int64_t max,
                   int64_t def, int64_t *ret, struct zero_error *err) {
        const char *v = zero_config_get(c, section, key);
        if (!v) {
                *ret = def;
                return 0;
        }
        if (zero_parse_int64(v, min, max, ret) < 0)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "[%s] %s=%s: expected an integer in %lld..%lld",
                                      section, key, v, (long long) min, (long long) max);
        return 0;
}

static int dup_or(const struct zero_config *c, const char *key, const char *def, char **ret) {
        const char *v = zero_config_get(c, "agent", key);
        if (!v && !def) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(v ? v : def);
        return *ret ? 0 : -ENOMEM;
}

/* [images] import_dirs: absolute paths separated by ':', as PATH is. Empty (the default): the
 * API takes no host path at all, images are uploaded. "/" is refused: it would let any caller
 * read every file of the node. Each is kept without trailing '/'; whether it exists is asked
 * at each import (a directory made after zerod started counts). */
static int parse_import_dirs(struct zero_config *c, struct zero_error *err) {
        const char *v = zero_config_get(c, "images", "import_dirs");
        _cleanup_free_ char *copy = v ? strdup(v) : NULL;
        char *save = NULL;

        if (!v)
                return 0;
        if (!copy)
                return -ENOMEM;
        for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
                size_t n = strlen(d);

                while (n > 1 && d[n - 1] == '/')
                        d[--n] = '\0';
                if (d[0] != '/' || streq(d, "/") || strstr(d, "/../") || (n >= 3 && streq(d + n - 3, "/..")))
                        return zero_error_set(err, -EINVAL, ZERO_E_INVALID,
                                              "[images] import_dirs: '%s' is not an absolute directory other than /", d);
                if (c->n_import_dirs >= ZERO_IMPORT_DIRS_MAX)
                        return zero_error_set(err, -E2BIG, ZERO_E_INVALID, "[images] import_dirs: at most %d directories",
                                              ZERO_IMPORT_DIRS_MAX);
                if (!(c->import_dirs[c->n_import_dirs] = strdup(d)))
                        return -ENOMEM;
                c->n_import_dirs++;
        }
        return 0;
}

int zero_config_finish(struct zero_config *c, struct zero_error *err) {
        static const char *const shim_candidates[] = {"../shim/zero-shim", "../libexec/zero/zero-shim", NULL};
        static const char *const plugin_candidates[] = {"../plugins", "../lib/zero/plugins", NULL};
        static const char *const unpack_candidates[] = {"zero-unpack", "../libexec/zero/zero-unpack", NULL};
        const char *v;
        int64_t x;
        int r;

        if ((r = dup_or(c, "state_dir", "/var/lib/zero", &c->state_dir)) < 0 ||
            (r = dup_or(c, "run_dir", "/run/zero", &c->run_dir)) < 0 ||
            (r = dup_or(c, "node_name", NULL, &c->node_name)) < 0)
                return r;
        if ((r = dup_or(c, "plugin_dir", NULL, &c->plugin_dir)) < 0 || (r = dup_or(c, "shim", NULL, &c->shim_path)) < 0)
                return r;
        if (!c->shim_path)
                c->shim_path = zero_path_beside_exe(shim_candidates);
        if (!c->shim_path)
                return zero_error_set(err, -ENOENT, ZERO_E_INVALID, "cannot find zero-shim: set [agent] shim=PATH");
        if (!c->plugin_dir)
                c->plugin_dir = zero_path_beside_exe(plugin_candidates);
        if (!c->plugin_dir)
                return zero_error_set(err, -ENOENT, ZERO_E_INVALID,
                                      "cannot find the plugin directory: use --plugin-dir or [agent] plugin_dir");
        if (!c->node_name) {
                char host[256] = "";
                (void) gethostname(host, sizeof(host) - 1);
                c->node_name = strdup(host[0] ? host : "zero");
                if (!c->node_name)
                        return -ENOMEM;
        }
        if (c->n_listen == 0) {
                c->listen[0] = zero_strdup_printf("unix:%s/zerod.sock", c->run_dir);
                if (!c->listen[0])
                        return -ENOMEM;
                c->n_listen = 1;
        }

        v = zero_config_get(c, "agent", "log_level");
        c->log_level = LOG_INFO;
        if (v) {
                static const char *const names[] = {"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"};
                c->log_level = -1;
                for (int i = 0; i < (int) ELEMENTSOF(names); i++)
                        if (streq(v, names[i]) || (streq(v, "error") && i == LOG_ERR))
                                c->log_level = i;
                if (c->log_level < 0)
                        return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "[agent] log_level=%s: unknown level", v);
        }

        if ((r = get_u64(c, "limits", "max_instances", 1, 100000, 1000, &c->max_instances, err)) < 0 ||
            (r = get_u64(c, "limits", "console_log_max", 4096, INT64_C(1) << 30, 1 << 20, &x, err)) < 0)
                return r;
        c->console_log_max = (uint64_t) x;
        if ((r = get_u64(c, "limits", "body_max", 1024, 16 << 20, 1 << 20, &x, err)) < 0)
                return r;
        c->body_max = (uint64_t) x;
        if ((r = get_u64(c, "limits", "max_connections", 8, 65536, 1024, &c->max_connections, err)) < 0 ||
            (r = get_u64(c, "limits", "memory_reserved_mib", 0, INT64_C(1) << 30, 0, &c->memory_reserved_mib, err)) < 0 ||
            (r = get_u64(c, "limits", "cpu_overcommit", 1, 10000, 500, &x, err)) < 0)
                return r;
        c->cpu_overcommit = (double) x;
        if ((r = get_u64(c, "limits", "max_connections_per_client", 1, 65536, 64, &c->max_connections_per_client, err)) < 0 ||
            (r = get_u64(c, "limits", "header_timeout_s", 1, 3600, 10, &c->header_timeout_s, err)) < 0 ||
            (r = get_u64(c, "limits", "idle_timeout_s", 1, 3600, 60, &c->idle_timeout_s, err)) < 0 ||
            (r = get_u64(c, "limits", "max_parked", 1, 65536, 512, &c->max_parked, err)) < 0)
                return r;

        if ((r = parse_import_dirs(c, err)) < 0 ||
            (r = get_u64(c, "images", "upload_max", 1 << 20, INT64_C(1) << 50, INT64_C(16) << 30, &x, err)) < 0)
                return r;
        c->upload_max = (uint64_t) x;
        if ((r = get_u64(c, "images", "image_max", 1 << 20, INT64_C(1) << 50, INT64_C(64) << 30, &x, err)) < 0)
                return r;
        c->image_max = (uint64_t) x;
        v = zero_config_get(c, "images", "unpack_helper");
        c->unpack_path = v ? strdup(v) : zero_path_beside_exe(unpack_candidates);
        if (!c->unpack_path)
                return zero_error_set(err, -ENOENT, ZERO_E_INVALID,
                                      "cannot find zero-unpack: set [images] unpack_helper=PATH");
        return 0;
}
