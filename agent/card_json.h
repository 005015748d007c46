/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* How the API shows the card's rows (card_json.c). */
#include <jansson.h>
#include <stdbool.h>

#include "agent/agent.h"

/* with_stats: the driver's I/O counters as "stats", when it answers in time (best effort). */
json_t *zero_volume_to_json(struct zero_agent *a, const struct zero_volume_row *row, bool with_stats);
json_t *zero_network_to_json(struct zero_agent *a, const struct zero_network_row *row);
/* "root_volume", "volumes" and "nics" of an instance, added to its JSON object j. */
void zero_card_instance_json(struct zero_agent *a, const char *instance_id, json_t *j);
