/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The API's reads: what a list or a GET shows, each in one query whatever the number of rows.
 * An instance comes with its attachments and NICs (what the API shows of its card), a volume with
 * its attachment and the names of the instances it is attached to and owned by, a network with its
 * number of NICs; the node's figures are one GROUP BY. Lists that page take the name to start
 * after, a state to keep, and a limit, in SQL: a page costs what it holds, not what the table does.
 *
 * Before these, a list of N instances ran 1 + 6N statements (the card's rows of each, and the
 * names behind its volumes' references), each prepared anew (issue 12).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "store/store-internal.h"

/* --- instances with their attachments and NICs --- */

void zero_instance_full_done(struct zero_instance_full *f) {
        if (!f)
                return;
        zero_instance_row_done(&f->inst);
        zero_attachment_rows_free(f->atts, f->n_atts);
        zero_nic_rows_free(f->nics, f->n_nics);
        *f = (struct zero_instance_full){};
}

void zero_instance_fulls_free(struct zero_instance_full *f, size_t n) {
        for (size_t i = 0; i < n; i++)
                zero_instance_full_done(&f[i]);
        free(f);
}

/*
 * Each instance's row comes once per attachment and per NIC it has (once with NULLs when it has
 * none), its children in the union of two arms told apart by c_kind: 0 an attachment (a_*
 * columns), 1 a NIC (n_*). The child arms name every column of both kinds, NULL where not theirs,
 * because a compound SELECT's arms have one shape.
 */
#define CHILD_ATTACHMENTS(where)                                                                   \
        "SELECT instance_id AS c_instance, 0 AS c_kind, idx AS c_idx, volume AS a_volume,"         \
        " instance_id AS a_instance_id, role AS a_role, path AS a_path, personality AS a_personality," \
        " export_kind AS a_export_kind, export_path AS a_export_path, idx AS a_idx, NULL AS n_id,"   \
        " NULL AS n_network, NULL AS n_instance_id, NULL AS n_mac, NULL AS n_ip, NULL AS n_host_index," \
        " NULL AS n_idx, NULL AS n_created_at, NULL AS n_attach_kind, NULL AS n_attach_target"        \
        " FROM attachments " where
#define CHILD_NICS(where)                                                                          \
        "SELECT instance_id, 1, idx, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, id, network,"   \
        " instance_id, mac, ip, host_index, idx, created_at, attach_kind, attach_target FROM nics " where

/* All of them: the children's union is made once and joined by instance. */
static const char sql_instances_full[] =
        "SELECT i.*, c.* FROM instances i LEFT JOIN (" CHILD_ATTACHMENTS("") " UNION ALL "
        CHILD_NICS("WHERE instance_id IS NOT NULL") ") c ON c.c_instance = i.id "
        "ORDER BY i.name, c.c_kind, c.c_idx";
/* One of them: each arm looks up its own rows by index (a join into the union would make all of
 * the union first, whatever the number of instances). */
static const char sql_instance_full[] =
        "SELECT i.*, c.* FROM instances i LEFT JOIN (" CHILD_ATTACHMENTS("WHERE instance_id = ?1") " UNION ALL "
        CHILD_NICS("WHERE instance_id = ?1") ") c ON 1 WHERE i.id = ?1 ORDER BY c.c_kind, c.c_idx";

static int append_child(void **arr, size_t *n, size_t size, const void *row) {
        char *p = reallocarray(*arr, *n + 1, size);

        if (!p)
                return -ENOMEM;
        memcpy(p + *n * size, row, size);
        *arr = p;
        (*n)++;
        return 0;
}

/* Reads the rows of st into instances with their children (the rows of one instance adjacent). */
static int collect_full(sqlite3_stmt *st, void **ret, size_t *ret_n) {
        const struct store_part parts[] = {{&store_instance_table, ""}, {&store_attachment_table, "a_"}, {&store_nic_table, "n_"}};
        struct zero_instance_full *out = NULL;
        size_t n = 0, cap = 0;
        struct store_colmap m;
        int kind_col = -1, r, rc;

        r = store_parts_map(st, parts, ELEMENTSOF(parts), &m);
        if (r < 0)
                return r;
        for (int i = 0; i < m.n; i++)
                if (streq(sqlite3_column_name(st, i), "c_kind"))
                        kind_col = i;
        if (kind_col < 0)
                return -EINVAL;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                struct zero_instance_row inst;
                struct zero_attachment_row att;
                struct zero_nic_row nic;

                r = store_parts_read(st, parts, ELEMENTSOF(parts), &m, (void *const[]){&inst, &att, &nic});
                if (r < 0)
                        goto fail;
                if (n > 0 && streq(out[n - 1].inst.id, inst.id))
                        zero_instance_row_done(&inst); /* the same instance's next child */
                else {
                        if (n == cap) {
                                size_t ncap = cap ? cap * 2 : 16;
                                struct zero_instance_full *p = reallocarray(out, ncap, sizeof(*out));
                                if (!p) {
                                        r = -ENOMEM;
                                        goto fail_row;
                                }
                                out = p;
                                cap = ncap;
                        }
                        out[n++] = (struct zero_instance_full){.inst = inst};
                        inst = (struct zero_instance_row){};
                }
                r = 0;
                if (sqlite3_column_type(st, kind_col) == SQLITE_NULL)
                        ; /* an instance without children */
                else if (sqlite3_column_int(st, kind_col) == 0) {
                        r = append_child((void **) &out[n - 1].atts, &out[n - 1].n_atts, sizeof(att), &att);
                        if (r >= 0)
                                att = (struct zero_attachment_row){};
                } else {
                        r = append_child((void **) &out[n - 1].nics, &out[n - 1].n_nics, sizeof(nic), &nic);
                        if (r >= 0)
                                nic = (struct zero_nic_row){};
                }
        fail_row:
                zero_instance_row_done(&inst);
                zero_attachment_row_done(&att);
                zero_nic_row_done(&nic);
                if (r < 0)
                        goto fail;
        }
        if (rc != SQLITE_DONE) {
                r = store_errno(rc, STORE_FK_MISSING_PARENT);
                goto fail;
        }
        *ret = out;
        *ret_n = n;
        return 0;
fail:
        zero_instance_fulls_free(out, n);
        return r;
}

