/* SPDX-License-Identifier: Apache-2.0 */
#include "common/hashmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MIN_CAP 16

uint64_t zero_hash_string(const char *s) {
        uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a, 64 bits */

        for (; *s; s++) {
                h ^= (unsigned char) *s;
                h *= 0x100000001b3ULL;
        }
        return h;
}

static size_t slot_of(const struct zero_hashmap *m, const char *key, uint64_t hash) {
        size_t mask = m->cap - 1, i = (size_t) hash & mask;

        while (m->slots[i].key && (m->slots[i].hash != hash || strcmp(m->slots[i].key, key) != 0))
                i = (i + 1) & mask;
        return i;
}

void *zero_hashmap_get(const struct zero_hashmap *m, const char *key) {
        if (!m->cap || !key)
                return NULL;
        return m->slots[slot_of(m, key, zero_hash_string(key))].value;
}

static int grow(struct zero_hashmap *m) {
        struct zero_hashmap bigger = {.cap = m->cap ? m->cap * 2 : MIN_CAP};

        bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots));
        if (!bigger.slots)
                return -ENOMEM;
        for (size_t i = 0; i < m->cap; i++)
                if (m->slots[i].key)
                        bigger.slots[slot_of(&bigger, m->slots[i].key, m->slots[i].hash)] = m->slots[i];
        bigger.n = m->n;
        free(m->slots);
        *m = bigger;
        return 0;
}

int zero_hashmap_put(struct zero_hashmap *m, const char *key, void *value) {
        uint64_t hash;
        size_t i;
        int r;

        if (!key || !value)
                return -EINVAL;
        if ((m->n + 1) * 2 > m->cap && (r = grow(m)) < 0)
                return r;
        hash = zero_hash_string(key);
        i = slot_of(m, key, hash);
        if (m->slots[i].key)
                return -EEXIST;
        m->slots[i] = (struct zero_hashmap_slot){key, value, hash};
        m->n++;
        return 0;
}

void *zero_hashmap_remove(struct zero_hashmap *m, const char *key) {
        size_t mask, i, j;
        void *value;

        if (!m->cap || !key)
                return NULL;
        mask = m->cap - 1;
        i = slot_of(m, key, zero_hash_string(key));
        if (!m->slots[i].key)
                return NULL;
        value = m->slots[i].value;
        /* Backward shift: each later entry of the run that could sit in the hole moves into it. */
        for (j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
                size_t home = (size_t) m->slots[j].hash & mask;
                /* j's home is cyclically outside (i, j]: the hole at i is on its probe path. */
                if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
                        m->slots[i] = m->slots[j];
                        i = j;
                }
        }
        m->slots[i] = (struct zero_hashmap_slot){};
        m->n--;
        return value;
}

void zero_hashmap_done(struct zero_hashmap *m) {
        free(m->slots);
        *m = (struct zero_hashmap){};
}

bool zero_hashmap_next(const struct zero_hashmap *m, size_t *i, const char **ret_key, void **ret_value) {
        for (; *i < m->cap; (*i)++)
                if (m->slots[*i].key) {
                        if (ret_key)
                                *ret_key = m->slots[*i].key;
                        if (ret_value)
                                *ret_value = m->slots[*i].value;
                        (*i)++;
                        return true;
                }
        return false;
}
