/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The hand-over of the host to an instance whose plugin has ops.handover (bms), in place of the
 * runtime's spawn: the steps handover_load and handover of create, start and restart (they pass
 * for every other plugin). handover.c says what each does and how each resumes.
 */
#include <stdbool.h>

#include "agent/operation.h"
#include "zero/plugin.h"

/* Whether p's instances run by a hand-over of the host (spawn and boot pass for them). */
bool zero_handover_plugin(const struct zero_plugin *p);
int zero_step_handover_load(struct zero_op *op);
int zero_step_handover(struct zero_op *op);
/* The last step of an operation whose hand-over ended with a switch asked of the card: that switch
 * recorded and launched (0 when none was asked). */
int zero_handover_then(struct zero_op *op, const struct zero_instance_row *row);
