/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The agent's side of the card: it owns the rows (volumes, networks, NICs, attachments) and
 * drives the card driver (include/zero/card.h) to match them. The order is always "driver first,
 * then the row" for what makes something exist and "driver first, then clear the row" for what
 * removes it, so that a crash in between leaves the store describing at most one thing more than
 * reality; zero_card_sync() then puts it back (or removes what the store does not know).
 */

#include "agent/agent.h"
#include "zero/card.h"

/* Whether the driver has op, one of those appended to the first ABI (its size says). */
#define ZERO_CARD_HAS(d, op)                                                                       \
        ((d)->size >= offsetof(struct zero_card_driver, ops) + offsetof(struct zero_card_ops, op) + sizeof(void *) && \
         (d)->ops.op)

/* Loads the driver ([card] driver, default softcard: PLUGIN_DIR/softcard.so, card_loader.h),
 * opens it (starting or adopting its daemon), finishes volumes left half-created or half-deleted,
 * and syncs the card with the store. Called at start, before instances are reconciled and
 * operations resumed; zerod does not start without its card. */
int zero_card_start(struct zero_agent *a);
void zero_card_stop(struct zero_agent *a);
/* zerod --stop-card: with the store showing no live instance and no operation under way, the
 * card's driver stops what it runs on this host (card.h: stop), else nothing is touched and the
 * log says what holds it. 0, or -errno once logged. Needs the locks (no zerod running). */
int zero_card_teardown(struct zero_agent *a);
/* The opened driver's ZERO_CARD_CAP_* (card.h); 0 before the card is open or for a driver without
 * the op (the softcard). */
uint64_t zero_card_capabilities(const struct zero_agent *a);
/* Makes the card match the store; restarts running instances whose exports had to be made anew
 * (their old block device died with the daemon). */
int zero_card_sync(struct zero_agent *a);

/* An instance has at most this many NICs, named eth0.. by their idx inside the instance. */
#define ZERO_CARD_NICS_MAX 8
const char *zero_card_nic_ifname(int64_t idx);

/* A volume row as the driver wants it; strings point into row and h. */
struct zero_card_vol {
        struct zero_card_volume v;
        char *source; /* the image's base filesystem, for a clone */
};
int zero_card_vol_init(struct zero_agent *a, const struct zero_volume_row *row, struct zero_card_vol *ret);
void zero_card_vol_done(struct zero_card_vol *cv);
/* Where the new volume of row (its id, size and image) is to live, as the driver decides: its
 * locator and format set in row, before the row is recorded (card.h's volume_place). */
int zero_card_volume_place(struct zero_agent *a, struct zero_volume_row *row, struct zero_error *err);
/* A network row as the driver wants it; strings point into row. */
struct zero_card_network zero_card_network_of(const struct zero_network_row *row);

/* Whether the card can hold the volume of row at size bytes (its own size when 0): ZERO_E_INVALID with the
 * driver's reason (its pool's limit) otherwise. Before a volume or a resize is recorded. */
int zero_card_volume_validate(struct zero_agent *a, const struct zero_volume_row *row, uint64_t size,
                              struct zero_error *err);

/* The card services for plugins (card_services.c; services.c hands them out): they answer from
 * what the engine made and never call the card (plugin.h). */
int zero_card_svc_volume_export(struct zero_plugin_ctx *ctx, const char *volume, const char *kind, char *ret_path,
                                size_t size, struct zero_error *err);
int zero_card_svc_volume_unexport(struct zero_plugin_ctx *ctx, const char *volume, struct zero_error *err);
int zero_card_svc_nic_attach(struct zero_plugin_ctx *ctx, const char *nic_id, const char *kind,
                             const char *netns_path, char *ret_ifname, size_t size, struct zero_error *err);
int zero_card_svc_nic_detach(struct zero_plugin_ctx *ctx, const char *nic_id, struct zero_error *err);
