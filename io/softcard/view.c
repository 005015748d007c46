/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's state as the card knows it (storage.h): its exports, block nodes and objects,
 * each read once (the ops' query-block-exports, query-named-block-nodes, qom-list /objects) and
 * then kept up to date by the card's own commands as they succeed, so that an export or an
 * unexport reads no list from the daemon: three QMP round trips less each, and at zerod's start
 * none at all for the volumes on the direct host path, which the daemon does not hold (1,000
 * exports each reading the three lists: seconds of QMP round trips and their timers).
 *
 * What each command does to it:
 *   object-add, blockdev-add, block-export-add   the name added (what the ops look at: an
 *                                                object's name, a node's name and file, an
 *                                                export's id, type and node)
 *   object-del, blockdev-del                     the name removed
 *   block-export-del                             the exports read again next time: the export goes
 *                                                away after the command returns (shutting-down)
 *   a failure of one of those (a timeout:        its list read again next time
 *   it may have happened or not)
 *   a new connection (maybe to a new daemon)     everything read again next time
 * A list kept here is replaced, never changed in place, where an op holds it: each op gets a
 * shallow copy of the lists at its start, as it got the daemon's answers before.
 */
#include "common/util.h"
#include "io/softcard/qsd_internal.h"

enum { VIEW_EXPORTS, VIEW_NODES, VIEW_OBJECTS };

static json_t **view_list(struct softcard_view *v, int which) {
        return which == VIEW_EXPORTS ? &v->exports : which == VIEW_NODES ? &v->nodes : &v->objects;
}

void softcard_view_forget(struct softcard_view *v) {
        json_decref(v->exports);
        json_decref(v->nodes);
        json_decref(v->objects);
        *v = (struct softcard_view){};
}

static void forget_one(struct softcard_view *v, int which) {
        json_t **l = view_list(v, which);

        json_decref(*l);
        *l = NULL;
}

static int query_list(const char *execute) {
        return streq(execute, "query-block-exports")       ? VIEW_EXPORTS
               : streq(execute, "query-named-block-nodes") ? VIEW_NODES
               : streq(execute, "qom-list")                ? VIEW_OBJECTS
                                                           : -1;
}

bool softcard_view_is_query(const char *execute) {
        return query_list(execute) >= 0 || strncmp(execute, "query-", 6) == 0;
}

/* A copy of a list for an op (its elements shared: never changed in place), or NULL when the view
 * has none (the op asks the daemon). */
json_t *softcard_view_get(struct qsd *q, const char *execute) {
        int which = query_list(execute);
        json_t *l = which < 0 ? NULL : *view_list(&q->view, which);

        return l ? json_copy(l) : NULL;
}

/* The daemon's answer to one of the three queries: kept (a copy). */
void softcard_view_set(struct qsd *q, const char *execute, json_t *value) {
        int which = query_list(execute);
        json_t **l;

        if (which < 0 || !json_is_array(value))
                return;
        l = view_list(&q->view, which);
        json_decref(*l);
        *l = json_copy(value);
}

static void list_add(struct softcard_view *v, int which, json_t *x) {
        json_t **l = view_list(v, which), *n;

        if (!*l || !x) { /* not read yet: the next op reads it */
                json_decref(x);
                return;
        }
        n = json_copy(*l); /* replaced: an op may hold the old one */
        if (!n || json_array_append_new(n, x) < 0) {
                json_decref(n);
                return forget_one(v, which);
        }
        json_decref(*l);
        *l = n;
}

static void list_remove(struct softcard_view *v, int which, const char *key, const char *name) {
        json_t **l = view_list(v, which), *n, *x;
        size_t i;

        if (!*l || !name)
                return;
        n = json_array();
        json_array_foreach(*l, i, x)
                if (!streq(strempty(json_string_value(json_object_get(x, key))), name) && json_array_append(n, x) < 0) {
                        json_decref(n);
                        return forget_one(v, which);
                }
        json_decref(*l);
        *l = n;
}

static const char *arg(json_t *args, const char *key) {
        return json_string_value(json_object_get(args, key));
}

void softcard_view_apply(struct qsd *q, const char *execute, json_t *args, int r) {
        struct softcard_view *v = &q->view;

        int which = streq(execute, "object-add") || streq(execute, "object-del")             ? VIEW_OBJECTS
                    : streq(execute, "blockdev-add") || streq(execute, "blockdev-del")         ? VIEW_NODES
                    : streq(execute, "block-export-add") || streq(execute, "block-export-del") ? VIEW_EXPORTS
                                                                                             : -1;

        /* The rest changes no name (qom-set, block_resize, blockdev-reopen, nbd-server-start). */
        if (which < 0)
                return;
        if (r < 0) {
                /* Refused, or timed out having happened after all: that list is read again. */
                forget_one(v, which);
                return;
        }
        if (streq(execute, "object-add"))
                list_add(v, VIEW_OBJECTS,
                         json_pack("{s:s?, s:s++}", "name", arg(args, "id"), "type", "child<",
                                   strempty(arg(args, "qom-type")), ">"));
        else if (streq(execute, "object-del"))
                list_remove(v, VIEW_OBJECTS, "name", arg(args, "id"));
        else if (streq(execute, "blockdev-add"))
                list_add(v, VIEW_NODES,
                         json_pack("{s:s?, s:s?, s:s?}", "node-name", arg(args, "node-name"), "drv", arg(args, "driver"),
                                   "file", streq(strempty(arg(args, "driver")), "file") ? arg(args, "filename") : NULL));
        else if (streq(execute, "blockdev-del"))
                list_remove(v, VIEW_NODES, "node-name", arg(args, "node-name"));
        else if (streq(execute, "block-export-add"))
                list_add(v, VIEW_EXPORTS,
                         json_pack("{s:s?, s:s?, s:s?, s:b}", "id", arg(args, "id"), "type", arg(args, "type"),
                                   "node-name", arg(args, "node-name"), "shutting-down", 0));
        else if (streq(execute, "block-export-del"))
                forget_one(v, VIEW_EXPORTS);
}
