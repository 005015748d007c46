/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdbool.h>

#include "agent/token.h"
#include "zero/error.h"

/* zerod token ...: argv[0] is "token". Returns the exit status. */
int zero_token_cmd(int argc, char *argv[]);
/* The token NAME with the secret of FILE (one line; zero_token_import): `zerod token create NAME
 * --secret-file FILE [--replace]`, and zerod's --admin-token NAME=FILE at its start. */
int zero_token_import_file(struct zero_store *s, const char *name, enum zero_role role, const char *by,
                           const char *file, bool replace, struct zero_error *err);
