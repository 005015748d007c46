/* SPDX-License-Identifier: Apache-2.0 */
/* The Prometheus text format 0.0.4 (prom.h). */
#include "common/prom.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

void zero_prom_observe(struct zero_prom_histogram *h, const struct zero_prom_buckets *b, double v) {
        size_t i = 0;

        while (i < b->n && v > b->le[i])
                i++;
        if (i < b->n)
                h->counts[i]++;
        h->count++;
        h->sum += v;
}

/* HELP text escapes backslash and newline; label values those and the double quote. */
static void put_escaped(FILE *f, const char *s, bool quote) {
        for (; *s; s++) {
                if (*s == '\\')
                        fputs("\\\\", f);
                else if (*s == '\n')
                        fputs("\\n", f);
                else if (quote && *s == '"')
                        fputs("\\\"", f);
                else
                        fputc(*s, f);
        }
}

void zero_prom_family(FILE *f, const char *name, const char *type, const char *help) {
        fprintf(f, "# HELP %s ", name);
        put_escaped(f, help, false);
        fprintf(f, "\n# TYPE %s %s\n", name, type);
}

int zero_prom_label(char *buf, size_t size, const char *key, const char *value) {
        size_t len = strlen(buf), at = len;

        if (len > 0 && at < size)
                buf[at++] = ',';
        for (const char *k = key; *k && at < size; k++)
                buf[at++] = *k;
        for (const char *k = "=\""; *k && at < size; k++)
                buf[at++] = *k;
        for (const char *v = value ? value : ""; *v && at < size; v++) {
                const char *esc = *v == '\\' ? "\\\\" : *v == '"' ? "\\\"" : *v == '\n' ? "\\n" : NULL;
                if (!esc) {
                        buf[at++] = *v;
                        continue;
                }
                for (; *esc && at < size; esc++)
                        buf[at++] = *esc;
        }
        if (at + 1 >= size) { /* the closing quote and the NUL */
                buf[len] = '\0';
                return -ENOBUFS;
        }
        buf[at++] = '"';
        buf[at] = '\0';
        return 0;
}

static void put_name(FILE *f, const char *name, const char *labels) {
        if (labels && labels[0])
                fprintf(f, "%s{%s}", name, labels);
        else
                fputs(name, f);
}

/* Go's ParseFloat reads these (Prometheus' parser): Inf and NaN as the format spells them. */
static void put_value(FILE *f, double v) {
        if (isnan(v))
                fputs(" NaN\n", f);
        else if (isinf(v))
                fputs(v > 0 ? " +Inf\n" : " -Inf\n", f);
        else
                fprintf(f, " %.15g\n", v);
}

void zero_prom_sample(FILE *f, const char *name, const char *labels, double value) {
        put_name(f, name, labels);
        put_value(f, value);
}

void zero_prom_sample_u64(FILE *f, const char *name, const char *labels, uint64_t value) {
        put_name(f, name, labels);
        fprintf(f, " %" PRIu64 "\n", value);
}

void zero_prom_histogram_write(FILE *f, const char *name, const char *labels, const struct zero_prom_histogram *h,
                               const struct zero_prom_buckets *b) {
        const char *sep = labels && labels[0] ? "," : "";
        uint64_t cumulative = 0;

        for (size_t i = 0; i < b->n && i < ZERO_PROM_BUCKETS_MAX; i++) {
                cumulative += h->counts[i];
                fprintf(f, "%s_bucket{%s%sle=\"%g\"} %" PRIu64 "\n", name, labels ? labels : "", sep, b->le[i],
                        cumulative);
        }
        fprintf(f, "%s_bucket{%s%sle=\"+Inf\"} %" PRIu64 "\n", name, labels ? labels : "", sep, h->count);
        fprintf(f, "%s_sum", name);
        if (labels && labels[0])
                fprintf(f, "{%s}", labels);
        put_value(f, h->sum);
        fprintf(f, "%s_count", name);
        if (labels && labels[0])
                fprintf(f, "{%s}", labels);
        fprintf(f, " %" PRIu64 "\n", h->count);
}
