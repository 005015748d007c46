/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The vm plugin's state about one VM, kept on the agent's ctx (services->set_data, plugin.h), so
 * that the plugin keeps no registry keyed by ctx. Made on first use; freed by vm_inst_free(),
 * which release() calls (the agent releases every ctx before fini()).
 */
#include <stdbool.h>

#include "zero/plugin.h"

struct vm_mon;
struct vm_job;
struct vm_mig;

struct vm_inst {
        char **prepared;     /* the command line prepare built, for the start that follows (vm.c) */
        struct vm_mon *mon;  /* the QMP connection (monitor.c) */
        struct vm_job *job;  /* the hot-plug job under way (hotplug.c) */
        struct vm_mig *mig;  /* the migration's state and job under way (migrate.c) */
};

/* ctx's state; with create, made when there is none (NULL: out of memory); without, NULL when
 * there is none. */
struct vm_inst *vm_inst_get(const struct zero_plugin_services *svc, struct zero_plugin_ctx *ctx, bool create);
/* Frees ctx's state; what it points to must be gone already. */
void vm_inst_free(const struct zero_plugin_services *svc, struct zero_plugin_ctx *ctx);
