/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The card's part of an instance's operations: what the engine makes of the card before a
 * runtime starts ("card_up") and takes down once it is gone ("card_down"), each a step that
 * waits for the card's jobs (card_job.h) without blocking anyone. The plugin says what its mode
 * needs (plugin.h's card_needs, 4.2); the plugin's card services then answer from what was made.
 *
 * only_volume / only_nic limit the step to the one volume or NIC of an attach or detach (a
 * hot-plug); NULL for the whole instance.
 */
#include "agent/agent.h"
#include "agent/operation.h"

/* Exports and attachments as the plugin's card_needs names them, the veths' network namespace
 * first; a volume exported another way (a switch cut short) is unexported before. Nothing for a
 * plugin without card_needs: its own calls ask the card (zero_card_asked()). released: the
 * exports are made with their volumes released behind them (the target of a live migration,
 * whose volumes are still the source's: card.h's volume_release). */
int zero_card_up(struct zero_op *op, const struct zero_plugin *p, struct zero_plugin_ctx *ctx,
                 const struct zero_instance_info *info, const char *only_volume, const char *only_nic, bool released);
/* Live migration's hand-over of the instance's exported volumes (card.h): released behind their
 * exports (the source, its guest paused), or taken (the target, once the source released them;
 * the source again when the migration is undone). Waits like zero_card_up(). */
int zero_card_hand(struct zero_op *op, const char *instance_id, bool take);
/* Every export and attachment the store records for the instance (or one with a job under
 * way) goes; the step runs again once the jobs ended and then, when it was the whole instance's,
 * removes the veths' network namespace the plugin's card_needs names. */
int zero_card_down(struct zero_op *op, const struct zero_plugin *p, struct zero_plugin_ctx *ctx,
                   const struct zero_instance_info *info, const char *only_volume, const char *only_nic);
/* The same, with nobody waiting: a start that failed, an instance that ended by itself, a
 * hot-plug undone. The namespace stays (the plugin's cleanup, or the next card_down). */
void zero_card_down_nowait(struct zero_agent *a, const char *instance_id, const char *only_volume, const char *only_nic);

/* After a plugin op (prepare, start, plug_*) answered r: when it failed while its card services
 * had asked the card for something not made yet ("under way", plugin.h), the step waits for the
 * card's jobs on the instance's volumes and NICs and runs again (ZERO_OP_PENDING); else r. Call
 * zero_card_asked_reset() before the plugin op. */
void zero_card_asked_reset(struct zero_inst *inst);
int zero_card_asked(struct zero_op *op, struct zero_inst *inst, const struct zero_instance_info *info, int r);
