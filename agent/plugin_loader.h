/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* Finds runtime plugins (*.so) in a directory, checks their ABI and hands them the services. */
#include <stddef.h>

#include "zero/plugin.h"

/* An optional op of the plugin: present in its struct (size) and set. */
#define ZERO_PLUGIN_HAS(p, op)                                                                     \
        ((p)->size >= offsetof(struct zero_plugin, ops) + offsetof(struct zero_plugin_ops, op) + sizeof(void *) && \
         (p)->ops.op)

/* p's answer r to prepare or cleanup: ZERO_PLUGIN_PENDING ("call me again", plugin.h) only
 * from a plugin of minor 1 or later; an older plugin's positive answer is a success. */
static inline int zero_plugin_again_answer(const struct zero_plugin *p, int r) {
        return r == ZERO_PLUGIN_PENDING && ZERO_PLUGIN_ABI_MINOR_OF(p->abi_version) < 1 ? 0 : r;
}

/* Plugins one zerod loads at most: each instance holds a ctx per plugin (agent.h). */
#define ZERO_PLUGINS_MAX 16
/* A mode's name: [a-z][a-z0-9_-]*, at most this long. */
#define ZERO_PLUGIN_MODE_MAX 32

struct zero_loaded_plugin {
        void *handle;
        const struct zero_plugin *plugin;
        char *path;
        struct zero_probe probe;
};

struct zero_plugin_set {
        struct zero_loaded_plugin *items;
        size_t n;
};

/* Whether this agent can use p (plugin.h's version rules, the ops it calls, the mode's name):
 * 0, or -EPROTONOSUPPORT / -EINVAL with the reason in err. */
int zero_plugin_abi_check(const struct zero_plugin *p, struct zero_error *err);
/* Loads every plugin it can; a plugin that cannot be used is skipped with a log line saying why.
 * Fails only when the directory cannot be read. */
int zero_plugins_load(const char *dir, const struct zero_plugin_services *svc, struct zero_plugin_set **ret);
/* Asks every plugin's probe again: once the card is open, whose capabilities a mode may need
 * (plugin.h, 4.3: the bms plugin's). */
void zero_plugins_probe_again(struct zero_plugin_set *s);
struct zero_plugin_set *zero_plugins_free(struct zero_plugin_set *s);
const struct zero_loaded_plugin *zero_plugins_find(const struct zero_plugin_set *s, const char *mode);
/* The modes of the loaded plugins for a message, "container, vm or bms" ("" when none): the
 * modes a user may ask for. */
const char *zero_plugins_modes(const struct zero_plugin_set *s, char *buf, size_t size);
