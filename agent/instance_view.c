/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The instances as the API shows them, kept and made again only when they change
 * (instance_view.h says the rules). Entries are found by id (a hash: the store's notices) and by
 * name (an array sorted by name: GETs and pages); the stale ones wait in a list for the next read.
 */
#include <stdio.h>
#include <string.h>

#include "agent/instance_view.h"
#include "agent/plugin_loader.h"
#include "agent/services.h"
#include "common/hashmap.h"
#include "common/log.h"
#include "common/util.h"

struct zero_view_entry {
        char id[33];
        char *name; /* NULL until read back from the store */
        char *mode;
        enum zero_inst_state state;
        const struct zero_loaded_plugin *lp; /* its mode's plugin; NULL when none is loaded */
        char *base;                          /* its JSON without runtime_status: ends with '}' */
        size_t base_len;
        char *status;      /* the runtime status it was last shown with (the plugin's), NULL: none */
        char *status_json; /* the same as a JSON string */
        uint64_t version;  /* the view's seq at the last change of what it shows */
        struct zero_inst *inst; /* its live side, as found when the agent's instances were at inst_gen */
        uint64_t inst_gen;
        bool inst_known;
        bool stale, placed, seen;
        struct zero_view_entry *stale_next;
};

struct zero_view {
        struct zero_agent *agent;
        struct zero_hashmap by_id;
        struct zero_view_entry **sorted; /* the placed entries, by name */
        size_t n_sorted, cap;
        struct zero_view_entry *stale; /* the entries to read back (none while cold) */
        bool cold;                     /* everything is to be read back */
        uint64_t seq;                  /* changes of what the view shows */
        uint64_t notices;              /* the store's notices: the node's version */
        uint64_t loads;                /* instances read back */
        char boot[17];                 /* random, new at every start: in every ETag */
        char *node;                    /* GET /v1/node's body, made at node_notices */
        size_t node_len;
        uint64_t node_notices;
};

static void entry_free(struct zero_view_entry *e) {
        if (!e)
                return;
        free(e->name);
        free(e->mode);
        free(e->base);
        free(e->status);
        free(e->status_json);
        free(e);
}

/* A new entry for id, in the map, not yet read back (nor placed); NULL on failure. */
static struct zero_view_entry *entry_new(struct zero_view *v, const char *id) {
        struct zero_view_entry *e;

        if (strlen(id) >= sizeof(e->id) || !(e = calloc(1, sizeof(*e))))
                return NULL;
        snprintf(e->id, sizeof(e->id), "%s", id);
        if (zero_hashmap_put(&v->by_id, e->id, e) < 0) {
                free(e);
                return NULL;
        }
        return e;
}

static void mark_stale(struct zero_view *v, struct zero_view_entry *e) {
        if (e->stale)
                return;
        e->stale = true;
        e->stale_next = v->stale;
        v->stale = e;
}

/* The store's notice (store.h): instance id's rows changed, or (NULL) anything may have. It must
 * not use the store: it only marks. */
static void on_store_change(void *userdata, const char *id) {
        struct zero_view *v = userdata;
        struct zero_view_entry *e;

        v->notices++;
        if (!id) {
                v->cold = true;
                return;
        }
        if (v->cold)
                return; /* all of it is read back anyway */
        e = zero_hashmap_get(&v->by_id, id);
        if (!e) /* a new instance (or one inserted and rolled back: the read back drops it) */
                e = entry_new(v, id);
        if (!e) {
                v->cold = true; /* out of memory or a foreign id: everything is read back */
                return;
        }
        mark_stale(v, e);
}

int zero_view_new(struct zero_agent *a) {
        struct zero_view *v = calloc(1, sizeof(*v));
        char id[33];
        int r;

        if (!v)
                return -ENOMEM;
        r = zero_random_id(id);
        if (r < 0) {
                free(v);
                return r;
        }
        memcpy(v->boot, id, 16);
        v->boot[16] = '\0';
        v->agent = a;
        v->cold = true;
        a->view = v;
        zero_store_watch(a->store, on_store_change, v);
        return 0;
}

void zero_view_free(struct zero_agent *a) {
        struct zero_view *v = a ? a->view : NULL;
        struct zero_view_entry *e;
        size_t i = 0;

        if (!v)
                return;
        zero_store_watch(a->store, NULL, NULL);
        while (zero_hashmap_next(&v->by_id, &i, NULL, (void **) &e))
                entry_free(e);
        zero_hashmap_done(&v->by_id);
        free(v->sorted);
        free(v->node);
        free(v);
        a->view = NULL;
}

/* --- the entries by name --- */

/* The index of the first placed entry whose name is > name (after) or >= name (!after). */
static size_t bound(const struct zero_view *v, const char *name, bool after) {
        size_t lo = 0, hi = v->n_sorted;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(v->sorted[mid]->name, name);
                if (c < 0 || (after && c == 0))
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

static int place(struct zero_view *v, struct zero_view_entry *e) {
        size_t at;

        if (v->n_sorted == v->cap) {
                size_t ncap = v->cap ? v->cap * 2 : 64;
                struct zero_view_entry **p = reallocarray(v->sorted, ncap, sizeof(*p));
                if (!p)
                        return -ENOMEM;
                v->sorted = p;
                v->cap = ncap;
        }
        at = bound(v, e->name, false);
        memmove(&v->sorted[at + 1], &v->sorted[at], (v->n_sorted - at) * sizeof(*v->sorted));
        v->sorted[at] = e;
        v->n_sorted++;
        e->placed = true;
        return 0;
}

static void entry_remove(struct zero_view *v, struct zero_view_entry *e) {
        if (e->placed) {
                size_t at = bound(v, e->name, false);
                if (at < v->n_sorted && v->sorted[at] == e) {
                        memmove(&v->sorted[at], &v->sorted[at + 1], (v->n_sorted - at - 1) * sizeof(*v->sorted));
                        v->n_sorted--;
                }
        }
        (void) zero_hashmap_remove(&v->by_id, e->id);
        entry_free(e);
        v->seq++; /* the lists changed */
}

/* --- reading back --- */

static char *render(const struct zero_instance_full *f) {
        json_t *j = zero_inst_json(f);
        char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

        json_decref(j);
        return s;
}

/* Takes what the store says of e's instance: its JSON made again, and a new version only when
 * that is not what it was. */
static int apply(struct zero_view *v, struct zero_view_entry *e, const struct zero_instance_full *f) {
        _cleanup_free_ char *text = render(f);
        char *mode = NULL;
        int r;

        v->loads++;
        if (!text || (f->inst.mode && !(mode = strdup(f->inst.mode))))
                return -ENOMEM;
        free(e->mode);
        e->mode = mode;
        e->state = zero_inst_state_of(&f->inst);
        e->lp = e->mode ? zero_plugins_find(v->agent->plugins, e->mode) : NULL;
        if (!e->placed) {
                free(e->name);
                if (!(e->name = strdup(f->inst.name)))
                        return -ENOMEM;
                r = place(v, e);
                if (r < 0)
                        return r;
                v->seq++; /* a new member of the lists */
        }
        if (!e->base || !streq(e->base, text)) {
                free(e->base);
                e->base_len = strlen(text);
                e->base = TAKE_PTR(text);
                e->version = ++v->seq;
        }
        return 0;
}

/* Everything, in one query: at start and after a rollback. */
static int load_all(struct zero_view *v) {
        struct zero_instance_full *f = NULL;
        struct zero_view_entry *e;
        size_t n = 0, i = 0;
        int r;

        r = zero_store_instance_list_full(v->agent->store, &f, &n);
        if (r < 0)
                return r;
        while (zero_hashmap_next(&v->by_id, &i, NULL, (void **) &e))
                e->seen = false;
        for (size_t k = 0; k < n && r >= 0; k++) {
                e = zero_hashmap_get(&v->by_id, f[k].inst.id);
                if (!e && !(e = entry_new(v, f[k].inst.id))) {
                        r = -ENOMEM;
                        break;
                }
                e->seen = true;
                r = apply(v, e, &f[k]);
        }
        zero_instance_fulls_free(f, n);
        if (r < 0)
                return r; /* still cold: the next read tries again */
        /* What the store no longer has goes; removals change the map, so collect them first. */
        _cleanup_free_ struct zero_view_entry **gone = calloc(zero_hashmap_size(&v->by_id) + 1, sizeof(*gone));
        size_t n_gone = 0;
        if (!gone)
                return -ENOMEM;
        i = 0;
        while (zero_hashmap_next(&v->by_id, &i, NULL, (void **) &e))
                if (!e->seen)
                        gone[n_gone++] = e;
        for (size_t k = 0; k < n_gone; k++)
                entry_remove(v, gone[k]);
        i = 0;
        while (zero_hashmap_next(&v->by_id, &i, NULL, (void **) &e))
                e->stale = false;
        v->stale = NULL;
        v->cold = false;
        return 0;
}

int zero_view_sync(struct zero_agent *a) {
        struct zero_view *v = a->view;
        int r;

        if (!v)
                return -ENXIO;
        if (v->cold)
                return load_all(v);
        while (v->stale) {
                struct zero_view_entry *e = v->stale;
                struct zero_instance_full f = {};

                v->stale = e->stale_next;
                e->stale = false;
                r = zero_store_instance_get_full(a->store, e->id, &f);
                if (r == -ENOENT) {
                        entry_remove(v, e);
                        continue;
                }
                if (r >= 0)
                        r = apply(v, e, &f);
                zero_instance_full_done(&f);
                if (r < 0) {
                        mark_stale(v, e);
                        return r;
                }
        }
        return 0;
}

/* --- showing --- */

/* What the runtime says now (the plugin's status op) against what e showed: a change bumps e.
 * Only a plugin with a status op is asked, and only for a live instance: its struct zero_inst is
 * looked up when the set of them changed since e last did (the agent's instances_gen), so a page
 * of a hundred VMs costs a hundred calls into the plugin, not a hundred hash lookups. */
static void check_status(struct zero_view *v, struct zero_view_entry *e) {
        struct zero_agent *a = v->agent;
        char buf[64];
        const char *now = NULL;

        if (!e->lp || !ZERO_PLUGIN_HAS(e->lp->plugin, status)) {
                if (!e->status)
                        return;
        } else {
                if (e->inst_gen != a->instances_gen || !e->inst_known) {
                        e->inst = zero_inst_find(a, e->id);
                        e->inst_gen = a->instances_gen;
                        e->inst_known = true;
                }
        }
        if (e->lp && ZERO_PLUGIN_HAS(e->lp->plugin, status) && e->inst &&
            e->lp->plugin->ops.status(zero_services_ctx(e->inst, e->lp), buf, sizeof(buf)) >= 0) {
                buf[sizeof(buf) - 1] = '\0';
                now = buf;
        }
        if (now ? e->status && streq(e->status, now) : !e->status)
                return;
        free(e->status);
        free(e->status_json);
        e->status = e->status_json = NULL;
        if (now) {
                json_t *s = json_string(now); /* NULL for text that is not UTF-8: not shown */
                e->status_json = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
                json_decref(s);
                e->status = e->status_json ? strdup(now) : NULL;
                if (!e->status) {
                        free(e->status_json);
                        e->status_json = NULL;
                }
        }
        e->version = ++v->seq;
}

static void etag(const struct zero_view *v, char kind, uint64_t n, char ret[ZERO_ETAG_MAX]) {
        snprintf(ret, ZERO_ETAG_MAX, "\"z%s.%c%llu\"", v->boot, kind, (unsigned long long) n);
}

int zero_view_find(struct zero_agent *a, const char *name, const struct zero_view_entry **ret) {
        struct zero_view *v = a->view;
        size_t at;
        int r;

        r = zero_view_sync(a);
        if (r < 0)
                return r;
        at = bound(v, name, false);
        if (at >= v->n_sorted || !streq(v->sorted[at]->name, name))
                return -ENOENT;
        check_status(v, v->sorted[at]);
        *ret = v->sorted[at];
        return 0;
}

const char *zero_view_entry_name(const struct zero_view_entry *e) {
        return e->name;
}

void zero_view_entry_etag(struct zero_agent *a, const struct zero_view_entry *e, char ret[ZERO_ETAG_MAX]) {
        etag(a->view, 'i', e->version, ret);
}

/* Appends e's JSON (its base with the runtime status before the closing brace). */
static int entry_append(const struct zero_view_entry *e, char **buf, size_t *len, size_t *cap) {
        static const char key[] = ",\"runtime_status\":";
        int r = zero_buf_append(buf, len, cap, e->base, e->base_len - 1);

        if (r >= 0 && e->status_json) {
                r = zero_buf_append(buf, len, cap, key, sizeof(key) - 1);
                if (r >= 0)
                        r = zero_buf_append(buf, len, cap, e->status_json, strlen(e->status_json));
        }
        return r < 0 ? r : zero_buf_append(buf, len, cap, "}", 1);
}

int zero_view_entry_json(const struct zero_view_entry *e, char **ret, size_t *ret_len) {
        char *buf = NULL;
        size_t len = 0, cap = 0;
        int r = entry_append(e, &buf, &len, &cap); /* kept NUL-terminated */

        if (r >= 0)
                r = zero_buf_append(&buf, &len, &cap, "\n", 1);
        if (r < 0) {
                free(buf);
                return r;
        }
        *ret = buf;
        *ret_len = len;
        return 0;
}

static bool wanted(const struct zero_view_entry *e, const struct zero_view_filter *f) {
        return (f->state < 0 || (int) e->state == f->state) && (!f->mode || (e->mode && streq(e->mode, f->mode)));
}

int zero_view_page(struct zero_agent *a, const struct zero_view_filter *f, struct zero_view_page *ret) {
        struct zero_view *v = a->view;
        struct zero_view_page p = {};
        size_t i, cap;
        int r;

        r = zero_view_sync(a);
        if (r < 0)
                return r;
        cap = f->limit > 0 && f->limit < v->n_sorted ? f->limit : v->n_sorted;
        p.entries = calloc(cap + 1, sizeof(*p.entries));
        if (!p.entries)
                return -ENOMEM;
        for (i = f->after ? bound(v, f->after, true) : 0; i < v->n_sorted; i++) {
                struct zero_view_entry *e = v->sorted[i];
                if (!wanted(e, f))
                        continue;
                if (f->limit > 0 && p.n == f->limit) {
                        p.next = p.entries[p.n - 1]->name; /* there is more after it */
                        break;
                }
                check_status(v, e);
                p.entries[p.n++] = e;
        }
        /* After the status checks: they may have changed what the page shows. The page's
         * parameters are in it too, so that a tag sent back with another page's URL never
         * matches (a cache keys tags by URL; a careless client may not). */
        char key[256];
        snprintf(key, sizeof(key), "%s|%d|%s|%zu", strempty(f->after), f->state, strempty(f->mode), f->limit);
        snprintf(p.etag, sizeof(p.etag), "\"z%s.l%llu-%08llx\"", v->boot, (unsigned long long) v->seq,
                 (unsigned long long) (zero_hash_string(key) & 0xffffffffULL));
        *ret = p;
        return 0;
}

int zero_view_page_json(const struct zero_view_page *p, char **ret, size_t *ret_len) {
        static const char head[] = "{\"instances\":[";
        _cleanup_free_ char *next = NULL;
        char *buf = NULL;
        size_t len = 0, cap = 0;
        int r;

        if (p->next) {
                json_t *s = json_string(p->next);
                next = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
                json_decref(s);
                if (!next)
                        return -ENOMEM;
        }
        /* One allocation for the usual case: the entries' sizes are known. */
        cap = sizeof(head) + 64 + (next ? strlen(next) : 0);
        for (size_t i = 0; i < p->n; i++)
                cap += p->entries[i]->base_len + 1 + (p->entries[i]->status_json ? 64 : 0);
        buf = malloc(cap);
        if (!buf)
                return -ENOMEM;
        r = zero_buf_append(&buf, &len, &cap, head, sizeof(head) - 1);
        for (size_t i = 0; r >= 0 && i < p->n; i++) {
                if (i > 0)
                        r = zero_buf_append(&buf, &len, &cap, ",", 1);
                if (r >= 0)
                        r = entry_append(p->entries[i], &buf, &len, &cap);
        }
        if (r >= 0)
                r = zero_buf_append(&buf, &len, &cap, "],\"next\":", 9);
        if (r >= 0)
                r = zero_buf_append(&buf, &len, &cap, next ? next : "null", next ? strlen(next) : 4);
        if (r >= 0)
                r = zero_buf_append(&buf, &len, &cap, "}\n", 2);
        if (r < 0) {
                free(buf);
                return r;
        }
        *ret = buf;
        *ret_len = len;
        return 0;
}

void zero_view_page_done(struct zero_view_page *p) {
        free(p->entries);
        *p = (struct zero_view_page){};
}

/* --- the node --- */

int zero_view_node(struct zero_agent *a, char **ret, size_t *ret_len, char ret_etag[ZERO_ETAG_MAX]) {
        struct zero_view *v = a->view;
        char *copy;

        if (!v)
                return -ENXIO;
        if (!v->node || v->node_notices != v->notices) {
                struct zero_instance_count *c = NULL;
                uint64_t at = v->notices; /* a notice while it is made (none: it only reads) makes it again */
                size_t n = 0;
                json_t *j;
                int r = zero_store_instance_counts(a->store, &c, &n);

                if (r < 0)
                        return r;
                j = zero_node_to_json(a, c, n);
                zero_instance_counts_free(c, n);
                free(v->node);
                v->node = j ? json_dumps(j, JSON_COMPACT) : NULL;
                json_decref(j);
                if (!v->node)
                        return -ENOMEM;
                v->node_len = strlen(v->node);
                char *nl = realloc(v->node, v->node_len + 2); /* the API's bodies end with a newline */
                if (!nl)
                        return -ENOMEM;
                v->node = nl;
                memcpy(v->node + v->node_len, "\n", 2);
                v->node_len++;
                v->node_notices = at;
        }
        copy = malloc(v->node_len + 1);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, v->node, v->node_len + 1);
        *ret = copy;
        *ret_len = v->node_len;
        etag(v, 'n', v->node_notices, ret_etag);
        return 0;
}

/* --- tests --- */

int zero_view_render_fresh(struct zero_agent *a, const char *id, char **ret) {
        struct zero_instance_full f = {};
        struct zero_view_entry e = {};
        char *base;
        int r;

        r = zero_store_instance_get_full(a->store, id, &f);
        if (r < 0)
                return r;
        base = render(&f);
        snprintf(e.id, sizeof(e.id), "%s", id);
        e.mode = f.inst.mode;
        e.lp = e.mode ? zero_plugins_find(a->plugins, e.mode) : NULL;
        zero_instance_full_done(&f);
        e.mode = NULL;
        if (!base)
                return -ENOMEM;
        e.base = base;
        e.base_len = strlen(base);
        /* A throwaway view's status check: the same question to the plugin. */
        struct zero_view scratch = {.agent = a};
        check_status(&scratch, &e);
        r = zero_view_entry_json(&e, ret, &(size_t){0});
        free(e.base);
        free(e.status);
        free(e.status_json);
        return r;
}

int zero_view_render_cached(struct zero_agent *a, const char *id, char **ret, uint64_t *ret_version) {
        struct zero_view_entry *e;
        int r;

        r = zero_view_sync(a);
        if (r < 0)
                return r;
        *ret = NULL;
        e = zero_hashmap_get(&a->view->by_id, id);
        if (!e || !e->placed)
                return 0;
        check_status(a->view, e);
        if (ret_version)
                *ret_version = e->version;
        return zero_view_entry_json(e, ret, &(size_t){0});
}

uint64_t zero_view_loads(struct zero_agent *a) {
        return a->view ? a->view->loads : 0;
}
