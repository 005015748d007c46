/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdbool.h>

#include "agent/token.h"
#include "zero/error.h"

/* zerod token ...: argv[0] is "token". Returns the exit status. */
int zero_token_cmd(int argc, char *argv[]);
/* What a token file holds: the secret, only its SHA-256, or either (told apart by their form). */
enum zero_token_form { ZERO_TOKEN_SECRET, ZERO_TOKEN_SHA256, ZERO_TOKEN_EITHER };
/* The token NAME from FILE (one line; zero_token_import or zero_token_import_hash): `zerod token
 * create NAME --secret-file|--sha256-file FILE [--replace]`, and zerod's --admin-token NAME=FILE
 * at its start (either form). *ret_hashed (may be NULL): it was the hash. */
int zero_token_import_file(struct zero_store *s, const char *name, enum zero_role role, const char *by,
                           const char *file, enum zero_token_form form, bool replace, bool *ret_hashed,
                           struct zero_error *err);
