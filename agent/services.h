/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include "agent/agent.h"

void zero_services_init(struct zero_agent *a);
struct zero_loaded_plugin;

/* The ctx that plugin lp gets for inst: one per instance and plugin, stable (plugin.h). */
struct zero_plugin_ctx *zero_services_ctx(struct zero_inst *inst, const struct zero_loaded_plugin *lp);
/* A new instance's ctxs, empty. */
void zero_services_ctx_init(struct zero_inst *inst);
/* The agent forgets inst: every plugin's release() with its ctx. */
void zero_services_release(struct zero_inst *inst);
