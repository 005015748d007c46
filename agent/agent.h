/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * zerod's shared state. The agent owns every state transition: the core's services (instance,
 * volume) decide and record an operation, the operation engine runs its steps, plugins translate
 * steps into runtime actions, and the store keeps it all. The HTTP front above only parses and
 * answers; the core knows it only as a subscriber (subscribe.h). One sd-event loop, no threads.
 */
#include <jansson.h>
#include <stdbool.h>
#include <systemd/sd-event.h>

#include "agent/config.h"
#include "agent/instance_state.h"
#include "agent/metrics.h"
#include "common/hashmap.h"
#include "agent/subscribe.h"
#include "store/store.h"
#include "zero/plugin.h"

struct zero_plugin_set;
struct zero_op;
struct zero_card;
struct zero_card_driver;
struct zero_card_job;
struct zero_peers;
struct zero_view;

/* What a plugin gets as its handle on one instance (zero_plugin_ctx in plugin.h): one per
 * zero_inst and loaded plugin (zero_services_ctx()), so its address stays the same for as long as
 * the agent knows the instance, and each plugin has a data slot of its own. */
struct zero_plugin_ctx {
        struct zero_agent *agent;
        struct zero_inst *inst;
        void *data; /* the plugin's (services->set_data); the agent never frees it */
};
/* As many as plugins may be loaded (ZERO_PLUGINS_MAX in plugin_loader.h). */
#define ZERO_INST_PLUGIN_CTX_MAX 16

/* Live, in-memory side of one instance: the links to its shim. The store holds the truth;
 * this only holds what cannot be stored (fds, event sources). */
struct zero_inst {
        struct zero_agent *agent;
        char id[33];
        char *name;
        char *run_dir;
        char *state_dir;

        int sync_fd; /* the shim's report while it starts */
        sd_event_source *sync_source;
        int wait_fd; /* connection on which the shim will say "exited" */
        sd_event_source *wait_source;
        /* What an operation waits for of the instance (its report, its exit, its plugin's done())
         * is the operation engine's to know (operation.h), not the instance's. */
        bool card_asked; /* the plugin's card services asked the card for what it had not made yet
                          * (card_steps.h: the step waits for it, then runs again) */
        struct zero_plugin_ctx pctx[ZERO_INST_PLUGIN_CTX_MAX]; /* by the plugin's index in the set */
};

struct zero_agent {
        sd_event *event;
        struct zero_config *config;
        struct zero_store *store;
        struct zero_plugin_set *plugins;
        struct zero_hashmap instances; /* the struct zero_inst of each instance known live, by id */
        uint64_t instances_gen;        /* bumped when one is added or freed: a pointer kept is stale */
        struct zero_view *view;        /* what the API shows of instances, kept (instance_view.h) */
        struct zero_op *ops;
        struct zero_plugin_services services;
        const struct zero_card_driver *card_driver;
        void *card_handle; /* the driver's shared object (card_loader.h) */
        struct zero_card *card;
        struct zero_card_job *card_jobs; /* the card's work, in the order asked for (card_job.h) */
        bool card_sync_pending; /* the card lost its exports: a sync waits for the jobs running */
        bool machine_restarted; /* since zerod last ran (instance.c, the boot id): known at start */
        sd_event_source *card_sync_defer;
        sd_event_source *trim_source; /* memory given back once the loop is idle (trim.h) */
        uint64_t trimmed_at;          /* CLOCK_MONOTONIC µs of the last trim, 0 before the first */
        unsigned node_cpus;
        uint64_t node_memory_mib;
        uint64_t events_since_trim;
        /* Who the work at hand is for, recorded with operations and events: the request's caller
         * while a handler runs, the operation's while its steps run; NULL for zerod's own. */
        const char *actor;
        unsigned uploads; /* image uploads whose body is still coming in */
        struct zero_subscribers subscribers; /* who hears what the core did (subscribe.h) */
        struct zero_peers *peers; /* requests to other nodes' agents (peer.h), made when first needed */
        struct zero_durable *durable; /* the store's syncs off the loop (durable.h); NULL: on it */
        struct zero_metrics metrics; /* what GET /metrics counts as it happens (metrics.h) */
        struct zero_attest *attest;  /* the node's key and the image files' digests (attest.h) */
};

