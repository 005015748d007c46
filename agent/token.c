/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/token.h"

#include <gnutls/crypto.h>
#include <string.h>

#include "common/secret.h"
#include "common/text.h"
#include "common/util.h"

_Static_assert(ZERO_TOKEN_SECRET_SIZE == ZERO_SECRET_SIZE, "a token's secret is common/secret.h's");

const char *zero_role_to_string(enum zero_role r) {
        return r == ZERO_ROLE_ADMIN ? "admin" : r == ZERO_ROLE_READ ? "read" : "none";
}

enum zero_role zero_role_from_string(const char *s) {
        if (s && streq(s, "admin"))
                return ZERO_ROLE_ADMIN;
        if (s && streq(s, "read"))
                return ZERO_ROLE_READ;
        return ZERO_ROLE_NONE;
}

static int hash_secret(const char *secret, char ret_hex[static 65]) {
        uint8_t d[32];

        if (gnutls_hash_fast(GNUTLS_DIG_SHA256, secret, strlen(secret), d) < 0)
                return -EIO;
        /* By hand, not snprintf("%02x") 32 times: this runs for every request on TCP. */
        for (size_t i = 0; i < sizeof(d); i++) {
                ret_hex[2 * i] = "0123456789abcdef"[d[i] >> 4];
                ret_hex[2 * i + 1] = "0123456789abcdef"[d[i] & 15];
        }
        ret_hex[64] = '\0';
        return 0;
}


/* The row for secret; with replace, a token of that name goes in the same transaction. */
static int token_insert_hash(struct zero_store *s, const char *name, enum zero_role role, const char *created_by,
                             const char *hash, bool replace, struct zero_error *err) {
        struct zero_token_row row;
        int r;

        if (!name || !zero_name_is_valid(name))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID,
                                      "token name '%s' is not valid: use 1-63 of [a-z0-9-], starting with a letter "
                                      "or digit", ZERO_QUOTE(name));
        if (role == ZERO_ROLE_NONE)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "role: admin or read");
        row = (struct zero_token_row){.name = (char *) name, .role = (char *) zero_role_to_string(role), .hash = (char *) hash,
                                      .created_by = (char *) created_by, .created_at = (int64_t) zero_now_usec()};
        if (replace && (r = zero_store_begin(s)) >= 0) {
                r = zero_store_token_delete(s, name);
                if (r >= 0 || r == -ENOENT)
                        r = zero_store_token_insert(s, &row);
                if (r >= 0)
                        r = zero_store_commit(s);
                if (r < 0)
                        (void) zero_store_rollback(s);
        } else if (!replace)
                r = zero_store_token_insert(s, &row);
        if (r == -EEXIST)
                return zero_error_set(err, r, ZERO_E_CONFLICT, "a token named '%s' exists already", name);
        if (r < 0)
                return zero_error_set(err, r, r == -EBUSY ? ZERO_E_UNAVAILABLE : ZERO_E_INTERNAL,
                                      "cannot record the token: %s", strerror(-r));
        return 0;
}

static int token_insert(struct zero_store *s, const char *name, enum zero_role role, const char *created_by,
                        const char *secret, bool replace, struct zero_error *err) {
        char hash[65];
        int r = hash_secret(secret, hash);

        if (r < 0)
                return zero_error_set(err, r, ZERO_E_INTERNAL, "cannot hash the secret");
        return token_insert_hash(s, name, role, created_by, hash, replace, err);
}

int zero_token_create(struct zero_store *s, const char *name, enum zero_role role, const char *created_by,
                      char ret_secret[static ZERO_TOKEN_SECRET_SIZE], struct zero_error *err) {
        char secret[ZERO_TOKEN_SECRET_SIZE];
        int r;

        if (zero_secret_new(secret) < 0)
                return zero_error_set(err, -EIO, ZERO_E_INTERNAL, "no random bytes for the secret");
        r = token_insert(s, name, role, created_by, secret, false, err);
        if (r >= 0)
                memcpy(ret_secret, secret, sizeof(secret));
        explicit_bzero(secret, sizeof(secret));
        return r;
}

int zero_token_import(struct zero_store *s, const char *name, enum zero_role role, const char *created_by,
                      const char *secret, bool replace, struct zero_error *err) {
        if (!zero_secret_is_valid(secret))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID,
                                      "the secret is not a token secret: 'zero_' and 43 of [A-Za-z0-9_-] "
                                      "(32 random bytes, base64url), as zerod token create makes them");
        return token_insert(s, name, role, created_by, secret, replace, err);
}

int zero_token_import_hash(struct zero_store *s, const char *name, enum zero_role role, const char *created_by,
                           const char *hash, bool replace, struct zero_error *err) {
        if (!hash || strlen(hash) != 64 || strspn(hash, "0123456789abcdef") != 64)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID,
                                      "not a token's SHA-256: 64 lowercase hexadecimal digits (sha256sum's)");
        return token_insert_hash(s, name, role, created_by, hash, replace, err);
}

int zero_token_revoke(struct zero_store *s, const char *name, struct zero_error *err) {
        int r = zero_store_token_delete(s, name);

        if (r == -ENOENT)
                return zero_error_set(err, r, ZERO_E_NOT_FOUND, "no token named '%s'", ZERO_QUOTE(name));
        if (r < 0)
                return zero_error_set(err, r, r == -EBUSY ? ZERO_E_UNAVAILABLE : ZERO_E_INTERNAL,
                                      "cannot revoke the token: %s", strerror(-r));
        return 0;
}

int zero_token_check(struct zero_store *s, const char *secret, struct zero_token_row *ret) {
        char hash[65];
        int r;

        if (!zero_secret_is_valid(secret))
                return -EACCES;
        r = hash_secret(secret, hash);
        if (r < 0)
                return r;
        r = zero_store_token_get_by_hash(s, hash, ret);
        return r == -ENOENT ? -EACCES : r;
}

json_t *zero_token_to_json(const struct zero_token_row *r) {
        char created[32];

        return json_pack("{s:s,s:s,s:s?,s:s}", "name", r->name, "role", r->role, "created_by", r->created_by,
                         "created_at", zero_format_time((uint64_t) r->created_at, created));
}
