/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The lab driver's client of the card's API (docs/api/card.yaml): HTTP/JSON with the host's
 * bearer token, over libcurl's multi interface driven from zerod's sd-event loop (each socket
 * curl wants watched an io source, its timeout a timer): a request never blocks the loop, and
 * its answer comes from the loop, never from inside lab_client_request().
 *
 * An answer: r >= 0 with the HTTP status (2xx) and its JSON body (NULL for none), or r < 0 with
 * err: the card's own error ({"error": {"code", "message"}}) as its domain code (common/
 * http_errors.h), ZERO_E_UNAVAILABLE when the card does not answer (no connection), ZERO_E_TIMEOUT
 * past the request's timeout.
 *
 * lab_client_call() is the synchronous form, for sync() at zerod's start only (card.h: nothing
 * is served yet), bounded by its timeout like the others.
 */
#include <jansson.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "zero/error.h"

struct lab_client;
struct lab_request;

/* status: the HTTP status (0 without an answer); body: borrowed, NULL for none. */
typedef void (*lab_client_done_fn)(void *userdata, int r, long status, json_t *body, const struct zero_error *err);

/* unix_socket: where the card's API listens when it is a unix socket of this machine (tests of the
 * driver outside the host), NULL for base_url's own address. */
int lab_client_new(sd_event *e, const char *base_url, const char *unix_socket, const char *token,
                   struct lab_client **ret);
/* Requests under way are dropped, their done not called. */
struct lab_client *lab_client_free(struct lab_client *c);

/* method "GET", "PUT", ...; body (stolen, NULL for none) as application/json, or upload_path: a
 * file sent as the body (application/octet-stream); timeout_usec 0: the default (120 s). */
int lab_client_request(struct lab_client *c, const char *method, const char *path, json_t *body,
                       const char *upload_path, uint64_t timeout_usec, lab_client_done_fn done, void *userdata,
                       struct lab_request **ret);
/* Drops a request under way: its done is not called. NULL-safe. */
struct lab_request *lab_request_cancel(struct lab_request *q);

/* Waited for, bounded by timeout_usec: *ret_body (caller's, NULL for none) and *ret_status. */
int lab_client_call(struct lab_client *c, const char *method, const char *path, json_t *body, uint64_t timeout_usec,
                    long *ret_status, json_t **ret_body, struct zero_error *err);
