/* SPDX-License-Identifier: Apache-2.0 */
/* The plugins' network namespaces (services netns_create, netns_remove): the one place the
 * agent makes them, with the host's netlink helpers (io/netlink/netns.c), which fork a child to
 * make and bind the namespace so that zerod never enters one. */
#include "agent/netns.h"

#include "io/netlink/netlink.h"

int zero_netns_svc_create(struct zero_plugin_ctx *ctx, const char *path, struct zero_error *err) {
        int r;

        if (!path || path[0] != '/')
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL, "netns_create: an absolute path is required");
        r = zero_netns_create(path);
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_RUNTIME, "cannot create the network namespace %s: %s", path,
                                      strerror(-r));
        return 0;
}

int zero_netns_svc_remove(struct zero_plugin_ctx *ctx, const char *path, struct zero_error *err) {
        int r;

        if (!path || path[0] != '/')
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL, "netns_remove: an absolute path is required");
        r = zero_netns_remove(path);
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_RUNTIME, "cannot remove %s: %s", path, strerror(-r));
        return 0;
}
