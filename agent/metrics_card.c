/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The card's volumes in GET /metrics (metrics.h): the I/O counters of every attached volume, as
 * the driver's volume_stats gives them, and its QoS limits, as the store keeps them.
 *
 * volume_stats is synchronous (card.h: best effort, a short bound of the driver's; the softcard's
 * is a round trip to its daemon per volume, bounded by 25 ms, and a look for the volume's loop
 * device). A scrape every second with 1,000 attached volumes cannot ask for all of them without
 * holding the loop (100 took 20 ms and more on a loaded machine): each scrape refreshes as many
 * as fit in CARD_BUDGET_USEC, going on next time where it stopped (round robin, in name order),
 * and shows every volume with what the driver gave last, so a series never vanishes between
 * scrapes (Prometheus would read it as gone); counters read less than CARD_FRESH_USEC ago are
 * not read again. zero_card_volume_stats_oldest_seconds says how old the oldest counters shown
 * are. One call may take longer than the whole budget: the softcard finds a volume's loop device
 * by a walk of /sys/block, 20 ms with the 1,004 loop devices of this shared test machine (perf:
 * kernfs lookups); the budget cannot cut a call short, only stop before the next. The first
 * failure ends the refresh for this scrape (a daemon that does not answer would take its bound
 * once per volume), and the next one goes on after the volume that failed.
 */
#include <string.h>

#include "agent/agent.h"
#include "agent/card.h"
#include "agent/metrics.h"
#include "common/util.h"

/* At most this much of the loop per scrape for the driver's stats: a request that comes in
 * meanwhile waits that long. */
#define CARD_BUDGET_USEC (5 * USEC_PER_MSEC)
/* A volume's counters are read again once they are this old, not at every scrape: Prometheus
 * scrapes every 15 s by default, and a scrape a second would otherwise read every volume every
 * second. */
#define CARD_FRESH_USEC (10 * USEC_PER_SEC)

struct metrics_volume {
        char id[33];
        struct zero_card_volume_stats st;
        bool have;          /* the driver answered once at least */
        uint64_t refreshed; /* CLOCK_MONOTONIC µs of its last answer */
        bool seen; /* listed in this scrape (the others are gone: removed) */
};

static struct metrics_volume *volume_entry(struct zero_metrics_card *c, const char *id) {
        struct metrics_volume *v = zero_hashmap_get(&c->volumes, id);

        if (v)
                return v;
        v = calloc(1, sizeof(*v));
        if (!v)
                return NULL;
        snprintf(v->id, sizeof(v->id), "%s", id);
        if (zero_hashmap_put(&c->volumes, v->id, v) < 0) {
                free(v);
                return NULL;
        }
        return v;
}

/* Refreshes what fits in the budget. */
static void refresh(struct zero_agent *a, const struct zero_volume_full *vols, struct metrics_volume **entries,
                    size_t n) {
        struct zero_metrics_card *c = &a->metrics.card;
        uint64_t until = zero_monotonic_usec() + CARD_BUDGET_USEC;
        size_t done = 0;

        for (size_t k = 0; k < n && zero_monotonic_usec() < until; k++) {
                size_t i = (c->cursor + k) % n;
                struct zero_card_volume_stats st = {};
                struct zero_error err = {};
                struct zero_card_vol cv;
                int r;

                if (!entries[i])
                        continue;
                if (entries[i]->have && zero_monotonic_usec() - entries[i]->refreshed < CARD_FRESH_USEC) {
                        done++; /* read lately enough: no call */
                        continue;
                }
                r = zero_card_vol_init(a, &vols[i].vol, &cv);
                if (r >= 0) {
                        r = a->card_driver->ops.volume_stats(a->card, &cv.v, &st, &err);
                        zero_card_vol_done(&cv);
                }
                if (r < 0) {
                        /* The next scrape goes on after it: a volume the driver cannot read
                         * (its file gone) must not hold up all the others for ever. */
                        c->cursor = (i + 1) % n;
                        c->errors++;
                        return;
                }
                entries[i]->st = st;
                entries[i]->have = true;
                entries[i]->refreshed = zero_monotonic_usec();
                done++;
        }
        c->cursor = n > 0 ? (c->cursor + done) % n : 0;
}

/* One family at a time (the format wants a family's samples together). */
static const struct {
        const char *name, *type, *help;
} families[] = {
        {"zero_card_volume_qos_iops_limit", "gauge", "An attached volume's QoS limit in I/O operations per second (0: none)."},
        {"zero_card_volume_qos_bytes_per_second_limit", "gauge",
         "An attached volume's QoS limit in bytes per second, read and write (0: none)."},
        {"zero_card_volume_read_bytes_total", "counter", "Bytes read from an attached volume, as the card counts them."},
        {"zero_card_volume_written_bytes_total", "counter", "Bytes written to an attached volume, as the card counts them."},
        {"zero_card_volume_reads_total", "counter", "Read operations on an attached volume, as the card counts them."},
        {"zero_card_volume_writes_total", "counter", "Write operations on an attached volume, as the card counts them."},
        {"zero_card_volume_allocated_bytes", "gauge", "What an attached volume takes of the card's storage."},
};

