/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The one table of domain error codes (include/zero/error.h) to HTTP statuses and the APIs'
 * error codes ("not_found", ...): zerod's API and the card's answer alike (common/http.c), and a
 * client of either (the lab's card driver) turns an answer back into its domain code. No HTTP
 * library here: a client links it alone.
 */
#include "zero/error.h"

unsigned zero_http_status(enum zero_errc code);
/* The API's code of a domain code ("invalid"), NULL for none. */
const char *zero_http_code(enum zero_errc code);
/* The domain code of an API error code and its status, ZERO_E_INTERNAL if unknown. */
enum zero_errc zero_http_errc_from_code(const char *code, unsigned status);
