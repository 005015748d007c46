/* SPDX-License-Identifier: Apache-2.0 */
/* GET /v1/node: what this node is, has, runs and can run. */
#include <string.h>

#include "agent/agent.h"
#include "agent/plugin_loader.h"
#include "common/util.h"

#ifndef ZERO_VERSION
#define ZERO_VERSION "0.0.0"
#endif

/* Derived from what holds resources (instance_state.h: an idle instance holds none): idle, the
 * one mode in use (its plugin's; VMs make an "ecs" node), or mixed; an exclusive mode's instance
 * (bms: zero_probe.exclusive) takes the whole machine, and the node is in its mode. */
const char *zero_node_mode_of(const struct zero_plugin_set *plugins, const struct zero_instance_count *counts,
                              size_t n) {
        const char *used = NULL;
        const char *exclusive = NULL;
        bool mixed = false;

        for (size_t i = 0; i < n; i++) {
                const struct zero_loaded_plugin *lp;

                if (counts[i].count <= 0 || zero_inst_state_idle(zero_inst_state_from_name(counts[i].state)))
                        continue;
                lp = counts[i].mode ? zero_plugins_find(plugins, counts[i].mode) : NULL;
                if (!lp)
                        continue; /* its plugin is gone: it holds nothing this zerod runs */
                if (lp->probe.exclusive)
                        exclusive = lp->plugin->mode;
                if (used && !streq(used, lp->plugin->mode))
                        mixed = true;
                used = lp->plugin->mode; /* the plugin's string: it outlives the counts */
        }
        if (exclusive)
                return exclusive;
        if (mixed)
                return "mixed";
        return !used ? "idle" : streq(used, "vm") ? "ecs" : used;
}

json_t *zero_node_to_json(struct zero_agent *a, const struct zero_instance_count *counts, size_t n_counts) {
        int64_t cpus = 0, mem = 0, n = 0;
        json_t *plugins = json_array();
        bool enforced = false;
        const char *accel = "none";

        /* Every state but stopped and error holds its resources (zero_store_instance_allocated()'s
         * rule, which admission uses), including creating and deleting. */
        for (size_t i = 0; i < n_counts; i++) {
                n += counts[i].count;
                if (!zero_inst_state_idle(zero_inst_state_from_name(counts[i].state))) {
                        cpus += counts[i].cpus;
                        mem += counts[i].memory_mib;
                }
        }
        for (size_t i = 0; a->plugins && i < a->plugins->n; i++) {
                const struct zero_loaded_plugin *lp = &a->plugins->items[i];
                json_t *p = json_pack("{s:s,s:s,s:s,s:b,s:s,s:s,s:b,s:b,s:b}", "name", lp->plugin->name, "mode",
                                      lp->plugin->mode, "path", lp->path, "available", lp->probe.available, "reason",
                                      lp->probe.reason, "runtime", lp->probe.runtime, "resource_limits_enforced",
                                      lp->probe.resource_limits_enforced, "exclusive", lp->probe.exclusive, "tpm",
                                      lp->probe.tpm);
                /* Why a runtime that could give a vTPM (the vm plugin) cannot: swtpm missing. */
                if (p && lp->probe.tpm_reason[0])
                        json_object_set_new(p, "tpm_reason", json_string(lp->probe.tpm_reason));
                json_array_append_new(plugins, p);
                /* The container plugin's cgroup manager applies cpu, memory and pids limits
                 * together, or none of them. */
                if (streq(lp->plugin->mode, "container"))
                        enforced = lp->probe.resource_limits_enforced;
                if (streq(lp->plugin->mode, "vm") && lp->probe.available && lp->probe.accelerator[0])
                        accel = lp->probe.accelerator;
        }
        return json_pack("{s:s,s:s,s:I,s:I,s:{s:I,s:I,s:I},s:s,s:o,s:{s:b,s:b,s:s}}", "name", a->config->node_name,
                         "version", ZERO_VERSION, "cpus", (json_int_t) a->node_cpus, "memory_mib",
                         (json_int_t) a->node_memory_mib, "allocated", "cpus", (json_int_t) cpus, "memory_mib",
                         (json_int_t) mem, "instances", (json_int_t) n, "mode", zero_node_mode_of(a->plugins, counts, n_counts), "plugins", plugins,
                         "features", "cgroups_enforced", enforced, "pids_limit_enforced", enforced, "accelerator", accel);
}
