/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <jansson.h>

#include "agent/agent.h"

/* Validates a create request (invalid with a reason on any fault) and builds the new row. */
int zero_spec_validate(struct zero_agent *a, json_t *body, struct zero_instance_row *ret, struct zero_error *err);
/* "tpm": true in a row's spec, and the mode mode it runs in next: a runtime there (or one it can
 * switch to) gives a vTPM, and the mode is not one that hands the tenant the host (bms). */
int zero_spec_tpm_check(struct zero_agent *a, const struct zero_instance_row *row, const char *mode,
                        struct zero_error *err);
