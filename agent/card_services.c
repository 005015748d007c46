/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The card services for plugins (plugin.h): volume_export, volume_unexport, nic_attach and
 * nic_detach. None of them calls the card: what a plugin asks for was made by the engine's
 * card_up step (card_steps.h) and is read from the store, which records it when the card is done;
 * what was not made yet is asked of the card as a job and answered "under way" (-EAGAIN), and
 * the step that called the plugin waits for the job and calls it again. A release (unexport,
 * detach) starts the job and returns; the card_down step waits for it.
 */
#include <string.h>

#include "agent/card.h"
#include "agent/card_job.h"
#include "common/log.h"
#include "common/util.h"

static int svc_attachment(struct zero_plugin_ctx *ctx, const char *volume, struct zero_attachment_row *ret,
                          struct zero_error *err) {
        int r;

        if (!ctx || !ctx->inst || !volume)
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL, "card service called without an instance");
        r = zero_store_attachment_get(ctx->agent->store, volume, ret);
        if (r >= 0 && !streq(ret->instance_id, ctx->inst->id)) {
                zero_attachment_row_done(ret);
                r = -ENOENT;
        }
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_CONFLICT, "volume %s is not attached to %s", volume,
                                      ctx->inst->name);
        return 0;
}

static int svc_nic(struct zero_plugin_ctx *ctx, const char *nic_id, struct zero_nic_row *ret, struct zero_error *err) {
        int r;

        if (!ctx || !ctx->inst || !nic_id)
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL, "card service called without an instance");
        r = zero_store_nic_get(ctx->agent->store, nic_id, ret);
        if (r >= 0 && !streq(strempty(ret->instance_id), ctx->inst->id)) {
                zero_nic_row_done(ret);
                r = -ENOENT;
        }
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_CONFLICT, "NIC %s is not one of %s's", nic_id, ctx->inst->name);
        return 0;
}

/* Not made yet: the card is asked (or a job already queued joined), the step hears of it. */
static int svc_ask(struct zero_plugin_ctx *ctx, const struct zero_card_job_req *q, const char *what,
                   struct zero_error *err) {
        int r = zero_card_job(ctx->agent, q, NULL, NULL, err);

        if (r < 0)
                return r;
        ctx->inst->card_asked = true;
        return zero_error_set(err, -EAGAIN, ZERO_E_UNAVAILABLE, "the card is making %s (under way: asked again once done)",
                              what);
}

/* A release: the job is started unless nothing is up and nothing under way. */
static int svc_release(struct zero_plugin_ctx *ctx, enum zero_card_job_kind k, const char *object, bool up,
                       struct zero_error *err) {
        if (!up && zero_card_job_last(ctx->agent, k, object) < 0)
                return 0;
        return zero_card_job(ctx->agent, &(struct zero_card_job_req){.kind = k, .object = object}, NULL, NULL, err);
}

int zero_card_svc_volume_export(struct zero_plugin_ctx *ctx, const char *volume, const char *kind, char *ret_path,
                                size_t size, struct zero_error *err) {
        struct zero_attachment_row att = {};
        char what[160];
        int r;

        if (zero_card_export_kind_from_string(kind) == ZERO_CARD_EXPORT_NONE || !ret_path || size == 0)
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL, "unknown export kind '%s'", strempty(kind));
        if ((r = svc_attachment(ctx, volume, &att, err)) < 0)
                return r;
        if (zero_card_job_last(ctx->agent, ZERO_CARD_JOB_EXPORT, volume) >= 0)
                r = 1; /* the row is not the card's last word yet */
        else if (att.export_kind && !streq(att.export_kind, kind))
                r = zero_error_set(err, -EBUSY, ZERO_E_CONFLICT, "volume %s is exported as %s, not %s", volume,
                                   att.export_kind, kind);
        else if (att.export_kind && att.export_path && strlen(att.export_path) >= size)
                r = zero_error_set(err, -ENAMETOOLONG, ZERO_E_INTERNAL, "export path %s is too long", att.export_path);
        else if (att.export_kind && att.export_path)
                strcpy(ret_path, att.export_path);
        else
                r = 1;
        zero_attachment_row_done(&att);
        if (r <= 0)
                return r;
        snprintf(what, sizeof(what), "the %s export of volume %s", kind, volume);
        return svc_ask(ctx, &(struct zero_card_job_req){.kind = ZERO_CARD_JOB_EXPORT, .object = volume, .how = kind},
                       what, err);
}

int zero_card_svc_volume_unexport(struct zero_plugin_ctx *ctx, const char *volume, struct zero_error *err) {
        struct zero_attachment_row att = {};
        int r = svc_attachment(ctx, volume, &att, err);

        if (r >= 0)
                r = svc_release(ctx, ZERO_CARD_JOB_UNEXPORT, volume, att.export_kind != NULL, err);
        zero_attachment_row_done(&att);
        return r;
}

int zero_card_svc_nic_attach(struct zero_plugin_ctx *ctx, const char *nic_id, const char *kind,
                             const char *netns_path, char *ret_ifname, size_t size, struct zero_error *err) {
        enum zero_card_nic_kind k = zero_card_nic_kind_from_string(kind);
        struct zero_nic_row row = {};
        const char *target;
        char what[160];
        int r;

        if (k == ZERO_CARD_NIC_NONE || (k == ZERO_CARD_NIC_VETH && (!netns_path || netns_path[0] != '/')))
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL, "bad NIC attachment '%s'", strempty(kind));
        if ((r = svc_nic(ctx, nic_id, &row, err)) < 0)
                return r;
        target = k == ZERO_CARD_NIC_VETH ? netns_path : NULL;
        if (zero_card_job_last(ctx->agent, ZERO_CARD_JOB_ATTACH, nic_id) >= 0)
                r = 1;
        else if (row.attach_kind &&
                 (!streq(row.attach_kind, kind) || (target && !streq(strempty(row.attach_target), target))))
                r = zero_error_set(err, -EBUSY, ZERO_E_CONFLICT, "NIC %s is attached as %s %s", nic_id, row.attach_kind,
                                   strempty(row.attach_target));
        else if (row.attach_kind && row.attach_target) {
                /* A tap is known by its name; a veth by its name in the namespace. */
                if (ret_ifname && size > 0)
                        snprintf(ret_ifname, size, "%s", target ? zero_card_nic_ifname(row.idx) : row.attach_target);
        } else
                r = 1;
        zero_nic_row_done(&row);
        if (r <= 0)
                return r;
        snprintf(what, sizeof(what), "the %s attachment of NIC %s", kind, nic_id);
        return svc_ask(ctx,
                       &(struct zero_card_job_req){.kind = ZERO_CARD_JOB_ATTACH, .object = nic_id, .how = kind,
                                                   .netns = target},
                       what, err);
}

int zero_card_svc_nic_detach(struct zero_plugin_ctx *ctx, const char *nic_id, struct zero_error *err) {
        struct zero_nic_row row = {};
        int r = svc_nic(ctx, nic_id, &row, err);

        if (r >= 0)
                r = svc_release(ctx, ZERO_CARD_JOB_DETACH, nic_id, row.attach_kind != NULL, err);
        zero_nic_row_done(&row);
        return r;
}