int zero_store_instance_list_full(struct zero_store *s, struct zero_instance_full **ret, size_t *ret_n) {
        _cleanup_(store_releasep) sqlite3_stmt *st = NULL;
        int r;

        assert_return(s && ret && ret_n, -EINVAL);
        r = store_prepare(s, sql_instances_full, &st);
        if (r < 0)
                return r;
        return collect_full(st, (void **) ret, ret_n);
}

/* The one row of a query by key (?1) that a collector reads into an array of elements of size
 * bytes: into ret, -ENOENT when there is none. The key is unique, so there is at most one. */
typedef int (*collect_fn)(sqlite3_stmt *st, void **ret, size_t *ret_n);
static int get_one(struct zero_store *s, const char *sql, const char *key, collect_fn collect, size_t size, void *ret) {
        _cleanup_(store_releasep) sqlite3_stmt *st = NULL;
        void *all = NULL;
        size_t n = 0;
        int r, rc;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        rc = sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        if (rc != SQLITE_OK)
                return store_errno(rc, STORE_FK_MISSING_PARENT);
        r = collect(st, &all, &n);
        if (r < 0)
                return r;
        if (n == 0)
                return -ENOENT;
        memcpy(ret, all, size);
        free(all);
        return 0;
}

int zero_store_instance_get_full(struct zero_store *s, const char *id, struct zero_instance_full *ret) {
        assert_return(s && id && ret, -EINVAL);
        return get_one(s, sql_instance_full, id, collect_full, sizeof(*ret), ret);
}

/* --- counts --- */

