/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* INI files (libinih) and the companions a program finds beside its own binary, for zerod's
 * configuration (agent/config.c) and the card daemon's (card/config.c). */
#include <stddef.h>
#include <stdio.h>

#include "zero/error.h"

/* Every value of a configuration by section and key, in the order set: the file's, then the
 * command line's (a later one wins). */
struct zero_ini_entry {
        char *section, *key, *value;
};
struct zero_ini {
        struct zero_ini_entry *entries;
        size_t n;
};
int zero_ini_set(struct zero_ini *ini, const char *section, const char *key, const char *value);
/* The last value set for section and key, NULL when none. */
const char *zero_ini_get(const struct zero_ini *ini, const char *section, const char *key);
void zero_ini_done(struct zero_ini *ini);

/* Called for each entry in file order; < 0 stops the parse with that error (err filled). */
typedef int (*zero_ini_entry_fn)(void *userdata, const char *section, const char *key, const char *value,
                                 struct zero_error *err);
/* name is what errors call the stream ("FILE:LINE: syntax error"). */
int zero_ini_parse_stream(FILE *f, const char *name, zero_ini_entry_fn fn, void *userdata, struct zero_error *err);
int zero_ini_parse_file(const char *path, zero_ini_entry_fn fn, void *userdata, struct zero_error *err);

/* The first of candidates (relative to the directory of /proc/self/exe) that exists, resolved;
 * NULL when none does. A build tree keeps companions at build/shim, build/plugins; an installed
 * tree at lib/zero/ and libexec/zero/. */
char *zero_path_beside_exe(const char *const candidates[]);
