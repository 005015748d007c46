/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The card's rows (schema v3): volumes, networks, NICs and attachments, described by column
 * tables like the rows in store.c and read and written by the same machinery.
 *
 * The rules that keep the card's state consistent live in the schema, not here: a volume is
 * attached at most once (the attachment's key is the volume), an attached volume or a network with
 * NICs cannot be deleted (ON DELETE RESTRICT), an address is never handed out twice on a network
 * (UNIQUE), and an instance's delete takes its NICs and attachments with it and frees the volumes
 * it owned. The accessors below only map those outcomes to -errno.
 */
#include <errno.h>
#include <stdlib.h>

#include "common/util.h"
#include "store/store-internal.h"

/* --- volumes --- */

static const struct column volume_columns[] = {
        TEXT(struct zero_volume_row, name),
        TEXT(struct zero_volume_row, id),
        INT64(struct zero_volume_row, size_bytes),
        TEXT(struct zero_volume_row, image),
        TEXT(struct zero_volume_row, locator),
        TEXT(struct zero_volume_row, format),
        TEXT(struct zero_volume_row, state),
        INT64(struct zero_volume_row, qos_iops),
        INT64(struct zero_volume_row, qos_bps),
        TEXT(struct zero_volume_row, owner_instance),
        INT64(struct zero_volume_row, created_at),
        INT64(struct zero_volume_row, updated_at),
};
const struct table store_volume_table = TABLE(struct zero_volume_row, volume_columns);

void zero_volume_row_done(struct zero_volume_row *r) {
        store_row_done(&store_volume_table, r);
}

void zero_volume_rows_free(struct zero_volume_row *rows, size_t n) {
        store_rows_free(&store_volume_table, rows, n);
}

int zero_store_volume_insert(struct zero_store *s, const struct zero_volume_row *r) {
        assert_return(s && r && r->name && r->id && r->locator && r->format && r->state, -EINVAL);
        return store_row_write(s,
                               "INSERT INTO volumes (name, id, size_bytes, image, locator, format, state, qos_iops,"
                               " qos_bps, owner_instance, created_at, updated_at) "
                               "VALUES (:name, :id, :size_bytes, :image, :locator, :format, :state, :qos_iops,"
                               " :qos_bps, :owner_instance, :created_at, :updated_at)",
                               &store_volume_table, r, STORE_FK_MISSING_PARENT, false);
}

int zero_store_volume_get(struct zero_store *s, const char *name, struct zero_volume_row *ret) {
        assert_return(s && name && ret, -EINVAL);
        return store_row_get(s, "SELECT * FROM volumes WHERE name = ?1", name, &store_volume_table, ret);
}

int zero_store_volume_get_by_id(struct zero_store *s, const char *id, struct zero_volume_row *ret) {
        assert_return(s && id && ret, -EINVAL);
        return store_row_get(s, "SELECT * FROM volumes WHERE id = ?1", id, &store_volume_table, ret);
}

int zero_store_volume_list(struct zero_store *s, struct zero_volume_row **ret, size_t *ret_n) {
        assert_return(s && ret && ret_n, -EINVAL);
        return store_row_list(s, "SELECT * FROM volumes ORDER BY name", NULL, &store_volume_table, (void **) ret,
                              ret_n);
}

int zero_store_volume_list_owned_by(struct zero_store *s, const char *instance_id, struct zero_volume_row **ret,
                                    size_t *ret_n) {
        assert_return(s && instance_id && ret && ret_n, -EINVAL);
        return store_row_list(s, "SELECT * FROM volumes WHERE owner_instance = ?1 ORDER BY name", instance_id,
                              &store_volume_table, (void **) ret, ret_n);
}

int zero_store_volume_update(struct zero_store *s, const struct zero_volume_row *r) {
        assert_return(s && r && r->name && r->state, -EINVAL);
        /* A missing owner_instance is a dangling reference: -ENOENT, like a missing row. */
        return store_row_write(s,
                               "UPDATE volumes SET size_bytes = :size_bytes, state = :state,"
                               " qos_iops = :qos_iops, qos_bps = :qos_bps, owner_instance = :owner_instance,"
                               " updated_at = :updated_at "
                               "WHERE name = :name",
                               &store_volume_table, r, STORE_FK_MISSING_PARENT, true);
}

int zero_store_volume_delete(struct zero_store *s, const char *name) {
        const struct zero_volume_row key = { .name = (char *) name };

        assert_return(s && name, -EINVAL);
        return store_row_write(s, "DELETE FROM volumes WHERE name = :name", &store_volume_table, &key,
                               STORE_FK_HAS_CHILDREN, true);
}

/* --- networks --- */

static const struct column network_columns[] = {
        TEXT(struct zero_network_row, name),
        TEXT(struct zero_network_row, id),
        TEXT(struct zero_network_row, subnet),
        TEXT(struct zero_network_row, gateway),
        TEXT(struct zero_network_row, bridge),
        INT64(struct zero_network_row, created_at),
        TEXT(struct zero_network_row, state),
};
const struct table store_network_table = TABLE(struct zero_network_row, network_columns);

void zero_network_row_done(struct zero_network_row *r) {
        store_row_done(&store_network_table, r);
}

void zero_network_rows_free(struct zero_network_row *rows, size_t n) {
        store_rows_free(&store_network_table, rows, n);
}

int zero_store_network_insert(struct zero_store *s, const struct zero_network_row *r) {
        assert_return(s && r && r->name && r->id && r->subnet && r->gateway && r->bridge, -EINVAL);
        return store_row_write(s,
                               "INSERT INTO networks (name, id, subnet, gateway, bridge, created_at, state) "
                               "VALUES (:name, :id, :subnet, :gateway, :bridge, :created_at, COALESCE(:state, 'ready'))",
                               &store_network_table, r, STORE_FK_MISSING_PARENT, false);
}

int zero_store_network_get(struct zero_store *s, const char *name, struct zero_network_row *ret) {
        assert_return(s && name && ret, -EINVAL);
        return store_row_get(s, "SELECT * FROM networks WHERE name = ?1", name, &store_network_table, ret);
}

int zero_store_network_list(struct zero_store *s, struct zero_network_row **ret, size_t *ret_n) {
        assert_return(s && ret && ret_n, -EINVAL);
        return store_row_list(s, "SELECT * FROM networks ORDER BY name", NULL, &store_network_table, (void **) ret,
                              ret_n);
}

int zero_store_network_update(struct zero_store *s, const struct zero_network_row *r) {
        assert_return(s && r && r->name && r->bridge && r->state, -EINVAL);
        return store_row_write(s, "UPDATE networks SET bridge = :bridge, state = :state WHERE name = :name",
                               &store_network_table, r, STORE_FK_MISSING_PARENT, true);
}

int zero_store_network_delete(struct zero_store *s, const char *name) {
        const struct zero_network_row key = { .name = (char *) name };

        assert_return(s && name, -EINVAL);
        return store_row_write(s, "DELETE FROM networks WHERE name = :name", &store_network_table, &key,
                               STORE_FK_HAS_CHILDREN, true);
}

int zero_store_network_in_use(struct zero_store *s, const char *name) {
        assert_return(s && name, -EINVAL);
        return store_count(s, "SELECT COUNT(*) FROM nics WHERE network = ?1", name);
}

/* --- NICs --- */

static const struct column nic_columns[] = {
        TEXT(struct zero_nic_row, id),
        TEXT(struct zero_nic_row, network),
        TEXT(struct zero_nic_row, instance_id),
        TEXT(struct zero_nic_row, mac),
        TEXT(struct zero_nic_row, ip),
        INT64(struct zero_nic_row, host_index),
        INT64(struct zero_nic_row, idx),
        INT64(struct zero_nic_row, created_at),
        TEXT(struct zero_nic_row, attach_kind),
        TEXT(struct zero_nic_row, attach_target),
};
const struct table store_nic_table = TABLE(struct zero_nic_row, nic_columns);

void zero_nic_row_done(struct zero_nic_row *r) {
        store_row_done(&store_nic_table, r);
}

void zero_nic_rows_free(struct zero_nic_row *rows, size_t n) {
        store_rows_free(&store_nic_table, rows, n);
}

int zero_store_nic_insert(struct zero_store *s, const struct zero_nic_row *r) {
        int q;

        assert_return(s && r && r->id && r->network && r->mac && r->ip, -EINVAL);
        q = store_row_write(s,
                               "INSERT INTO nics (id, network, instance_id, mac, ip, host_index, idx, created_at,"
                               " attach_kind, attach_target) "
                               "VALUES (:id, :network, :instance_id, :mac, :ip, :host_index, :idx, :created_at,"
                               " :attach_kind, :attach_target)",
                               &store_nic_table, r, STORE_FK_MISSING_PARENT, false);
        if (q >= 0 && r->instance_id)
                store_changed(s, r->instance_id);
        return q;
}

int zero_store_nic_get(struct zero_store *s, const char *id, struct zero_nic_row *ret) {
        assert_return(s && id && ret, -EINVAL);
        return store_row_get(s, "SELECT * FROM nics WHERE id = ?1", id, &store_nic_table, ret);
}

int zero_store_nic_list(struct zero_store *s, struct zero_nic_row **ret, size_t *ret_n) {
        assert_return(s && ret && ret_n, -EINVAL);
        return store_row_list(s, "SELECT * FROM nics ORDER BY network, host_index", NULL, &store_nic_table,
                              (void **) ret, ret_n);
}

int zero_store_nic_list_for_instance(struct zero_store *s, const char *instance_id, struct zero_nic_row **ret,
                                     size_t *ret_n) {
        assert_return(s && instance_id && ret && ret_n, -EINVAL);
        return store_row_list(s, "SELECT * FROM nics WHERE instance_id = ?1 ORDER BY idx", instance_id,
                              &store_nic_table, (void **) ret, ret_n);
}

int zero_store_nic_update(struct zero_store *s, const struct zero_nic_row *r) {
        _cleanup_free_ char *was = NULL;
        int q;

        assert_return(s && r && r->id, -EINVAL);
        /* The instance it belonged to before hears of it too (a NIC moved or freed). */
        q = store_row_write_returning(s, "SELECT instance_id FROM nics WHERE id = :id", &store_nic_table, r,
                                      STORE_FK_MISSING_PARENT, false, &was);
        if (q < 0)
                return q;
        /* The MAC and the address stay with the NIC for its life: a switch or a restart keeps them. */
        q = store_row_write(s, "UPDATE nics SET instance_id = :instance_id, idx = :idx, attach_kind = :attach_kind,"
                            " attach_target = :attach_target WHERE id = :id",
                            &store_nic_table, r, STORE_FK_MISSING_PARENT, true);
        if (q < 0)
                return q;
        if (was)
                store_changed(s, was);
        if (r->instance_id && !(was && streq(was, r->instance_id)))
                store_changed(s, r->instance_id);
        return q;
}

int zero_store_nic_delete(struct zero_store *s, const char *id) {
        const struct zero_nic_row key = { .id = (char *) id };
        _cleanup_free_ char *was = NULL;
        int q;

        assert_return(s && id, -EINVAL);
        q = store_row_write_returning(s, "DELETE FROM nics WHERE id = :id RETURNING instance_id", &store_nic_table, &key,
                                      STORE_FK_HAS_CHILDREN, true, &was);
        if (q >= 0 && was)
                store_changed(s, was);
        return q;
}

/* The lowest free index is first_host_index itself or one past a taken index: those are the
 * only candidates, so the search costs O(NICs on the network) index lookups, not O(subnet size). */
static int nic_lowest_free(struct zero_store *s, const char *network, int64_t n_hosts, int64_t first,
                           int64_t *ret) {
        _cleanup_(store_releasep) sqlite3_stmt *st = NULL;
        int r, rc;

        r = store_count(s, "SELECT COUNT(*) FROM networks WHERE name = ?1", network);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENOENT;

        r = store_prepare(s,
                          "SELECT c FROM ("
                          "  SELECT ?2 AS c"
                          "  UNION ALL"
                          "  SELECT host_index + 1 FROM nics WHERE network = ?1 AND host_index >= ?2) "
                          "WHERE c <= ?3 AND NOT EXISTS"
                          " (SELECT 1 FROM nics WHERE network = ?1 AND host_index = c) "
                          "ORDER BY c LIMIT 1",
                          &st);
        if (r < 0)
                return r;
        rc = sqlite3_bind_text(st, 1, network, -1, SQLITE_STATIC);
        if (rc == SQLITE_OK)
                rc = sqlite3_bind_int64(st, 2, first);
        if (rc == SQLITE_OK)
                rc = sqlite3_bind_int64(st, 3, n_hosts);
        if (rc != SQLITE_OK)
                return store_errno(rc, STORE_FK_MISSING_PARENT);
        r = store_step_row(st);
        if (r < 0)
                return r == -ENOENT ? -ENOSPC : r;
        *ret = sqlite3_column_int64(st, 0);
        return 0;
}

int zero_store_nic_allocate_ip(struct zero_store *s, const char *network, int64_t n_hosts,
                               int64_t first_host_index, int64_t *ret_index) {
        int64_t idx = 0;
        bool owned;
        int r;

        assert_return(s && network && ret_index, -EINVAL);
        assert_return(first_host_index >= 1 && n_hosts >= 0, -EINVAL);

        /* The existence check and the search see one snapshot; inside the caller's transaction
         * (the documented use) the insert that follows sees it too. */
        r = store_tx_enter(s, &owned);
        if (r < 0)
                return r;
        r = nic_lowest_free(s, network, n_hosts, first_host_index, &idx);
        r = store_tx_leave(s, owned, r);
        if (r < 0)
                return r;
        *ret_index = idx;
        return 0;
}

/* --- attachments --- */

static const struct column attachment_columns[] = {
        TEXT(struct zero_attachment_row, volume),
        TEXT(struct zero_attachment_row, instance_id),
        TEXT(struct zero_attachment_row, role),
        TEXT(struct zero_attachment_row, path),
        TEXT(struct zero_attachment_row, personality),
        TEXT(struct zero_attachment_row, export_kind),
        TEXT(struct zero_attachment_row, export_path),
        INT64(struct zero_attachment_row, idx),
        INT64(struct zero_attachment_row, released),
};
const struct table store_attachment_table = TABLE(struct zero_attachment_row, attachment_columns);

void zero_attachment_row_done(struct zero_attachment_row *r) {
        store_row_done(&store_attachment_table, r);
}

void zero_attachment_rows_free(struct zero_attachment_row *rows, size_t n) {
        store_rows_free(&store_attachment_table, rows, n);
}

int zero_store_attachment_insert(struct zero_store *s, const struct zero_attachment_row *r) {
        int q;

        assert_return(s && r && r->volume && r->instance_id && r->role && r->personality, -EINVAL);
        /* The volume is the primary key: attaching it a second time, to any instance, is -EEXIST. */
        q = store_row_write(s,
                               "INSERT INTO attachments (volume, instance_id, role, path, personality,"
                               " export_kind, export_path, idx, released) "
                               "VALUES (:volume, :instance_id, :role, :path, :personality, :export_kind,"
                               " :export_path, :idx, :released)",
                               &store_attachment_table, r, STORE_FK_MISSING_PARENT, false);
        if (q >= 0)
                store_changed(s, r->instance_id);
        return q;
}

int zero_store_attachment_get(struct zero_store *s, const char *volume, struct zero_attachment_row *ret) {
        assert_return(s && volume && ret, -EINVAL);
        return store_row_get(s, "SELECT * FROM attachments WHERE volume = ?1", volume, &store_attachment_table, ret);
}

int zero_store_attachment_list(struct zero_store *s, struct zero_attachment_row **ret, size_t *ret_n) {
        assert_return(s && ret && ret_n, -EINVAL);
        return store_row_list(s, "SELECT * FROM attachments ORDER BY instance_id, idx", NULL, &store_attachment_table,
                              (void **) ret, ret_n);
}

int zero_store_attachment_list_for_instance(struct zero_store *s, const char *instance_id,
                                            struct zero_attachment_row **ret, size_t *ret_n) {
        assert_return(s && instance_id && ret && ret_n, -EINVAL);
        return store_row_list(s, "SELECT * FROM attachments WHERE instance_id = ?1 ORDER BY idx", instance_id,
                              &store_attachment_table, (void **) ret, ret_n);
}

int zero_store_attachment_update(struct zero_store *s, const struct zero_attachment_row *r) {
        _cleanup_free_ char *owner = NULL;
        int q;

        assert_return(s && r && r->volume && r->role && r->personality, -EINVAL);
        /* The instance is the row's, whatever r says (instance_id is fixed). */
        q = store_row_write_returning(s,
                                      "UPDATE attachments SET role = :role, path = :path, personality = :personality,"
                                      " export_kind = :export_kind, export_path = :export_path, idx = :idx,"
                                      " released = :released "
                                      "WHERE volume = :volume RETURNING instance_id",
                                      &store_attachment_table, r, STORE_FK_MISSING_PARENT, true, &owner);
        if (q >= 0 && owner)
                store_changed(s, owner);
        return q;
}

int zero_store_attachment_delete(struct zero_store *s, const char *volume) {
        const struct zero_attachment_row key = { .volume = (char *) volume };
        _cleanup_free_ char *owner = NULL;
        int q;

        assert_return(s && volume, -EINVAL);
        q = store_row_write_returning(s, "DELETE FROM attachments WHERE volume = :volume RETURNING instance_id",
                                      &store_attachment_table, &key, STORE_FK_HAS_CHILDREN, true, &owner);
        if (q >= 0 && owner)
                store_changed(s, owner);
        return q;
}

int zero_store_volume_attached_to(struct zero_store *s, const char *name, char **ret_instance_id) {
        struct zero_attachment_row row = {};
        int r;

        assert_return(s && name && ret_instance_id, -EINVAL);
        r = store_row_get(s, "SELECT instance_id FROM attachments WHERE volume = ?1", name, &store_attachment_table,
                          &row);
        if (r < 0)
                return r;
        *ret_instance_id = row.instance_id;
        return 0;
}
