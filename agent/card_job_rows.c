/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The rows a card job changes once its driver op ended well (card_job.h: "driver first, then the
 * row"): an attachment's export, a NIC's attachment, a volume's size, limits and state, a
 * network's state and name; a volume or a network removed loses its row. A network the card
 * refused to make loses its row too (the job took back what the card made), one it could not
 * remove is ready again. A row that is another object's now (deleted and made anew under its
 * name) is left alone.
 */
#include "agent/card_job_rows.h"

#include <string.h>

#include "agent/network_service.h"
#include "agent/volume_service.h"
#include "common/log.h"
#include "common/util.h"


static void rows_volume(struct zero_agent *a, const struct zero_card_job_end *j, struct zero_volume_row *row, int *r,
                        struct zero_error *err) {
        int k;

        if (j->remove) {
                k = zero_store_volume_delete(a->store, j->req->object);
                if (k < 0)
                        *r = zero_error_set(err, k, ZERO_E_UNAVAILABLE, "cannot forget volume %s: %s", j->req->object,
                                            strerror(-k));
                else {
                        log_info("Volume %s is deleted", j->req->object);
                        zero_agent_event(a, "volume.deleted", NULL, json_pack("{s:s}", "name", j->req->object));
                }
                return;
        }
        if (zero_vol_state_of(row) != ZERO_VOL_CREATING)
                return;
        k = zero_vol_set_state(row, ZERO_VOL_READY);
        if (k >= 0)
                k = zero_store_volume_update(a->store, row);
        if (k < 0)
                *r = zero_error_set(err, k, ZERO_E_UNAVAILABLE, "cannot record volume %s as ready: %s", j->req->object,
                                    strerror(-k));
        else {
                log_info("Volume %s is ready (%s, %lld bytes)", j->req->object, row->format, (long long) row->size_bytes);
                zero_agent_event(a, "volume.created", NULL, json_pack("{s:s}", "name", j->req->object));
        }
}

/* *field becomes a copy of value (NULL clears it); -ENOMEM leaves it. */
static int set_str(char **field, const char *value) {
        char *s = value ? strdup(value) : NULL;

        if (value && !s)
                return -ENOMEM;
        free(*field);
        *field = s;
        return 0;
}

/* released: the export holds its volume released (1: RELEASE), or not (0: TAKE); -1: as it was
 * (EXPORT: an export made again the same way keeps what it had behind it). */
static int rows_export(struct zero_agent *a, const struct zero_card_job_end *j, bool exported, int released,
                       const char *path) {
        struct zero_attachment_row att = {};
        int k = zero_store_attachment_get(a->store, j->req->object, &att);

        if (k == -ENOENT) /* detached meanwhile: nothing records it (an unexport's detach, or sync's) */
                return 0;
        if (k >= 0 && exported &&
            (!streq(strempty(att.export_kind), j->req->how) || !streq(strempty(att.export_path), path) ||
             (released >= 0 && (att.released != 0) != released))) {
                if (released >= 0)
                        att.released = released;
                k = set_str(&att.export_kind, j->req->how) < 0 || set_str(&att.export_path, path) < 0
                            ? -ENOMEM
                            : zero_store_attachment_update(a->store, &att);
        } else if (k >= 0 && !exported && att.export_kind) {
                att.export_kind = mfree(att.export_kind);
                att.export_path = mfree(att.export_path);
                att.released = 0;
                k = zero_store_attachment_update(a->store, &att);
        }
        zero_attachment_row_done(&att);
        return k;
}

static int rows_nic(struct zero_agent *a, const struct zero_card_job_end *j, bool attached, const char *target) {
        struct zero_nic_row row = {};
        int k = zero_store_nic_get(a->store, j->req->object, &row);

        if (k == -ENOENT) /* the NIC is gone (a failed attach forgot it) */
                return 0;
        if (k >= 0 && attached && (!streq(strempty(row.attach_kind), j->req->how) || !streq(strempty(row.attach_target), target)))
                k = set_str(&row.attach_kind, j->req->how) < 0 || set_str(&row.attach_target, target) < 0
                            ? -ENOMEM
                            : zero_store_nic_update(a->store, &row);
        else if (k >= 0 && !attached && row.attach_kind) {
                row.attach_kind = mfree(row.attach_kind);
                row.attach_target = mfree(row.attach_target);
                k = zero_store_nic_update(a->store, &row);
        }
        zero_nic_row_done(&row);
        return k;
}

/* A network's row once the driver is done: made, it is ready and shows the driver's name for it
 * (its id when the driver names none, or a name another network shows already: display only);
 * removed, it goes. A make that failed (the driver undid what it made) takes the row with it,
 * a remove that failed leaves the network ready. */
