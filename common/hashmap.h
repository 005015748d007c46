/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * A map from strings to pointers: open addressing with linear probing, FNV-1a hashes, deletion by
 * backward shift (no tombstones, so lookups stay short however many removals came before). It
 * does not copy keys: a key must stay valid and unchanged for as long as its entry is in the map,
 * which is natural when the key lives in the value (an instance's id in its struct, the SQL text a
 * prepared statement keeps). Lookups cost one hash and, at the load factor kept here (at most
 * 1/2), about one comparison, whatever the number of entries.
 *
 * A zeroed struct is an empty map. Not for concurrent use (zerod has one thread).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct zero_hashmap_slot {
        const char *key; /* NULL: free */
        void *value;
        uint64_t hash;
};

struct zero_hashmap {
        struct zero_hashmap_slot *slots;
        size_t cap; /* 0 or a power of two */
        size_t n;
};

uint64_t zero_hash_string(const char *s);

/* The value under key, NULL when there is none. */
void *zero_hashmap_get(const struct zero_hashmap *m, const char *key);
/* Adds key -> value (value not NULL); -EEXIST when key is there already (nothing changed),
 * -ENOMEM. */
int zero_hashmap_put(struct zero_hashmap *m, const char *key, void *value);
/* Removes key; returns its value, NULL when it was not there. */
void *zero_hashmap_remove(struct zero_hashmap *m, const char *key);
/* Frees the map's own memory (not the keys or values) and empties it. */
void zero_hashmap_done(struct zero_hashmap *m);
static inline size_t zero_hashmap_size(const struct zero_hashmap *m) {
        return m->n;
}
/* Iteration in no particular order: *i starts at 0; false at the end. The map must not change
 * during the iteration, except by removing the entry just returned (which may make the iteration
 * miss or repeat another entry: collect first when that matters). */
bool zero_hashmap_next(const struct zero_hashmap *m, size_t *i, const char **ret_key, void **ret_value);
