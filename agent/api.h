/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include "agent/http.h"

extern const struct zero_route zero_api_routes[];
