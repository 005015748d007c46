/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* The services netns_create and netns_remove (plugin.h). */
#include "zero/plugin.h"

int zero_netns_svc_create(struct zero_plugin_ctx *ctx, const char *path, struct zero_error *err);
int zero_netns_svc_remove(struct zero_plugin_ctx *ctx, const char *path, struct zero_error *err);
