/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The Prometheus text exposition format, version 0.0.4 (what `promtool check metrics` reads and
 * what every Prometheus scrapes): "# HELP" and "# TYPE" once per family, before its samples;
 * samples as NAME{LABEL="VALUE",...} NUMBER; a histogram as cumulative NAME_bucket{le="..."}
 * lines ending with le="+Inf", then NAME_sum and NAME_count. Label values are escaped here
 * (backslash, double quote and newline are the three the format escapes); names are the
 * caller's constants and must match [a-zA-Z_:][a-zA-Z0-9_:]*.
 *
 * No allocation but the FILE's own (an open_memstream), no state: what to count is the caller's.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define ZERO_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Upper bounds a histogram may have (le), besides +Inf. */
#define ZERO_PROM_BUCKETS_MAX 16

/* A histogram's bounds: ascending, at most ZERO_PROM_BUCKETS_MAX. */
struct zero_prom_buckets {
        const double *le;
        size_t n;
};

struct zero_prom_histogram {
        uint64_t counts[ZERO_PROM_BUCKETS_MAX]; /* per bucket, not cumulative (the writer sums) */
        uint64_t count;                         /* every observation, also those above the last bound */
        double sum;
};

void zero_prom_observe(struct zero_prom_histogram *h, const struct zero_prom_buckets *b, double v);

/* "# HELP name help" and "# TYPE name type" (type: counter, gauge, histogram, untyped). help is
 * escaped as the format says (backslash and newline). */
void zero_prom_family(FILE *f, const char *name, const char *type, const char *help);

/* Label pairs for the samples below: appends `key="value"` (value escaped) to buf, with a comma
 * when buf holds some already. buf must start as "" (size > 0). -ENOBUFS when it does not fit
 * (buf is left as it was). */
int zero_prom_label(char *buf, size_t size, const char *key, const char *value);

/* NAME{labels} VALUE (no braces when labels is NULL or ""). */
void zero_prom_sample(FILE *f, const char *name, const char *labels, double value);
void zero_prom_sample_u64(FILE *f, const char *name, const char *labels, uint64_t value);

/* NAME_bucket{labels,le="..."} for each bound and +Inf, NAME_sum, NAME_count. */
void zero_prom_histogram_write(FILE *f, const char *name, const char *labels, const struct zero_prom_histogram *h,
                               const struct zero_prom_buckets *b);
