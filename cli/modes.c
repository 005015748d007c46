/* SPDX-License-Identifier: Apache-2.0 */
/* The modes an instance may run in, as create --help and switch --help end (issue 16: "create
 * --help does not list vm, while zerod's error offers bms"): the three Zero knows, then which
 * of them this node's zerod offers, asked with a short timeout. */
#include <string.h>

#include "cli/zeroctl.h"
#include "common/util.h"

/* How long --help waits for zerod: help must come at once, even from a node that hangs. */
#define MODES_ASK_TIMEOUT_S 2

static const struct {
        const char *mode;
        const char *what;
} known_modes[] = {
        {"container", "a process tree run by crun in namespaces and cgroups of its own"},
        {"vm", "a QEMU guest booting the image's kernel (KVM, else TCG)"},
        {"bms", "bare metal: the whole server handed to the tenant's OS"},
};

/* "  vm             offered" or "... not offered: REASON" for each of node's plugins. */
static void print_offered(FILE *f, const json_t *plugins) {
        size_t i;
        json_t *p;

        json_array_foreach(plugins, i, p) {
                const char *mode = json_string_value(json_object_get(p, "mode"));
                const char *reason = json_string_value(json_object_get(p, "reason"));

                if (!mode)
                        continue;
                if (json_is_true(json_object_get(p, "available")))
                        fprintf(f, "  %-14s offered\n", mode);
                else
                        fprintf(f, "  %-14s not offered: %s\n", mode, reason && *reason ? reason : "unavailable");
        }
        /* A mode with no plugin loaded is not offered either, and zerod does not list it. */
        for (size_t k = 0; k < ELEMENTSOF(known_modes); k++) {
                bool loaded = false;

                json_array_foreach(plugins, i, p)
                        loaded = loaded || streq(strempty(json_string_value(json_object_get(p, "mode"))),
                                                 known_modes[k].mode);
                if (!loaded)
                        fprintf(f, "  %-14s not offered: no plugin for it is loaded\n", known_modes[k].mode);
        }
}

void zeroctl_help_modes(struct zeroctl *z, FILE *f) {
        struct zero_error err = {};
        json_auto_t *node = NULL;
        const json_t *plugins;
        int r;

        fputs("\nModes:\n", f);
        for (size_t k = 0; k < ELEMENTSOF(known_modes); k++)
                fprintf(f, "  %-14s %s\n", known_modes[k].mode, known_modes[k].what);
        /* The man pages are made from this help without a zerod: what follows "This node" is
         * about the node asked, and cli/genman leaves it out. */
        r = z->http ? zeroctl_http_call(z->http, "GET", "/v1/node", NULL, MODES_ASK_TIMEOUT_S, &node, NULL, &err)
                    : -ENOTCONN;
        plugins = json_object_get(node, "plugins");
        if (r >= 0 && json_is_array(plugins)) {
                fprintf(f, "\nThis node (zerod at %s):\n", z->opts.url);
                print_offered(f, plugins);
                return;
        }
        if (r >= 0)
                snprintf(err.message, sizeof(err.message), "its answer has no \"plugins\" array");
        fprintf(f, "\nThis node: could not ask zerod which it offers: %s\n",
                err.message[0] ? err.message : strerror(r < 0 ? -r : EIO));
}