/* Forgets the volumes no longer attached (not seen in this scrape), and clears the marks. */
static void forget_unseen(struct zero_metrics_card *c) {
        _cleanup_free_ struct metrics_volume **gone = calloc(zero_hashmap_size(&c->volumes) + 1, sizeof(*gone));
        size_t i = 0, n = 0;
        const char *key;
        void *value;

        while (zero_hashmap_next(&c->volumes, &i, &key, &value)) {
                struct metrics_volume *e = value;
                if (!e->seen && gone)
                        gone[n++] = e;
                e->seen = false;
        }
        for (size_t k = 0; k < n; k++) {
                zero_hashmap_remove(&c->volumes, gone[k]->id);
                free(gone[k]);
        }
}

static uint64_t family_value(size_t fam, const struct zero_volume_full *vol, const struct metrics_volume *e) {
        switch (fam) {
        case 0: return (uint64_t) vol->vol.qos_iops;
        case 1: return (uint64_t) vol->vol.qos_bps;
        case 2: return e->st.read_bytes;
        case 3: return e->st.write_bytes;
        case 4: return e->st.read_ops;
        case 5: return e->st.write_ops;
        default: return e->st.allocated_bytes;
        }
}

void zero_metrics_card_write(struct zero_agent *a, FILE *f) {
        struct zero_metrics_card *c = &a->metrics.card;
        struct zero_volume_full *vols = NULL;
        _cleanup_free_ struct metrics_volume **entries = NULL;
        size_t n_all = 0, n = 0;
        uint64_t oldest = UINT64_MAX;
        char labels[192] = "";

        if (zero_store_volume_list_full(a->store, NULL, &vols, &n_all) < 0)
                n_all = 0;
        /* The attached ones first, still in name order (swapped, not copied: all are freed). */
        for (size_t k = 0; k < n_all; k++)
                if (vols[k].att.volume) {
                        struct zero_volume_full t = vols[n];
                        vols[n++] = vols[k];
                        vols[k] = t;
                }
        entries = calloc(n + 1, sizeof(*entries));
        if (entries) {
                for (size_t k = 0; k < n; k++)
                        if ((entries[k] = volume_entry(c, vols[k].vol.id)))
                                entries[k]->seen = true;
                refresh(a, vols, entries, n);
                for (size_t k = 0; k < n; k++)
                        if (entries[k] && entries[k]->have && entries[k]->refreshed < oldest)
                                oldest = entries[k]->refreshed;
        }
        forget_unseen(c);

        zero_prom_family(f, "zero_card_info", "gauge", "The card driver zerod uses.");
        (void) zero_prom_label(labels, sizeof(labels), "driver", a->card_driver->name);
        zero_prom_sample(f, "zero_card_info", labels, 1);
        for (size_t fam = 0; fam < ELEMENTSOF(families); fam++) {
                zero_prom_family(f, families[fam].name, families[fam].type, families[fam].help);
                for (size_t k = 0; k < n; k++) {
                        /* The counters only once the driver gave them; the limits always. */
                        if (fam >= 2 && !(entries && entries[k] && entries[k]->have))
                                continue;
                        labels[0] = '\0';
                        (void) zero_prom_label(labels, sizeof(labels), "volume", vols[k].vol.name);
                        (void) zero_prom_label(labels, sizeof(labels), "instance", vols[k].attached_to);
                        zero_prom_sample_u64(f, families[fam].name, labels,
                                             family_value(fam, &vols[k], entries ? entries[k] : NULL));
                }
        }
        zero_prom_family(f, "zero_card_volume_stats_oldest_seconds", "gauge",
                         "How old the oldest of the card's volume counters shown is: each scrape reads what "
                         "fits in 5 ms, the others show what the card gave before.");
        zero_prom_sample(f, "zero_card_volume_stats_oldest_seconds", NULL,
                         oldest == UINT64_MAX ? 0 : (double) (zero_monotonic_usec() - oldest) / 1e6);
        zero_prom_family(f, "zero_card_volume_stats_errors_total", "counter",
                         "Reads of a volume's counters the card driver failed (each ends a scrape's reads).");
        zero_prom_sample_u64(f, "zero_card_volume_stats_errors_total", NULL, c->errors);
        zero_volume_fulls_free(vols, n_all);
}

void zero_metrics_card_done(struct zero_metrics_card *c) {
        size_t i = 0;
        const char *key;
        void *e;

        while (zero_hashmap_next(&c->volumes, &i, &key, &e))
                free(e);
        zero_hashmap_done(&c->volumes);
}
