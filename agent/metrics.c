/* SPDX-License-Identifier: Apache-2.0 */
/* The core's metrics (metrics.h): kept counters, the instances' counts, shims and plugins. */
#include "agent/metrics.h"

#include <string.h>

#include "agent/agent.h"
#include "agent/operation.h"
#include "agent/plugin_loader.h"
#include "common/util.h"

static const double op_le[] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
const struct zero_prom_buckets zero_metrics_op_buckets = {op_le, ELEMENTSOF(op_le)};

static struct zero_metrics_kind *kind_slot(struct zero_metrics *m, const char *kind) {
        for (size_t i = 0; i < m->n_kinds; i++)
                if (streq(m->kinds[i].name, kind))
                        return &m->kinds[i];
        /* The kinds are the operation engine's table (a dozen): the last slot takes any others. */
        if (m->n_kinds == ZERO_METRICS_KINDS_MAX - 1 || strlen(kind) >= ZERO_METRICS_KIND_MAX)
                kind = "other";
        if (m->n_kinds == ZERO_METRICS_KINDS_MAX)
                return &m->kinds[ZERO_METRICS_KINDS_MAX - 1];
        snprintf(m->kinds[m->n_kinds].name, ZERO_METRICS_KIND_MAX, "%s", kind);
        return &m->kinds[m->n_kinds++];
}

void zero_metrics_operation_ended(struct zero_agent *a, const char *kind, bool succeeded, int64_t usec) {
        struct zero_metrics_kind *k = kind_slot(&a->metrics, kind ? kind : "unknown");

        zero_prom_observe(&k->result[succeeded], &zero_metrics_op_buckets, usec > 0 ? (double) usec / 1e6 : 0);
}

void zero_metrics_shim_lost(struct zero_agent *a) {
        a->metrics.shims_lost++;
}

static int64_t count_of(const struct zero_instance_count *rows, size_t n, const char *mode, const char *state) {
        for (size_t i = 0; i < n; i++)
                if (streq(rows[i].mode, mode) && streq(rows[i].state, state))
                        return rows[i].count;
        return 0;
}

/* Whether a row before upto has mode (the rows come by mode). */
static bool mode_seen(const struct zero_instance_count *rows, size_t upto, const char *mode) {
        for (size_t i = 0; i < upto; i++)
                if (streq(rows[i].mode, mode))
                        return true;
        return false;
}

static void write_instances_mode(FILE *f, const char *mode, const struct zero_instance_count *rows, size_t n) {
        for (int s = 0; s < _ZERO_INST_STATE_MAX; s++) {
                char labels[128] = "";
                (void) zero_prom_label(labels, sizeof(labels), "mode", mode);
                (void) zero_prom_label(labels, sizeof(labels), "state", zero_inst_state_name(s));
                zero_prom_sample(f, "zero_instances", labels, (double) count_of(rows, n, mode, zero_inst_state_name(s)));
        }
}

/* Every state of every mode a plugin offers, 0 included (a series that comes and goes reads as
 * stale in Prometheus); and a mode in the store whose plugin is gone. */
static int write_instances(struct zero_agent *a, FILE *f) {
        struct zero_instance_count *rows = NULL;
        size_t n = 0;
        int r = zero_store_instance_counts(a->store, &rows, &n);

        if (r < 0)
                return r;
        zero_prom_family(f, "zero_instances", "gauge", "Instances on this node by mode and state.");
        for (size_t i = 0; a->plugins && i < a->plugins->n; i++)
                write_instances_mode(f, a->plugins->items[i].plugin->mode, rows, n);
        for (size_t i = 0; i < n; i++)
                if (!zero_plugins_find(a->plugins, rows[i].mode) && !mode_seen(rows, i, rows[i].mode))
                        write_instances_mode(f, rows[i].mode, rows, n);
        zero_instance_counts_free(rows, n);
        return 0;
}

static void write_operations(struct zero_agent *a, FILE *f) {
        const struct zero_metrics *m = &a->metrics;
        static const char *const result[2] = {"failed", "succeeded"};

        zero_prom_family(f, "zero_operation_duration_seconds", "histogram",
                         "Operations ended since zerod started, by kind and result: seconds from the request to the "
                         "end (_count: how many).");
        for (size_t i = 0; i < m->n_kinds; i++)
                for (int s = 0; s < 2; s++) {
                        char labels[128] = "";
                        (void) zero_prom_label(labels, sizeof(labels), "kind", m->kinds[i].name);
                        (void) zero_prom_label(labels, sizeof(labels), "result", result[s]);
                        zero_prom_histogram_write(f, "zero_operation_duration_seconds", labels, &m->kinds[i].result[s],
                                                  &zero_metrics_op_buckets);
                }

        size_t running = 0;
        for (struct zero_op *op = a->ops; op; op = op->next)
                running++;
        zero_prom_family(f, "zero_operations_in_flight", "gauge", "Operations running now.");
        zero_prom_sample_u64(f, "zero_operations_in_flight", NULL, running);
}

/* The shims zerod is connected to (each live instance's; a walk of what is in memory, no system
 * call), and those that died without leaving an exit record. */
static void write_shims(struct zero_agent *a, FILE *f) {
        size_t i = 0, connected = 0;
        const char *key;
        void *value;

        while (zero_hashmap_next(&a->instances, &i, &key, &value))
                connected += ((struct zero_inst *) value)->wait_fd >= 0;
        zero_prom_family(f, "zero_shims_connected", "gauge",
                         "Instance supervisors (zero-shim) zerod is connected to, waiting for their exit.");
        zero_prom_sample_u64(f, "zero_shims_connected", NULL, connected);
        zero_prom_family(f, "zero_shims_lost_total", "counter",
                         "Supervisors that died without an exit record since zerod started.");
        zero_prom_sample_u64(f, "zero_shims_lost_total", NULL, a->metrics.shims_lost);
}

static void write_plugins(struct zero_agent *a, FILE *f) {
        zero_prom_family(f, "zero_plugin_available", "gauge",
                         "Whether a runtime plugin can run instances here (its probe), by mode and runtime.");
        for (size_t i = 0; a->plugins && i < a->plugins->n; i++) {
                const struct zero_loaded_plugin *lp = &a->plugins->items[i];
                char labels[256] = "";
                (void) zero_prom_label(labels, sizeof(labels), "mode", lp->plugin->mode);
                (void) zero_prom_label(labels, sizeof(labels), "runtime", lp->probe.runtime);
                zero_prom_sample(f, "zero_plugin_available", labels, lp->probe.available ? 1 : 0);
        }
}

int zero_metrics_write(struct zero_agent *a, FILE *f) {
        int r = write_instances(a, f);

        if (r < 0)
                return r;
        write_operations(a, f);
        write_shims(a, f);
        write_plugins(a, f);
        if (a->card && a->card_driver)
                zero_metrics_card_write(a, f);
        zero_metrics_process_write(f);
        return 0;
}

void zero_metrics_done(struct zero_metrics *m) {
        zero_metrics_card_done(&m->card);
}