static void rows_network(struct zero_agent *a, const struct zero_card_job_end *j, int *r, struct zero_error *err) {
        struct zero_network_row row = {};
        char *bridge, *state;
        int k = 0;

        if (zero_store_network_get(a->store, j->req->object, &row) < 0 || !j->id || !streq(row.id, j->id)) {
                zero_network_row_done(&row);
                return;
        }
        if (j->remove && *r >= 0) {
                k = zero_store_network_delete(a->store, row.name);
                if (k >= 0) {
                        log_info("Deleted network %s", row.name);
                        zero_agent_event(a, "network.deleted", NULL, json_pack("{s:s}", "name", row.name));
                }
        } else if (!j->remove && *r < 0)
                k = zero_store_network_delete(a->store, row.name);
        else {
                bridge = strdup(j->remove || !j->result[0] ? row.bridge : j->result);
                state = strdup(zero_net_state_name(ZERO_NET_READY));
                k = bridge && state ? 0 : -ENOMEM;
                if (k >= 0) {
                        free(row.bridge);
                        free(row.state);
                        row.bridge = TAKE_PTR(bridge);
                        row.state = TAKE_PTR(state);
                        k = zero_store_network_update(a->store, &row);
                        if (k == -EEXIST && !j->remove) {
                                log_warning("Network %s: the card's name for it, %s, is another network's: showing its id",
                                            row.name, row.bridge);
                                free(row.bridge);
                                row.bridge = strdup(row.id);
                                k = row.bridge ? zero_store_network_update(a->store, &row) : -ENOMEM;
                        }
                }
                free(bridge);
                free(state);
                if (k >= 0 && !j->remove) {
                        log_info("Created network %s (%s on %s)", row.name, row.subnet, row.bridge);
                        zero_agent_event(a, "network.created", NULL, json_pack("{s:s}", "name", row.name));
                }
        }
        if (k < 0 && *r >= 0)
                *r = zero_error_set(err, k, ZERO_E_UNAVAILABLE, "cannot record network %s: %s", row.name, strerror(-k));
        zero_network_row_done(&row);
}

/* The driver is done (r >= 0): the row follows. A row that is another object's now (a volume
 * deleted and made anew under its name) is left alone. */
void zero_card_job_rows(struct zero_agent *a, const struct zero_card_job_end *j, int *r, struct zero_error *err) {
        struct zero_volume_row row = {};
        int k = 0;

        if (j->req->kind == ZERO_CARD_JOB_NETWORK)
                return rows_network(a, j, r, err);
        if (*r < 0)
                return;
        switch (j->req->kind) {
        case ZERO_CARD_JOB_VOLUME:
        case ZERO_CARD_JOB_RESIZE:
        case ZERO_CARD_JOB_QOS:
                if (zero_store_volume_get(a->store, j->req->object, &row) < 0 || (j->id && !streq(row.id, j->id)))
                        break;
                if (j->req->kind == ZERO_CARD_JOB_VOLUME) {
                        rows_volume(a, j, &row, r, err);
                        break;
                }
                if (j->req->kind == ZERO_CARD_JOB_RESIZE)
                        row.size_bytes = j->req->size;
                else {
                        row.qos_iops = j->req->iops;
                        row.qos_bps = j->req->bps;
                }
                row.updated_at = (int64_t) zero_now_usec();
                k = zero_store_volume_update(a->store, &row);
                if (k >= 0)
                        log_info("Volume %s: %s", j->req->object,
                                 j->req->kind == ZERO_CARD_JOB_RESIZE ? "resized" : "QoS set");
                break;
        case ZERO_CARD_JOB_EXPORT:
        case ZERO_CARD_JOB_UNEXPORT:
        case ZERO_CARD_JOB_RELEASE:
        case ZERO_CARD_JOB_TAKE:
                k = rows_export(a, j, j->req->kind != ZERO_CARD_JOB_UNEXPORT,
                                j->req->kind == ZERO_CARD_JOB_RELEASE ? 1 : j->req->kind == ZERO_CARD_JOB_TAKE ? 0 : -1,
                                j->result);
                break;
        case ZERO_CARD_JOB_ATTACH:
        case ZERO_CARD_JOB_DETACH:
                k = rows_nic(a, j, j->req->kind == ZERO_CARD_JOB_ATTACH,
                             streq(strempty(j->req->how), "veth") ? j->req->netns : j->result);
                break;
        default:
                break;
        }
        zero_volume_row_done(&row);
        if (k < 0)
                *r = zero_error_set(err, k, ZERO_E_UNAVAILABLE, "cannot record the %s of %s: %s",
                                    zero_card_job_kind_name(j->req->kind), j->req->object, strerror(-k));
}
