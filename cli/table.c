/* SPDX-License-Identifier: Apache-2.0 */
/* zeroctl's aligned tables (declared in output.h): cells copied in, printed column-aligned. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cli/output.h"
#include "common/util.h"

struct zeroctl_table {
        size_t ncols;
        bool has_header;
        char **cells; /* row-major; row 0 is the header when there is one */
        size_t nrows;
        size_t cap_rows;
};

static int table_append(struct zeroctl_table *t, const char *const *cells) {
        if (t->nrows == t->cap_rows) {
                size_t cap = t->cap_rows ? t->cap_rows * 2 : 16;
                char **c = reallocarray(t->cells, cap * t->ncols, sizeof(char *));
                if (!c)
                        return -ENOMEM;
                t->cells = c;
                t->cap_rows = cap;
        }
        for (size_t i = 0; i < t->ncols; i++) {
                char *s = strdup(cells[i] ? cells[i] : "-");
                if (!s) {
                        for (size_t k = 0; k < i; k++)
                                free(t->cells[t->nrows * t->ncols + k]);
                        return -ENOMEM;
                }
                t->cells[t->nrows * t->ncols + i] = s;
        }
        t->nrows++;
        return 0;
}

struct zeroctl_table *zeroctl_table_new(size_t ncols, const char *const *headers) {
        struct zeroctl_table *t;

        if (ncols == 0)
                return NULL;
        t = calloc(1, sizeof(*t));
        if (!t)
                return NULL;
        t->ncols = ncols;
        if (headers) {
                t->has_header = true;
                if (table_append(t, headers) < 0)
                        return zeroctl_table_free(t);
        }
        return t;
}

struct zeroctl_table *zeroctl_table_free(struct zeroctl_table *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->nrows * t->ncols; i++)
                free(t->cells[i]);
        free(t->cells);
        free(t);
        return NULL;
}

int zeroctl_table_add(struct zeroctl_table *t, const char *const *cells) {
        return table_append(t, cells);
}

size_t zeroctl_table_rows(const struct zeroctl_table *t) {
        return t->nrows - (t->has_header ? 1 : 0);
}

size_t zeroctl_text_width(const char *s) {
        size_t n = 0;

        for (; *s; s++)
                if (((unsigned char) *s & 0xC0) != 0x80)
                        n++;
        return n;
}

int zeroctl_table_print(const struct zeroctl_table *t, FILE *f) {
        _cleanup_free_ size_t *width = calloc(t->ncols, sizeof(size_t));

        if (!width)
                return -ENOMEM;
        for (size_t r = 0; r < t->nrows; r++)
                for (size_t c = 0; c < t->ncols; c++) {
                        size_t w = zeroctl_text_width(t->cells[r * t->ncols + c]);
                        if (w > width[c])
                                width[c] = w;
                }
        for (size_t r = 0; r < t->nrows; r++) {
                char *const *row = t->cells + r * t->ncols;
                size_t last = t->ncols;

                /* Empty cells at the end of a row would only leave trailing blanks. */
                while (last > 1 && row[last - 1][0] == '\0')
                        last--;
                for (size_t c = 0; c < last; c++) {
                        fputs(row[c], f);
                        if (c + 1 < last)
                                fprintf(f, "%*s", (int) (width[c] - zeroctl_text_width(row[c]) + 2),
                                        "");
                }
                fputc('\n', f);
        }
        return ferror(f) ? -EIO : 0;
}
