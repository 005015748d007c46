/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/plugin_loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "zero/card.h"

/* The smallest struct zero_plugin this agent can use: everything up to the last op it calls. */
#define PLUGIN_MIN_SIZE (offsetof(struct zero_plugin, ops) + offsetof(struct zero_plugin_ops, cleanup) + \
                         sizeof(((struct zero_plugin_ops *) 0)->cleanup))

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static int load_one(struct zero_plugin_set *s, const char *path, const struct zero_plugin_services *svc) {
        struct zero_loaded_plugin lp = {};
        struct zero_error err = {};
        zero_plugin_entry_fn entry;
        const struct zero_plugin *p;
        void *h;
        int r;

        h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
                log_error("Refusing plugin %s: %s", path, dlerror());
                return -ENOEXEC;
        }
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
        if (!p || p->abi_version != ZERO_PLUGIN_ABI_VERSION) {
                log_error("Refusing plugin %s: built for plugin ABI version %u, this zerod speaks version %u",
                          path, p ? p->abi_version : 0, ZERO_PLUGIN_ABI_VERSION);
                dlclose(h);
                return -EPROTONOSUPPORT;
        }
        if (p->size < PLUGIN_MIN_SIZE || !p->name || !p->mode || !p->ops.probe || !p->ops.prepare ||
            !p->ops.start || !p->ops.stop || !p->ops.kill || !p->ops.cleanup) {
                log_error("Refusing plugin %s: incomplete plugin struct (size %u, needs %zu and every op)", path,
                          p->size, PLUGIN_MIN_SIZE);
                dlclose(h);
                return -EPROTONOSUPPORT;
        }
        for (size_t i = 0; i < s->n; i++)
                if (streq(s->items[i].plugin->mode, p->mode)) {
                        log_error("Refusing plugin %s: mode '%s' is already served by %s", path, p->mode,
                                  s->items[i].path);
                        dlclose(h);
                        return -EEXIST;
                }
        if (p->ops.init) {
                r = p->ops.init(svc, &err);
                if (r < 0) {
                        log_error_errno(r, "Refusing plugin %s: init failed: %s", path,
                                        err.message[0] ? err.message : "(no reason given)");
                        dlclose(h);
                        return r;
                }
        }
        lp.handle = h;
        lp.plugin = p;
        lp.path = strdup(path);
        if (!lp.path) {
                dlclose(h);
                return -ENOMEM;
        }
        (void) p->ops.probe(&lp.probe);
        s->items[s->n++] = lp;
        log_info("Loaded plugin %s (mode %s) from %s: %s%s%s", p->name, p->mode, path,
                 lp.probe.available ? "available" : "unavailable", lp.probe.reason[0] ? ", " : "", lp.probe.reason);
        return 0;
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

void zero_plugins_probe(struct zero_plugin_set *s) {
        for (size_t i = 0; s && i < s->n; i++)
                (void) s->items[i].plugin->ops.probe(&s->items[i].probe);
}
