/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * What the API shows of instances, kept (issue 12): each instance's JSON is rendered once and
 * again only when something it shows changed, so that a GET of one instance, or of a page of
 * them, costs a lookup and a copy whatever else zerod is doing, and the node's figures are one
 * GROUP BY made again only after a change.
 *
 * Freshness. The store tells the view of every write to an instance's row, attachments or NICs
 * (zero_store_watch(): the instance's id; NULL after any rollback). The view marks that instance
 * stale (for NULL: all of them) and reads it back, with its card's rows, in one joined query
 * before it shows it again: every read begins with zero_view_sync(), which costs nothing when
 * nothing changed and one query per instance that did (the whole store in one query when all is
 * stale: at start, after a rollback). The one thing an instance shows that is not in the store is
 * its runtime_status (what the runtime last said, the plugin's status op: QEMU's query-status and
 * events); the view asks the plugin each time it shows a live instance (a call into the plugin's
 * memory), and a different answer is a change like any other. test_operation compares the view with
 * a rendering made afresh from the store after every turn of the loop of every test it runs.
 *
 * Versions. The view counts the changes of what it shows (seq): an instance's version is the
 * count at the last change of its JSON (a write that changed nothing shown, such as updated_at,
 * keeps it), a list's is the count itself. With the boot id, random and new at every start, they
 * make the ETags: a tag from before a restart never matches after it, even where the counts meet
 * again. The node's version counts the store's notices themselves.
 *
 * Entries, pages and bodies are valid until the next call into the view (a sync may free them).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/agent.h"

/* "\"z0123456789abcdef.18446744073709551615\"" and room to spare */
#define ZERO_ETAG_MAX 64

struct zero_view;
struct zero_view_entry;

/* Makes a->view and has the store tell it of every change; everything starts stale. */
int zero_view_new(struct zero_agent *a);
void zero_view_free(struct zero_agent *a);

/* Reads back what changed since the last sync. -errno when the store cannot be read (what was
 * stale stays so). */
int zero_view_sync(struct zero_agent *a);

/* One instance, by name (synced, its runtime status asked): -ENOENT when there is none. */
int zero_view_find(struct zero_agent *a, const char *name, const struct zero_view_entry **ret);
/* Its ETag (quoted) and its JSON, a malloc'd string ending with a newline (as the API's bodies). */
void zero_view_entry_etag(struct zero_agent *a, const struct zero_view_entry *e, char ret[ZERO_ETAG_MAX]);
int zero_view_entry_json(const struct zero_view_entry *e, char **ret, size_t *ret_len);
const char *zero_view_entry_name(const struct zero_view_entry *e);

/* A page of the instances, by name. */
struct zero_view_filter {
        const char *after; /* names after this one (need not exist); NULL: from the first */
        int state;         /* an enum zero_inst_state, or -1 for any */
        const char *mode;  /* NULL for any */
        size_t limit;      /* 0: all */
};
struct zero_view_page {
        const struct zero_view_entry **entries;
        size_t n;
        const char *next; /* the after= of the next page, NULL when this one is the last */
        char etag[ZERO_ETAG_MAX];
};
int zero_view_page(struct zero_agent *a, const struct zero_view_filter *f, struct zero_view_page *ret);
/* {"instances": [...], "next": NAME | null} and a newline, malloc'd. */
int zero_view_page_json(const struct zero_view_page *p, char **ret, size_t *ret_len);
void zero_view_page_done(struct zero_view_page *p);

/* GET /v1/node's body (malloc'd) and its ETag; made again only after the store's next notice. */
int zero_view_node(struct zero_agent *a, char **ret, size_t *ret_len, char ret_etag[ZERO_ETAG_MAX]);

/* The instance with id rendered afresh from the store, as the view would show it, bypassing
 * the view (tests compare the two): -ENOENT when there is none. */
int zero_view_render_fresh(struct zero_agent *a, const char *id, char **ret);
/* The view's own rendering of id, synced (NULL when it has none), and its version. */
int zero_view_render_cached(struct zero_agent *a, const char *id, char **ret, uint64_t *ret_version);
/* How many instances the view has read back from the store since it was made (tests: a read
 * that follows no change reads nothing). */
uint64_t zero_view_loads(struct zero_agent *a);