static const struct column count_columns[] = {
        TEXT(struct zero_instance_count, mode),
        TEXT(struct zero_instance_count, state),
        INT64(struct zero_instance_count, count),
        INT64(struct zero_instance_count, cpus),
        INT64(struct zero_instance_count, memory_mib),
};
static const struct table count_table = TABLE(struct zero_instance_count, count_columns);

void zero_instance_counts_free(struct zero_instance_count *rows, size_t n) {
        store_rows_free(&count_table, rows, n);
}

int zero_store_instance_counts(struct zero_store *s, struct zero_instance_count **ret, size_t *ret_n) {
        assert_return(s && ret && ret_n, -EINVAL);
        return store_row_list(s,
                              "SELECT mode, state, COUNT(*) AS count, SUM(cpus) AS cpus, SUM(memory_mib) AS memory_mib "
                              "FROM instances GROUP BY mode, state ORDER BY mode, state",
                              NULL, &count_table, (void **) ret, ret_n);
}

int zero_store_instance_count(struct zero_store *s) {
        assert_return(s, -EINVAL);
        return store_count(s, "SELECT COUNT(*) FROM instances", NULL);
}

/* --- pages: after a name, of a state, at most limit --- */

/* Binds ?1 = after, ?2 = state (either may be NULL: no condition), ?3 = limit (0: no limit). */
static int bind_page(sqlite3_stmt *st, const struct zero_store_page *page) {
        int rc = sqlite3_bind_text(st, 1, page ? page->after : NULL, -1, SQLITE_STATIC);

        if (rc == SQLITE_OK)
                rc = sqlite3_bind_text(st, 2, page ? page->state : NULL, -1, SQLITE_STATIC);
        if (rc == SQLITE_OK)
                rc = sqlite3_bind_int64(st, 3, page && page->limit > 0 && page->limit < INT64_MAX ? (int64_t) page->limit : -1);
        return rc == SQLITE_OK ? 0 : store_errno(rc, STORE_FK_MISSING_PARENT);
}

/* A page's conditions on table t's name and state. */
#define PAGE_WHERE(t) "(?1 IS NULL OR " t ".name > ?1) AND (?2 IS NULL OR " t ".state = ?2)"

/* Runs a query of a page (bind_page()) and collects its rows. */
static int list_page(struct zero_store *s, const char *sql, const struct zero_store_page *page, collect_fn collect,
                     void **ret, size_t *ret_n) {
        _cleanup_(store_releasep) sqlite3_stmt *st = NULL;
        int r;

        r = store_prepare(s, sql, &st);
        if (r >= 0)
                r = bind_page(st, page);
        if (r < 0)
                return r;
        return collect(st, ret, ret_n);
}

/* --- volumes with their attachment and the names behind their references --- */

struct volume_names {
        char *attached_to;
        char *owner;
};
static const struct column names_columns[] = {
        TEXT(struct volume_names, attached_to),
        TEXT(struct volume_names, owner),
};
static const struct table names_table = TABLE(struct volume_names, names_columns);

void zero_volume_full_done(struct zero_volume_full *f) {
        if (!f)
                return;
        zero_volume_row_done(&f->vol);
        zero_attachment_row_done(&f->att);
        free(f->attached_to);
        free(f->owner);
        *f = (struct zero_volume_full){};
}

void zero_volume_fulls_free(struct zero_volume_full *f, size_t n) {
        for (size_t i = 0; i < n; i++)
                zero_volume_full_done(&f[i]);
        free(f);
}

#define VOLUME_FULL_SELECT                                                                         \
        "SELECT v.*, a.volume AS a_volume, a.instance_id AS a_instance_id, a.role AS a_role,"       \
        " a.path AS a_path, a.personality AS a_personality, a.export_kind AS a_export_kind,"        \
        " a.export_path AS a_export_path, a.idx AS a_idx, ai.name AS x_attached_to, oi.name AS x_owner " \
        "FROM volumes v LEFT JOIN attachments a ON a.volume = v.name"                               \
        " LEFT JOIN instances ai ON ai.id = a.instance_id LEFT JOIN instances oi ON oi.id = v.owner_instance "

