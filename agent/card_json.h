/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* How the API shows the card's rows (card_json.c), from the store's joined reads. */
#include <jansson.h>
#include <stdbool.h>

#include "agent/agent.h"

/* with_stats: the driver's I/O counters as "stats", when it answers in time (best effort). */
json_t *zero_volume_to_json(struct zero_agent *a, const struct zero_volume_full *f, bool with_stats);
json_t *zero_network_to_json(const struct zero_network_full *f);
/* The volume or network named name: not_found or unavailable with a message in err. */
int zero_volume_json(struct zero_agent *a, const char *name, bool with_stats, json_t **ret, struct zero_error *err);
int zero_network_json(struct zero_agent *a, const char *name, json_t **ret, struct zero_error *err);
/* "root_volume", "volumes" and "nics" of an instance, added to its JSON object j. */
void zero_card_instance_json(const struct zero_instance_full *f, json_t *j);
