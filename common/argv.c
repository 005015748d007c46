/* SPDX-License-Identifier: Apache-2.0 */
#include "common/argv.h"

#include <errno.h>
#include <stdlib.h>

void zero_argv_add(struct zero_argv *b, char *s) {
        if (b->r < 0 || !s) {
                b->r = b->r < 0 ? b->r : -ENOMEM;
                free(s);
                return;
        }
        if (b->n + 2 > b->size) {
                size_t size = b->size ? b->size * 2 : 32;
                char **v = realloc(b->v, size * sizeof(char *));
                if (!v) {
                        free(s);
                        b->r = -ENOMEM;
                        return;
                }
                b->v = v;
                b->size = size;
        }
        b->v[b->n++] = s;
        b->v[b->n] = NULL;
}

void zero_argv_done(struct zero_argv *b) {
        for (size_t i = 0; i < b->n; i++)
                free(b->v[i]);
        free(b->v);
        *b = (struct zero_argv){};
}
