/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Bearer-token secrets and self-signed TLS certificates, as zerod (agent/token.c, agent/tls.c) and
 * the card daemon (card/) make them.
 */
#include <stdbool.h>

#include "zero/error.h"

/* "zero_" and 43 base64url characters (32 random bytes), NUL included. */
#define ZERO_SECRET_SIZE 49
#define ZERO_SECRET_PREFIX "zero_"

/* A fresh secret from getrandom(2). */
int zero_secret_new(char ret[static ZERO_SECRET_SIZE]);
/* Whether s has the form zero_secret_new() gives (so that it is as hard to guess). */
bool zero_secret_is_valid(const char *s);
/* Whether a and b are the same secret, in a time that does not tell how much of them matched. */
bool zero_secret_equal(const char *a, const char *b);

/* A self-signed certificate (its own trust anchor, for clients to pin: curl --cacert) and its
 * key, PEM, caller frees: ECDSA P-256, ten years, common_name, and each of names (NULL-ended) as a
 * subject name: an IPv4 or IPv6 literal as an address, anything else as a DNS name. */
int zero_tls_self_signed(const char *common_name, const char *const *names, char **ret_cert, char **ret_key,
                         struct zero_error *err);
