/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The card's loop devices by volume (storage.h): read from sysfs once (softcard_loops_list(),
 * one pass over /sys/block), then kept up to date by the card's own attaches and detaches, so
 * that an export, an unexport or a volume's stats cost one lookup and a check of the one device
 * the index names, not a walk of every loop device on the host (1,000 exported volumes made
 * zerod's start O(volumes²): 13.6 s, docs/benchmarks.md).
 *
 * An entry is a hint, checked before it is believed (the device still bound, named for this
 * exports directory and volume, over the volume's file): one that fails the check is dropped and
 * the slow path asked. An absent entry is believed: only this card makes devices with its name,
 * and it puts each one here when the work that attached it answers. Work that fails or times out
 * may have attached a device nobody heard of, so it makes the index forget everything (the next
 * lookup reads sysfs again); so do the daemon's restart (its FUSE loops cleared) and sync().
 */
#include <stdio.h>
#include <strings.h>

#include "common/hashmap.h"
#include "common/util.h"
#include "io/softcard/storage.h"

struct entry {
        struct softcard_loop l; /* l.id lower case: the key */
};

static void lower_id(const char *id, char ret[static 33]) {
        size_t i = 0;

        for (; id[i] && i < 32; i++)
                ret[i] = (char) (id[i] >= 'A' && id[i] <= 'Z' ? id[i] | 0x20 : id[i]);
        ret[i] = '\0';
}

void softcard_loop_index_forget(struct softcard_loop_index *x) {
        size_t i = 0;
        void *v;

        while (zero_hashmap_next(&x->map, &i, NULL, &v))
                free(v);
        zero_hashmap_done(&x->map);
        x->loaded = false;
}

int softcard_loop_index_put(struct softcard_loop_index *x, const char *id, const char *dev, bool direct) {
        struct entry *e;
        char key[33];
        int r;

        if (!x->loaded)
                return 0; /* read whole at the next lookup */
        lower_id(id, key);
        e = zero_hashmap_get(&x->map, key);
        if (!e) {
                e = calloc(1, sizeof(*e));
                if (!e) {
                        softcard_loop_index_forget(x);
                        return -ENOMEM;
                }
                memcpy(e->l.id, key, sizeof(key));
                r = zero_hashmap_put(&x->map, e->l.id, e);
                if (r < 0) {
                        free(e);
                        softcard_loop_index_forget(x);
                        return r;
                }
        }
        snprintf(e->l.dev, sizeof(e->l.dev), "%s", dev);
        e->l.direct = direct;
        return 0;
}

void softcard_loop_index_drop(struct softcard_loop_index *x, const char *id) {
        char key[33];

        lower_id(id, key);
        free(zero_hashmap_remove(&x->map, key));
}

static int index_load(struct softcard_loop_index *x, const char *exports_dir) {
        _cleanup_free_ struct softcard_loop *loops = NULL;
        size_t n = 0;
        int r;

        if (x->loaded)
                return 0;
        r = softcard_loops_list(exports_dir, &loops, &n);
        if (r < 0)
                return r;
        x->loaded = true;
        /* Two devices of one volume (a dead daemon's FUSE loop beside the new one): the live one
         * is told by the slow path, which the check of the one kept here falls back to. */
        for (size_t i = 0; i < n; i++)
                if ((r = softcard_loop_index_put(x, loops[i].id, loops[i].dev, loops[i].direct)) < 0)
                        return r;
        return 0;
}

const struct softcard_loop *softcard_loop_index_get(struct softcard_loop_index *x, const char *exports_dir,
                                                    const char *id) {
        struct entry *e;
        char key[33];

        if (index_load(x, exports_dir) < 0)
                return NULL;
        lower_id(id, key);
        e = zero_hashmap_get(&x->map, key);
        return e ? &e->l : NULL;
}

int softcard_loop_index_find_direct(struct softcard_loop_index *x, const char *exports_dir, const char *path,
                                    const char *id, char dev[static 32]) {
        const struct softcard_loop *l;
        int r;

        if (index_load(x, exports_dir) < 0)
                return softcard_loop_find_direct(exports_dir, path, id, dev);
        l = softcard_loop_index_get(x, exports_dir, id);
        if (!l || !l->direct)
                return -ENOENT;
        if (softcard_loop_direct_of(exports_dir, l->dev, id, path)) {
                snprintf(dev, 32, "%s", l->dev);
                return 0;
        }
        /* Detached, or taken over, behind the card's back: the slow path, then what it found. */
        softcard_loop_index_drop(x, id);
        r = softcard_loop_find_direct(exports_dir, path, id, dev);
        if (r >= 0)
                (void) softcard_loop_index_put(x, id, dev, true);
        return r;
}

void softcard_loop_index_hint(struct softcard_loop_index *x, const char *exports_dir, struct softcard_loop_job *j) {
        const struct softcard_loop *l = softcard_loop_index_get(x, exports_dir, j->id);

        j->indexed = x->loaded;
        snprintf(j->dev, sizeof(j->dev), "%s", l ? l->dev : "");
}
