/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * zerod's HTTP front: the server of common/http.h with zerod's listeners ([agent] listen, systemd
 * socket activation, TLS on TCP), its callers (peer credentials, bearer tokens, client
 * certificates: http_auth.c), its limits ([limits]) and its routes (api.c). The core's "operation
 * ended" wakes the requests parked on an operation, "event appended" the event streams.
 */
#include "common/http.h"

struct zero_agent;
struct zero_front;

int zero_front_new(struct zero_agent *a, const struct zero_route *routes, struct zero_front **ret);
struct zero_front *zero_front_free(struct zero_front *f);

struct zero_agent *zero_request_agent(struct zero_request *req);
