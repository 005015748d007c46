/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * API tokens: what a TCP client shows as "Authorization: Bearer SECRET". A token has a name
 * and a role; the store keeps the SHA-256 of its secret, never the secret, which is shown once
 * when the token is made. Secrets are 256 random bits, so a plain hash suffices (no slow KDF:
 * there is no password to guess), and a lookup by hash needs no constant-time compare.
 */
#include <jansson.h>
#include <stdbool.h>

#include "store/store.h"
#include "zero/error.h"

enum zero_role {
        ZERO_ROLE_NONE = 0,
        ZERO_ROLE_READ,  /* GET and HEAD */
        ZERO_ROLE_ADMIN, /* everything */
};
const char *zero_role_to_string(enum zero_role r);
enum zero_role zero_role_from_string(const char *s); /* NONE if unknown */

/* "zero_" and 43 base64url characters, NUL included. */
#define ZERO_TOKEN_SECRET_SIZE 49

/* Makes the token name (a name like an instance's) with a fresh secret; -EEXIST for a taken
 * name. ret_secret is the only copy of the secret there will ever be. */
int zero_token_create(struct zero_store *s, const char *name, enum zero_role role, const char *created_by,
                      char ret_secret[static ZERO_TOKEN_SECRET_SIZE], struct zero_error *err);
/* The same with a secret made elsewhere (the lab's card hands the host the secret its
 * orchestrator holds: deploy/images/host-init): -EINVAL (ZERO_E_INVALID) unless it has the form
 * zero_token_create gives, "zero_" and 43 base64url characters, so that it is as hard to guess.
 * With replace, a token of that name is replaced in the same transaction (no -EEXIST). */
int zero_token_import(struct zero_store *s, const char *name, enum zero_role role, const char *created_by,
                      const char *secret, bool replace, struct zero_error *err);
/* The same with only the secret's SHA-256 (64 lowercase hex digits): the holder of the secret
 * (the lab's card, for its orchestrator) never hands the secret itself to the host, whose memory
 * and fw_cfg a bms tenant reads. */
int zero_token_import_hash(struct zero_store *s, const char *name, enum zero_role role, const char *created_by,
                           const char *hash, bool replace, struct zero_error *err);
int zero_token_revoke(struct zero_store *s, const char *name, struct zero_error *err);
/* The token whose secret this is: -EACCES when there is none (unknown, revoked or malformed). */
int zero_token_check(struct zero_store *s, const char *secret, struct zero_token_row *ret);
json_t *zero_token_to_json(const struct zero_token_row *r);