/* instance.c */
/* The live side of instance id, made on first use. */
int zero_inst_get(struct zero_agent *a, const char *id, const char *name, struct zero_inst **ret);
/* The live side of instance id if it has one (a lookup by hash), else NULL. */
struct zero_inst *zero_inst_find(struct zero_agent *a, const char *id);
void zero_inst_free(struct zero_agent *a, struct zero_inst *inst);
void zero_inst_free_all(struct zero_agent *a);
/* Records state s in row and the store; the event instance.state when it changed. ZERO_INST_KEEP
 * (a column of the transition table that changes nothing) does nothing. */
int zero_inst_set_state(struct zero_agent *a, struct zero_instance_row *row, enum zero_inst_state s);
/* The row's state (the store keeps its name). */
static inline enum zero_inst_state zero_inst_state_of(const struct zero_instance_row *row) {
        return zero_inst_state_from_name(row->state);
}
int zero_inst_reconcile_all(struct zero_agent *a);
/* A forced restart (an operation of its own, the event "operation") of an instance that is live
 * and has no operation running; why is logged. */
void zero_inst_restart(struct zero_agent *a, const char *instance_id, const char *why);
bool zero_inst_shim_alive(struct zero_inst *inst);
int zero_inst_watch(struct zero_inst *inst);
/* Puts the main pid that the instance's live shim recorded (shim/client.h: DIR/pid) into row
 * and the store if the row has another: a zerod killed between the spawn and the shim's report
 * never heard it (issue 10, row 13). */
int zero_inst_record_pid(struct zero_inst *inst, struct zero_instance_row *row);
int zero_inst_spawn_shim(struct zero_inst *inst, const struct zero_shim_args *args, struct zero_error *err);
int zero_inst_signal(struct zero_inst *inst, int sig, struct zero_error *err);
/* A plugin's done() (r, err) that no operation waits for: an instance that is neither live nor
 * under an operation gets its cleanup again (a cleanup that asked to be called again, plugin.h)
 * unless r < 0; the instance leaves stopping once that is all done, or failed. */
void zero_inst_cleanup_again(struct zero_inst *inst, int r, const struct zero_error *err);
void zero_inst_disarm(struct zero_inst *inst);
/* What the API shows of an instance, from its row and its card's rows (instance_spec.c); without
 * runtime_status, which the view adds (instance_view.h). */
json_t *zero_inst_json(const struct zero_instance_full *f);
/* A store timestamp (µs) as the API's RFC 3339 string, null for 0 ("not yet"). */
json_t *zero_time_json(int64_t usec);

/* instance info handed to plugins, built from a row */
struct zero_info_holder {
        struct zero_instance_info info;
        json_t *spec;
        char **argv;
        char **env;
        char *image_dir;
        char *kernel, *initrd; /* NULL when the image has none */
        struct zero_card_info *card;
};
int zero_info_build(struct zero_agent *a, const struct zero_instance_row *row, struct zero_inst *inst,
                    struct zero_info_holder *ret, struct zero_error *err);
void zero_info_done(struct zero_info_holder *h);

/* event.c: the event log; each event appended is published (ZERO_TOPIC_EVENT_APPENDED) */
void zero_agent_event(struct zero_agent *a, const char *type, const char *instance, json_t *data);

/* node.c: GET /v1/node from the instances counted by mode and state (zero_store_instance_counts();
 * the view keeps it, instance_view.h) */
json_t *zero_node_to_json(struct zero_agent *a, const struct zero_instance_count *counts, size_t n);
/* The node's mode from those counts (pure: test_instance_state). */
struct zero_plugin_set;
const char *zero_node_mode_of(const struct zero_plugin_set *plugins, const struct zero_instance_count *counts,
                              size_t n);
