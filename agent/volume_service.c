/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The volume service (volume_service.h). A volume's create and delete can take the card seconds
 * (mkfs.ext4 of a large blank volume, unlinking it), so they are operations (card_ops.c),
 * recorded with the row's transitional state (creating, deleting) in one transaction. A resize or
 * QoS change is an operation too (its params hold the new values; the row takes them when the card
 * is done): the card's op is short on a healthy card, but a card that stopped answering would
 * otherwise hold whoever asked, and zerod's loop with it.
 */
#include "agent/volume_service.h"

#include <string.h>

#include "agent/card.h"
#include "agent/card_spec.h"
#include "agent/operation.h"
#include "common/log.h"
#include "common/text.h"
#include "common/util.h"

static const char *const vol_state_names[_ZERO_VOL_STATE_MAX] = {
        [ZERO_VOL_CREATING] = "creating",
        [ZERO_VOL_READY] = "ready",
        [ZERO_VOL_DELETING] = "deleting",
};

const char *zero_vol_state_name(enum zero_vol_state s) {
        return zero_state_name_at(vol_state_names, _ZERO_VOL_STATE_MAX, s);
}

enum zero_vol_state zero_vol_state_from_name(const char *s) {
        return (enum zero_vol_state) zero_state_index(vol_state_names, _ZERO_VOL_STATE_MAX, s);
}

bool zero_vol_state_has_job(enum zero_vol_state s) {
        return s == ZERO_VOL_CREATING || s == ZERO_VOL_DELETING;
}

int zero_vol_set_state(struct zero_volume_row *row, enum zero_vol_state s) {
        const char *name = zero_vol_state_name(s);
        char *dup = name ? strdup(name) : NULL;

        if (!dup)
                return name ? -ENOMEM : -EINVAL;
        free(row->state);
        row->state = dup;
        row->updated_at = (int64_t) zero_now_usec();
        return 0;
}

int zero_volume_load(struct zero_agent *a, const char *name, struct zero_volume_row *row, struct zero_error *err) {
        int r = zero_store_volume_get(a->store, name, row);

        if (r == -ENOENT)
                return zero_error_set(err, r, ZERO_E_NOT_FOUND, "no volume named '%s'", ZERO_QUOTE(name));
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_UNAVAILABLE, "cannot read volume: %s", strerror(-r));
        return 0;
}

/* The new volume's row (create) or its change of state (delete) and the operation that waits for
 * the card's work, in one transaction, then launched. Takes op. */
static int record(struct zero_agent *a, const struct zero_volume_row *new_row, const struct zero_volume_row *update_row,
                  struct zero_op *op, struct zero_error *err) {
        int r = zero_store_begin(a->store);

        if (r >= 0 && new_row)
                r = zero_store_volume_insert(a->store, new_row);
        if (r >= 0 && update_row)
                r = zero_store_volume_update(a->store, update_row);
        return zero_op_commit_and_launch(a, r, op, new_row ? "a volume" : NULL, new_row ? new_row->name : NULL,
                                         new_row ? new_row->image : NULL, err);
}

/* The volume's operation, recorded with its row (create) or its new state (delete). What the
 * card cannot hold is refused first, with its reason (its pool's limit). */
static int volume_record(struct zero_agent *a, struct zero_volume_row *row, bool create, struct zero_op **ret_op,
                         struct zero_error *err) {
        struct zero_op *op = NULL;
        int r;

        if (create && zero_card_volume_validate(a, row, 0, err) < 0)
                return -EINVAL;
        if (!create && zero_vol_set_state(row, ZERO_VOL_DELETING) < 0)
                return zero_error_set(err, -ENOMEM, ZERO_E_INTERNAL, "out of memory");
        r = zero_op_new_volume(a, create ? "volume_create" : "volume_delete", row->name, NULL, &op);
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_INTERNAL, "cannot create the operation: %s", strerror(-r));
        r = record(a, create ? row : NULL, create ? NULL : row, op, err);
        if (r < 0)
                return r;
        log_info("%s volume %s (%s, %lld bytes)", create ? "Creating" : "Deleting", row->name, row->format,
                 (long long) row->size_bytes);
        *ret_op = op;
        return 0;
}

