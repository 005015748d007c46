/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/plugin_loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/elf_symbols.h"
#include "common/log.h"
#include "common/util.h"
#include "zero/card.h"

/* The smallest struct zero_plugin this agent can use: everything up to the last op it calls. */
#define PLUGIN_MIN_SIZE (offsetof(struct zero_plugin, ops) + offsetof(struct zero_plugin_ops, cleanup) + \
                         sizeof(((struct zero_plugin_ops *) 0)->cleanup))

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static bool mode_valid(const char *m) {
        size_t n = m ? strlen(m) : 0;

        if (n == 0 || n > ZERO_PLUGIN_MODE_MAX || m[0] < 'a' || m[0] > 'z')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((m[i] >= 'a' && m[i] <= 'z') || (m[i] >= '0' && m[i] <= '9') || m[i] == '-' || m[i] == '_'))
                        return false;
        return true;
}

/* "4.1"; a plugin from before ABI 4 had one number, a major: "3". */
static const char *version_str(uint32_t v, char buf[static 24]) {
        if (ZERO_PLUGIN_ABI_MAJOR_OF(v) == 0)
                snprintf(buf, 24, "%u", ZERO_PLUGIN_ABI_MINOR_OF(v));
        else
                snprintf(buf, 24, "%u.%u", ZERO_PLUGIN_ABI_MAJOR_OF(v), ZERO_PLUGIN_ABI_MINOR_OF(v));
        return buf;
}

int zero_plugin_abi_check(const struct zero_plugin *p, struct zero_error *err) {
        char built[24], ours[24];
        uint32_t major;

        if (!p)
                return zero_error_set(err, -EPROTONOSUPPORT, ZERO_E_INTERNAL, "%s() returned no plugin",
                                      ZERO_PLUGIN_ENTRY);
        major = ZERO_PLUGIN_ABI_MAJOR_OF(p->abi_version);
        version_str(p->abi_version, built);
        version_str(ZERO_PLUGIN_ABI_VERSION, ours);
        /* Another major moved or changed what both sides read: nothing of it can be trusted. */
        if (major != ZERO_PLUGIN_ABI_MAJOR)
                return zero_error_set(err, -EPROTONOSUPPORT, ZERO_E_INTERNAL,
                                      "built for plugin ABI version %s, this zerod speaks version %s (another major)",
                                      built, ours);
        /* A newer minor only appended; it is refused only when it cannot do without what came
         * after this agent's minor. */
        if (p->size >= offsetof(struct zero_plugin, ops) && p->abi_minor_needed > ZERO_PLUGIN_ABI_MINOR)
                return zero_error_set(err, -EPROTONOSUPPORT, ZERO_E_INTERNAL,
                                      "built for plugin ABI version %s, it needs %u.%u or later, this zerod speaks "
                                      "version %s",
                                      built, major, p->abi_minor_needed, ours);
        if (p->size < PLUGIN_MIN_SIZE || !p->name || !p->mode || !p->ops.probe || !p->ops.prepare || !p->ops.start ||
            !p->ops.stop || !p->ops.kill || !p->ops.cleanup)
                return zero_error_set(err, -EPROTONOSUPPORT, ZERO_E_INTERNAL,
                                      "incomplete plugin struct (size %u, needs %zu and every op)", p->size,
                                      PLUGIN_MIN_SIZE);
        if (!mode_valid(p->mode))
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL,
                                      "its mode '%.64s' is not valid: use 1-%d of [a-z0-9_-], starting with a letter",
                                      p->mode, ZERO_PLUGIN_MODE_MAX);
        return 0;
}

/* The plugin's answer, in a struct zeroed and sized anew each time (plugin.h: it fills no more). */
static void probe(struct zero_loaded_plugin *lp) {
        lp->probe = (struct zero_probe){.size = sizeof(struct zero_probe)};
        (void) lp->plugin->ops.probe(&lp->probe);
        lp->probe.size = sizeof(struct zero_probe);
}

