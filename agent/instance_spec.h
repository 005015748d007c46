/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <jansson.h>

#include "agent/agent.h"

/* Validates a create request (invalid with a reason on any fault) and builds the new row. */
int zero_spec_validate(struct zero_agent *a, json_t *body, struct zero_instance_row *ret, struct zero_error *err);