int zero_volume_create(struct zero_agent *a, json_t *body, struct zero_op **ret_op, struct zero_error *err) {
        struct zero_volume_row row = {};
        struct zero_volume_spec spec;
        const char *name, *img;
        int64_t size;
        char id[33];
        int r;

        r = zero_volume_spec_parse(body, &spec, err);
        if (r >= 0)
                r = zero_volume_spec_check(a, &spec, err);
        if (r < 0)
                return r;
        name = spec.name;
        img = spec.image;
        size = spec.size_bytes;
        if ((r = zero_random_id(id)) < 0)
                return zero_error_set(err, r, ZERO_E_INTERNAL, "no random id: %s", strerror(-r));
        row = (struct zero_volume_row){
                .name = strdup(name),
                .id = strdup(id),
                .size_bytes = size,
                .image = img ? strdup(img) : NULL,
                .state = strdup(zero_vol_state_name(ZERO_VOL_CREATING)),
                .created_at = (int64_t) zero_now_usec(),
        };
        row.updated_at = row.created_at;
        if (!row.name || !row.id || (img && !row.image) || !row.state)
                r = zero_error_set(err, -ENOMEM, ZERO_E_INTERNAL, "out of memory");
        else /* where it lives is the card's to say (an opaque locator), recorded with the row */
                r = zero_card_volume_place(a, &row, err);
        if (r >= 0)
                r = volume_record(a, &row, true, ret_op, err);
        zero_volume_row_done(&row);
        return r;
}

int zero_volume_delete(struct zero_agent *a, const char *name, struct zero_op **ret_op, struct zero_error *err) {
        struct zero_volume_row row = {};
        _cleanup_free_ char *holder = NULL;
        int r = zero_volume_load(a, name, &row, err);

        if (r < 0)
                return r;
        if (zero_store_volume_attached_to(a->store, row.name, &holder) >= 0)
                r = zero_error_set(err, -EBUSY, ZERO_E_IN_USE, "volume '%s' is attached to an instance", row.name);
        else if (zero_vol_state_of(&row) != ZERO_VOL_READY)
                r = zero_error_set(err, -EBUSY, ZERO_E_WRONG_STATE, "volume '%s' is %s", row.name, row.state);
        else
                r = volume_record(a, &row, false, ret_op, err);
        zero_volume_row_done(&row);
        return r;
}

/* The change's operation, with its params, recorded and launched. Takes params. */
/* Only a ready volume changes. */
static int change_check(const struct zero_volume_row *row, struct zero_error *err) {
        if (zero_vol_state_of(row) != ZERO_VOL_READY)
                return zero_error_set(err, -EBUSY, ZERO_E_WRONG_STATE, "volume '%s' is %s", row->name, row->state);
        return 0;
}

static int change_record(struct zero_agent *a, const struct zero_volume_row *row, const char *kind, json_t *params,
                         struct zero_op **ret_op, struct zero_error *err) {
        struct zero_op *op = NULL;
        int r;

        if (!params)
                return zero_error_set(err, -ENOMEM, ZERO_E_INTERNAL, "out of memory");
        r = zero_op_new_volume(a, kind, row->name, params, &op);
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_INTERNAL, "cannot create the operation: %s", strerror(-r));
        r = zero_op_commit_and_launch(a, zero_store_begin(a->store), op, NULL, NULL, NULL, err);
        if (r < 0)
                return r;
        *ret_op = op;
        return 0;
}

int zero_volume_resize(struct zero_agent *a, const char *name, int64_t size, struct zero_op **ret_op,
                       struct zero_error *err) {
        struct zero_volume_row row = {};
        int r = zero_volume_load(a, name, &row, err);

        if (r < 0)
                return r;
        if (change_check(&row, err) < 0)
                r = -EBUSY;
        else if (size < row.size_bytes)
                r = zero_error_set(err, -EINVAL, ZERO_E_INVALID, "size_bytes: volumes only grow (now %lld bytes)",
                                   (long long) row.size_bytes);
        else if (zero_card_volume_validate(a, &row, (uint64_t) size, err) < 0)
                r = -EINVAL; /* beyond what the card holds: its reason */
        else
                r = change_record(a, &row, "volume_resize", json_pack("{s:I}", "size_bytes", (json_int_t) size), ret_op,
                                  err);
        zero_volume_row_done(&row);
        return r;
}

int zero_volume_set_qos(struct zero_agent *a, const char *name, int64_t iops, int64_t bps, struct zero_op **ret_op,
                        struct zero_error *err) {
        struct zero_volume_row row = {};
        int r = zero_volume_load(a, name, &row, err);

        if (r < 0)
                return r;
        r = change_check(&row, err) < 0 ? -EBUSY : change_record(a, &row, "volume_qos",
                          json_pack("{s:I,s:I}", "iops", (json_int_t) (iops >= 0 ? iops : row.qos_iops), "bps",
                                    (json_int_t) (bps >= 0 ? bps : row.qos_bps)),
                          ret_op, err);
        zero_volume_row_done(&row);
        return r;
}
