/* SPDX-License-Identifier: Apache-2.0 */
/* The vm plugin's per-VM state on the agent's ctx (instance.h). */
#include <stdlib.h>

#include "plugins/vm/instance.h"

struct vm_inst *vm_inst_get(const struct zero_plugin_services *svc, struct zero_plugin_ctx *ctx, bool create) {
        struct vm_inst *i;

        if (!svc || !ctx)
                return NULL;
        i = svc->get_data(ctx);
        if (i || !create)
                return i;
        i = calloc(1, sizeof(*i));
        if (i)
                svc->set_data(ctx, i);
        return i;
}

void vm_inst_free(const struct zero_plugin_services *svc, struct zero_plugin_ctx *ctx) {
        struct vm_inst *i = vm_inst_get(svc, ctx, false);

        if (!i)
                return;
        svc->set_data(ctx, NULL);
        free(i);
}
