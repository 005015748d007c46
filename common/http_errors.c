/* SPDX-License-Identifier: Apache-2.0 */
/* Domain error codes as the HTTP APIs answer them (http_errors.h). */
#include "common/http_errors.h"

#include "common/util.h"

/* The one place a domain error becomes an HTTP answer: its status, and the code as the APIs spell
 * it (docs/api/openapi.yaml, "Errors"; docs/api/card.yaml). */
static const struct {
        unsigned status;
        const char *code;
} http_errors[_ZERO_E_MAX] = {
        [ZERO_E_INTERNAL] = {500, "internal"},
        [ZERO_E_INVALID] = {422, "invalid"},
        [ZERO_E_MALFORMED] = {400, "malformed"},
        [ZERO_E_FORBIDDEN] = {403, "forbidden"},
        [ZERO_E_NOT_FOUND] = {404, "not_found"},
        [ZERO_E_CONFLICT] = {409, "conflict"},
        [ZERO_E_IN_USE] = {409, "in_use"},
        [ZERO_E_WRONG_STATE] = {409, "wrong_state"},
        [ZERO_E_BUSY] = {409, "busy"},
        [ZERO_E_UNAVAILABLE] = {503, "busy"},
        [ZERO_E_TIMEOUT] = {504, "timeout"},
        [ZERO_E_RUNTIME] = {500, "runtime_error"},
        [ZERO_E_TOO_LARGE] = {413, "too_large"},
        [ZERO_E_OVER_CAPACITY] = {422, "over_capacity"},
        [ZERO_E_NO_SPACE] = {507, "insufficient_storage"},
        [ZERO_E_CANCELED] = {500, "canceled"},
        [ZERO_E_USAGE] = {400, "malformed"},
};

unsigned zero_http_status(enum zero_errc code) {
        return (unsigned) code < _ZERO_E_MAX && http_errors[code].status ? http_errors[code].status : 500;
}

const char *zero_http_code(enum zero_errc code) {
        return (unsigned) code < _ZERO_E_MAX ? http_errors[code].code : NULL;
}

enum zero_errc zero_http_errc_from_code(const char *code, unsigned status) {
        /* "busy" is two domain codes (a conflict and an unavailable service): the status tells. */
        if (code && streq(code, "busy"))
                return status == 503 ? ZERO_E_UNAVAILABLE : ZERO_E_BUSY;
        for (int c = 0; code && c < _ZERO_E_MAX; c++)
                if (http_errors[c].code && streq(http_errors[c].code, code))
                        return (enum zero_errc) c;
        return ZERO_E_INTERNAL;
}
