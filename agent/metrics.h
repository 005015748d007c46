/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * What the core tells GET /metrics (the HTTP front's api_metrics.c adds its own requests): the
 * instances by mode and state (one GROUP BY, as the node's figures), the operations by kind and
 * result with their durations, the operations in flight, the shims zerod is connected to and
 * those lost, the plugins and whether they can run instances, the card's volumes' I/O counters
 * and QoS limits (metrics_card.c), and zerod's own process figures named as the Prometheus
 * client libraries name them.
 *
 * Cost. A scrape every second with 1,000 instances must not show: nothing here walks the
 * instances' rows; what the store cannot count by a GROUP BY is counted as it happens (kept
 * counters, below). The card's per-volume counters are the one exception, as they live in the
 * driver: read within a time budget per scrape (metrics_card.c) and kept between scrapes.
 *
 * Counters start at zero when zerod starts (process_start_time_seconds says when): Prometheus'
 * rate() and increase() take such resets in their stride.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/hashmap.h"
#include "common/prom.h"

struct zero_agent;

/* Operation kinds counted apart; a kind beyond these (there are fewer) counts as "other". */
#define ZERO_METRICS_KINDS_MAX 24
#define ZERO_METRICS_KIND_MAX 32

struct zero_metrics_kind {
        char name[ZERO_METRICS_KIND_MAX];
        struct zero_prom_histogram result[2]; /* [0] failed, [1] succeeded: seconds created -> finished */
};

/* The card's volumes' counters as the driver last gave them (metrics_card.c). */
struct zero_metrics_card {
        struct zero_hashmap volumes; /* volume id -> struct metrics_volume */
        size_t cursor;               /* where the next scrape's refresh begins, in name order */
        uint64_t errors;             /* volume_stats that failed */
};

struct zero_metrics {
        struct zero_metrics_kind kinds[ZERO_METRICS_KINDS_MAX];
        size_t n_kinds;
        uint64_t shims_lost; /* shims that died without an exit record */
        struct zero_metrics_card card;
};

/* The buckets of the operations' durations (seconds): a container's start is 10-100 ms, a
 * VM's boot seconds, an image import or a migration up to minutes. */
extern const struct zero_prom_buckets zero_metrics_op_buckets;

/* Kept counters, from where it happens. */
void zero_metrics_operation_ended(struct zero_agent *a, const char *kind, bool succeeded, int64_t usec);
void zero_metrics_shim_lost(struct zero_agent *a);

/* The core's families in the text format. -errno when the store cannot be read (nothing
 * sensible to show: the scrape fails, and Prometheus' "up" says so). */
int zero_metrics_write(struct zero_agent *a, FILE *f);
void zero_metrics_done(struct zero_metrics *m);

/* metrics_card.c: the card's families (best effort: a driver that does not answer leaves what it
 * gave last; zero_card_volume_stats_oldest_seconds says how old). */
void zero_metrics_card_write(struct zero_agent *a, FILE *f);
void zero_metrics_card_done(struct zero_metrics_card *c);

/* zerod's own process (process_*), from /proc/self and getrusage. */
void zero_metrics_process_write(FILE *f);
