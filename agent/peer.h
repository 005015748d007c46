/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Requests to another node's zerod over its HTTP API: what a live migration's source agent asks
 * of the target agent (migrate_ops.c). libcurl's multi interface, driven by the agent's sd-event
 * loop (each socket curl wants watched is an io source, its timeout a timer): a request never
 * blocks the loop, and its answer comes through the callback from the loop, never from inside
 * zero_peer_call(). Connections are kept and reused (the multi handle's cache): a migration's
 * requests to its target after the first take one round trip, TLS included.
 *
 * A peer is reached like any API client reaches zerod (docs/security.md): an https:// URL whose
 * certificate is verified (the peer's self-signed one given as a CA file, or the system's CAs),
 * with a bearer token; http:// only to a peer started with --insecure-tcp (tests on loopback).
 * Name resolution: an address in the URL needs none; a name is resolved by libcurl's threaded
 * resolver, the one thread zerod's process then has (docs/architecture.md, "Live migration").
 */
#include <jansson.h>
#include <stdint.h>

#include "agent/agent.h"

/* Where a peer is and how to prove who we are to it. */
struct zero_peer_target {
        const char *url;     /* "https://HOST:PORT" (or http://), no path */
        const char *token;   /* bearer token, NULL for none */
        const char *ca_file; /* PEM file of the CA (or certificate) to verify it with; NULL: the system's */
};

/* The answer: r = 0 and the HTTP status (2xx) with the JSON body (borrowed; NULL when there was
 * none), or r < 0 with err: the peer's own error for another status (its code mapped back:
 * ZERO_E_CONFLICT for a 409, ...; r = -EIO, status set), ZERO_E_UNAVAILABLE when it cannot be
 * reached (-EHOSTUNREACH), ZERO_E_TIMEOUT after the request's timeout (-ETIMEDOUT), ZERO_E_FORBIDDEN
 * for a certificate that does not verify (-EPERM). */
typedef void (*zero_peer_fn)(void *userdata, int r, long status, json_t *body, const struct zero_error *err);

struct zero_peer_call;

/* Sends METHOD url+path with body (JSON, stolen; NULL for none), bounded by timeout_usec. Returns
 * 0 and *ret (the call, until its callback ran or zero_peer_call_free()), or -errno with err
 * when it cannot be sent at all (a bad URL, out of memory). */
int zero_peer_call(struct zero_agent *a, const struct zero_peer_target *t, const char *method, const char *path,
                   json_t *body, uint64_t timeout_usec, zero_peer_fn cb, void *userdata, struct zero_peer_call **ret,
                   struct zero_error *err);
/* Cancels a call under way (its callback is not called); accepts NULL, returns NULL. */
struct zero_peer_call *zero_peer_call_free(struct zero_peer_call *c);
/* Drops every call and connection (zerod's exit). */
void zero_peers_free(struct zero_agent *a);
/* Whether url is one the peer client takes: http:// or https://, a host, an optional port, no
 * path, query or user part. */
bool zero_peer_url_valid(const char *url);
