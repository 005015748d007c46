/* SPDX-License-Identifier: Apache-2.0 */
/* Who owns the node (node_owner.h). */
#include "agent/node_owner.h"

#include <stdio.h>
#include <string.h>

#include "agent/instance_state.h"
#include "agent/operation.h"
#include "agent/plugin_loader.h"
#include "common/util.h"

static bool mode_exclusive(const struct zero_agent *a, const char *mode) {
        const struct zero_loaded_plugin *lp = zero_plugins_find(a->plugins, mode);

        return lp && lp->probe.exclusive;
}

/* Appends "'web' (container, running)" to buf, after ", " when it holds some already. */
static void name_holder(char *buf, size_t size, const struct zero_instance_row *row) {
        size_t len = strlen(buf);

        if (len < size)
                snprintf(buf + len, size - len, "%s'%s' (%s, %s)", len ? ", " : "", row->name, row->mode, row->state);
}

int zero_node_owner_check(struct zero_agent *a, const char *self, const char *name, const char *mode,
                          struct zero_error *err) {
        bool exclusive = mode_exclusive(a, mode);
        struct zero_instance_row *rows = NULL;
        const struct zero_instance_row *owner = NULL;
        char held[512] = "";
        size_t n = 0, n_held = 0;
        int r;

        r = zero_store_instance_list(a->store, &rows, &n);
        if (r < 0)
                return zero_error_store(err, r, "reading instances");
        for (size_t i = 0; i < n && !owner; i++) {
                const struct zero_instance_row *row = &rows[i];

                if ((self && streq(row->id, self)) || zero_inst_state_idle(zero_inst_state_of(row)))
                        continue;
                if (mode_exclusive(a, row->mode))
                        owner = row; /* at most one: it was admitted alone */
                else if (exclusive && n_held++ < ZERO_NODE_OWNER_NAMED)
                        name_holder(held, sizeof(held), row);
        }
        if (owner)
                r = zero_error_set(err, -EBUSY, ZERO_E_CONFLICT,
                                   "the node is held by %s instance '%s' (%s): it has the node to itself, so '%s' "
                                   "cannot run beside it",
                                   owner->mode, owner->name, owner->state, name);
        else if (exclusive && n_held > 0) {
                char more[48] = "";

                if (n_held > ZERO_NODE_OWNER_NAMED)
                        snprintf(more, sizeof(more), " and %zu more", n_held - ZERO_NODE_OWNER_NAMED);
                r = zero_error_set(err, -EBUSY, ZERO_E_CONFLICT,
                                   "the node is held by %s%s: %s instance '%s' needs the node to itself "
                                   "(\"evict\": \"stop\" stops the others first)",
                                   held, more, mode, name);
        }
        else
                r = 0;
        zero_instance_rows_free(rows, n);
        return r;
}