static int load_one(struct zero_plugin_set *s, const char *path, const struct zero_plugin_services *svc) {
        struct zero_loaded_plugin lp = {.probe.size = sizeof(struct zero_probe)};
        struct zero_error err = {};
        zero_plugin_entry_fn entry;
        const struct zero_plugin *p;
        void *h;
        int r;

        /* The card's driver shares the directory (card_loader.c loads the one [card] driver
         * names). Told apart by its file, not by loading it: a driver's libraries would stay
         * mapped (the lab's libcurl and OpenSSL: 3.2 MiB of RSS, elf_symbols.h). A file that
         * cannot be read so is loaded and judged as before. */
        if (zero_elf_exports(path, ZERO_CARD_DRIVER_ENTRY) > 0 && zero_elf_exports(path, ZERO_PLUGIN_ENTRY) == 0) {
                log_debug("Skipping %s: a card driver, not a runtime plugin", path);
                return 0;
        }
        h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
                log_error("Refusing plugin %s: %s", path, dlerror());
                return -ENOEXEC;
        }
        zero_log_pass_on(h);
        entry = (zero_plugin_entry_fn) dlsym(h, ZERO_PLUGIN_ENTRY);
        if (!entry && dlsym(h, ZERO_CARD_DRIVER_ENTRY)) {
                /* The card's driver shares the directory (card_loader.c loads it). */
                log_debug("Skipping %s: a card driver, not a runtime plugin", path);
                dlclose(h);
                return 0;
        }
        if (!entry) {
                log_error("Refusing plugin %s: it exports no %s()", path, ZERO_PLUGIN_ENTRY);
                dlclose(h);
                return -ENOEXEC;
        }
        p = entry();
        r = zero_plugin_abi_check(p, &err);
        if (r < 0) {
                log_error("Refusing plugin %s: %s", path, err.message);
                dlclose(h);
                return r;
        }
        for (size_t i = 0; i < s->n; i++)
                if (streq(s->items[i].plugin->mode, p->mode)) {
                        log_error("Refusing plugin %s: mode '%s' is already served by %s", path, p->mode,
                                  s->items[i].path);
                        dlclose(h);
                        return -EEXIST;
                }
        if (s->n >= ZERO_PLUGINS_MAX) {
                log_error("Refusing plugin %s: %d plugins are loaded already, the most one zerod takes", path,
                          ZERO_PLUGINS_MAX);
                dlclose(h);
                return -E2BIG;
        }
        /* Everything that can fail before init: after a successful init, only fini may precede
         * the dlclose (issue 11, item 9). */
        lp.path = strdup(path);
        if (!lp.path) {
                dlclose(h);
                return -ENOMEM;
        }
        if (p->ops.init) {
                r = p->ops.init(svc, &err);
                if (r < 0) {
                        log_error_errno(r, "Refusing plugin %s: init failed: %s", path,
                                        err.message[0] ? err.message : "(no reason given)");
                        free(lp.path);
                        dlclose(h);
                        return r;
                }
        }
        lp.handle = h;
        lp.plugin = p;
        probe(&lp);
        s->items[s->n++] = lp;
        log_info("Loaded plugin %s (mode %s, ABI %u.%u) from %s: %s%s%s", p->name, p->mode,
                 ZERO_PLUGIN_ABI_MAJOR_OF(p->abi_version), ZERO_PLUGIN_ABI_MINOR_OF(p->abi_version), path,
                 lp.probe.available ? "available" : "unavailable", lp.probe.reason[0] ? ", " : "", lp.probe.reason);
        return 0;
}

void zero_plugins_probe_again(struct zero_plugin_set *s) {
        for (size_t i = 0; s && i < s->n; i++) {
                struct zero_loaded_plugin *lp = &s->items[i];
                bool was = lp->probe.available;

                probe(lp);
                if (lp->probe.available != was)
                        log_info("Plugin %s (mode %s) is %s now%s%s", lp->plugin->name, lp->plugin->mode,
                                 lp->probe.available ? "available" : "unavailable", lp->probe.reason[0] ? ": " : "",
                                 lp->probe.reason);
        }
}

int zero_plugins_load(const char *dir, const struct zero_plugin_services *svc, struct zero_plugin_set **ret) {
        struct zero_plugin_set *s;
        char **names = NULL;
        size_t n = 0;
        struct dirent *de;
        DIR *d;

        d = opendir(dir);
        if (!d)
                return log_error_errno(errno, "Failed to open plugin directory %s: %m", dir);
        while ((de = readdir(d))) {
                size_t len = strlen(de->d_name);
                char **nn;
                if (len < 4 || !streq(de->d_name + len - 3, ".so"))
                        continue;
                nn = realloc(names, (n + 1) * sizeof(char *));
                if (!nn)
                        break;
                names = nn;
                names[n] = strdup(de->d_name);
                if (names[n])
                        n++;
        }
        closedir(d);
        if (n > 0)
                qsort(names, n, sizeof(char *), cmp_str);

        s = calloc(1, sizeof(*s));
        if (s)
                s->items = calloc(n ? n : 1, sizeof(*s->items));
        for (size_t i = 0; i < n; i++) {
                if (s && s->items) {
                        _cleanup_free_ char *path = zero_strdup_printf("%s/%s", dir, names[i]);
                        if (path)
                                (void) load_one(s, path, svc);
                }
                free(names[i]);
        }
        free(names);
        if (!s || !s->items) {
                zero_plugins_free(s);
                return -ENOMEM;
        }
        *ret = s;
        return 0;
}

struct zero_plugin_set *zero_plugins_free(struct zero_plugin_set *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n; i++) {
                if (s->items[i].plugin->ops.fini)
                        s->items[i].plugin->ops.fini();
                dlclose(s->items[i].handle);
                free(s->items[i].path);
        }
        free(s->items);
        free(s);
        return NULL;
}

const struct zero_loaded_plugin *zero_plugins_find(const struct zero_plugin_set *s, const char *mode) {
        for (size_t i = 0; s && i < s->n; i++)
                if (streq(s->items[i].plugin->mode, mode))
                        return &s->items[i];
        return NULL;
}

const char *zero_plugins_modes(const struct zero_plugin_set *s, char *buf, size_t size) {
        size_t n = s ? s->n : 0, k = 0;

        if (size > 0)
                buf[0] = '\0';
        for (size_t i = 0; i < n && k < size; i++) {
                int w = snprintf(buf + k, size - k, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ",
                                 s->items[i].plugin->mode);
                if (w < 0)
                        break;
                k += (size_t) w;
        }
        return buf;
}