/* Collects every row of st, read by parts, into an array of elements of size bytes: take() moves
 * the parts' rows into a zeroed element, done() frees one. */
static int collect_each(sqlite3_stmt *st, const struct store_part *parts, size_t n_parts, size_t size,
                        void (*take)(void *elem, void *const *rows), void (*done)(void *elem), void **ret, size_t *ret_n) {
        union any_row rows[STORE_PARTS_MAX];
        void *const dests[STORE_PARTS_MAX] = {&rows[0], &rows[1], &rows[2], &rows[3]};
        _Alignas(max_align_t) char elem[256];
        char *out = NULL;
        size_t n = 0;
        struct store_colmap m;
        int r, rc;

        if (size > sizeof(elem))
                return -E2BIG;
        r = store_parts_map(st, parts, n_parts, &m);
        if (r < 0)
                return r;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                r = store_parts_read(st, parts, n_parts, &m, dests);
                if (r < 0)
                        goto fail;
                memset(elem, 0, size);
                take(elem, dests);
                r = append_child((void **) &out, &n, size, elem);
                if (r < 0) {
                        done(elem);
                        goto fail;
                }
        }
        if (rc != SQLITE_DONE) {
                r = store_errno(rc, STORE_FK_MISSING_PARENT);
                goto fail;
        }
        *ret = out;
        *ret_n = n;
        return 0;
fail:
        for (size_t i = 0; i < n; i++)
                done(out + i * size);
        free(out);
        return r;
}

static void take_volume(void *elem, void *const *rows) {
        struct zero_volume_full *f = elem;
        const struct volume_names *names = rows[2];

        f->vol = *(struct zero_volume_row *) rows[0];
        f->att = *(struct zero_attachment_row *) rows[1];
        f->attached_to = names->attached_to;
        f->owner = names->owner;
}

static void volume_done(void *elem) {
        zero_volume_full_done(elem);
}

static int collect_volumes(sqlite3_stmt *st, void **ret, size_t *ret_n) {
        const struct store_part parts[] = {{&store_volume_table, ""}, {&store_attachment_table, "a_"}, {&names_table, "x_"}};

        return collect_each(st, parts, ELEMENTSOF(parts), sizeof(struct zero_volume_full), take_volume, volume_done, ret,
                            ret_n);
}

int zero_store_volume_list_full(struct zero_store *s, const struct zero_store_page *page, struct zero_volume_full **ret,
                                size_t *ret_n) {
        assert_return(s && ret && ret_n, -EINVAL);
        return list_page(s, VOLUME_FULL_SELECT "WHERE " PAGE_WHERE("v") " ORDER BY v.name LIMIT ?3", page, collect_volumes,
                         (void **) ret, ret_n);
}

int zero_store_volume_get_full(struct zero_store *s, const char *name, struct zero_volume_full *ret) {
        assert_return(s && name && ret, -EINVAL);
        return get_one(s, VOLUME_FULL_SELECT "WHERE v.name = ?1", name, collect_volumes, sizeof(*ret), ret);
}

/* --- networks with their number of NICs --- */

struct nic_count {
        int64_t nics;
};
static const struct column nic_count_columns[] = {
        INT64(struct nic_count, nics),
};
static const struct table nic_count_table = TABLE(struct nic_count, nic_count_columns);

void zero_network_full_done(struct zero_network_full *f) {
        if (!f)
                return;
        zero_network_row_done(&f->net);
        *f = (struct zero_network_full){};
}

void zero_network_fulls_free(struct zero_network_full *f, size_t n) {
        for (size_t i = 0; i < n; i++)
                zero_network_full_done(&f[i]);
        free(f);
}

