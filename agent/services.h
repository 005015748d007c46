/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include "agent/agent.h"

void zero_services_init(struct zero_agent *a);
