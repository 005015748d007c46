/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* Finds runtime plugins (*.so) in a directory, checks their ABI and hands them the services. */
#include <stddef.h>

#include "zero/plugin.h"

/* An optional op of the plugin: present in its struct (size) and set. */
#define ZERO_PLUGIN_HAS(p, op)                                                                     \
        ((p)->size >= offsetof(struct zero_plugin, ops) + offsetof(struct zero_plugin_ops, op) + sizeof(void *) && \
         (p)->ops.op)

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

/* Loads every plugin it can; a plugin that cannot be used is skipped with a log line saying why.
 * Fails only when the directory cannot be read. */
int zero_plugins_load(const char *dir, const struct zero_plugin_services *svc, struct zero_plugin_set **ret);
struct zero_plugin_set *zero_plugins_free(struct zero_plugin_set *s);
const struct zero_loaded_plugin *zero_plugins_find(const struct zero_plugin_set *s, const char *mode);
/* Runs every plugin's probe again (cheap: plugins cache what is costly). */
void zero_plugins_probe(struct zero_plugin_set *s);