/* The count is by the index nics(network, host_index): a NIC of the network is one index step. */
#define NETWORK_FULL_SELECT "SELECT n.*, (SELECT COUNT(*) FROM nics WHERE network = n.name) AS x_nics FROM networks n "

static void take_network(void *elem, void *const *rows) {
        struct zero_network_full *f = elem;

        f->net = *(struct zero_network_row *) rows[0];
        f->nics = ((struct nic_count *) rows[1])->nics;
}

static void network_done(void *elem) {
        zero_network_full_done(elem);
}

static int collect_networks(sqlite3_stmt *st, void **ret, size_t *ret_n) {
        const struct store_part parts[] = {{&store_network_table, ""}, {&nic_count_table, "x_"}};

        return collect_each(st, parts, ELEMENTSOF(parts), sizeof(struct zero_network_full), take_network, network_done,
                            ret, ret_n);
}

int zero_store_network_list_full(struct zero_store *s, const struct zero_store_page *page,
                                 struct zero_network_full **ret, size_t *ret_n) {
        assert_return(s && ret && ret_n, -EINVAL);
        return list_page(s, NETWORK_FULL_SELECT "WHERE " PAGE_WHERE("n") " ORDER BY n.name LIMIT ?3", page,
                         collect_networks, (void **) ret, ret_n);
}

int zero_store_network_get_full(struct zero_store *s, const char *name, struct zero_network_full *ret) {
        assert_return(s && name && ret, -EINVAL);
        return get_one(s, NETWORK_FULL_SELECT "WHERE n.name = ?1", name, collect_networks, sizeof(*ret), ret);
}

/* --- images --- */

static int collect_images(sqlite3_stmt *st, void **ret, size_t *ret_n) {
        return store_rows_collect(st, &store_image_table, ret, ret_n);
}

int zero_store_image_list_page(struct zero_store *s, const struct zero_store_page *page, struct zero_image_row **ret,
                               size_t *ret_n) {
        assert_return(s && ret && ret_n, -EINVAL);
        /* Images have no state: a page's is ignored. */
        const struct zero_store_page p = {page ? page->after : NULL, NULL, page ? page->limit : 0};
        return list_page(s, "SELECT * FROM images WHERE (?1 IS NULL OR name > ?1) AND ?2 IS NULL ORDER BY name LIMIT ?3",
                         &p, collect_images, (void **) ret, ret_n);
}

/* --- operations, in the order they were made --- */

static int collect_operations(sqlite3_stmt *st, void **ret, size_t *ret_n) {
        return store_rows_collect(st, &store_operation_table, ret, ret_n);
}

int zero_store_operation_list_page(struct zero_store *s, const char *after_id, const char *status, const char *instance,
                                   size_t limit, struct zero_operation_row **ret, size_t *ret_n) {
        _cleanup_(store_releasep) sqlite3_stmt *st = NULL;
        int r, rc;

        assert_return(s && ret && ret_n, -EINVAL);
        if (after_id) {
                r = store_count(s, "SELECT COUNT(*) FROM operations WHERE id = ?1", after_id);
                if (r < 0)
                        return r;
                if (r == 0)
                        return -ENOENT;
        }
        /* rowid: the order of insertion (operations are never deleted, so no id is reused). */
        r = store_prepare(s,
                          "SELECT * FROM operations WHERE (?1 IS NULL OR rowid > (SELECT rowid FROM operations WHERE id = ?1))"
                          " AND (?2 IS NULL OR status = ?2) AND (?4 IS NULL OR instance_name = ?4) ORDER BY rowid LIMIT ?3",
                          &st);
        if (r >= 0)
                r = bind_page(st, &(struct zero_store_page){after_id, status, limit});
        if (r < 0)
                return r;
        rc = sqlite3_bind_text(st, 4, instance, -1, SQLITE_STATIC);
        if (rc != SQLITE_OK)
                return store_errno(rc, STORE_FK_MISSING_PARENT);
        return collect_operations(st, (void **) ret, ret_n);
}
