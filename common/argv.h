/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* A NULL-terminated argv built an argument at a time (the vm plugin's QEMU command line, the card's
 * host's): a failure (out of memory) is remembered and every later add is a no-op, so a builder
 * checks once, at the end. */
#include <stddef.h>

struct zero_argv {
        char **v; /* NULL-terminated once anything was added */
        size_t n, size;
        int r; /* < 0 once an add failed */
};

/* Appends s (taken; NULL: out of memory). */
void zero_argv_add(struct zero_argv *b, char *s);
#define ZERO_ARGV_ADD(b, ...) zero_argv_add((b), zero_strdup_printf(__VA_ARGS__))
/* Frees what was added (a _cleanup_ for a builder on the stack). */
void zero_argv_done(struct zero_argv *b);
