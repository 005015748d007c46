/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The hand-over of the host to an instance (a plugin with ops.handover: bms), in place of the
 * start's spawn (handover.h). Two steps, journalled as every step is:
 *
 *   handover_load  the plugin says what to boot (the image's kernel, initramfs, command line);
 *                  zero-bms-handover loads it with kexec_file_load(2), a child of zerod's
 *   handover       the card asked how this hand-over stands (ops.tenant_status, by the
 *                  operation's id), then:
 *                    "none"      it never reached the card: the kernel loaded again if a reset
 *                                lost it, the store made durable (fsync: this step's record is
 *                                what zerod finds when it is back), the card told
 *                                (ops.tenant_handover: it keeps the instance's volumes and NICs
 *                                and cuts the rest, the state volume first), then
 *                                zero-bms-handover exec reboots into the loaded kernel. Nothing
 *                                is written after the card's answer: the state volume is cut.
 *                    "ended N"   zerod is back after the take-back: the run ended with exit code
 *                                N; the step is done, and spawn, boot and running pass (no shim:
 *                                running records the instance stopped), the card's exports of the
 *                                instance taken down.
 *                    "ended N switch MODE"  the same, the take-back asked of the card as a
 *                                switch of the instance to MODE: running then launches that
 *                                switch (zero_handover_then; docs/architecture.md, "Switching
 *                                modes").
 *                    "running"   never while zerod runs (the host would be the tenant's): an error.
 *
 * The steps are create's, start's, restart's and switch's (to bms). A reset at any point before
 * the card's answer finds the operation at one of these steps and runs it again (a loaded kernel
 * is lost with the reset, so it is loaded again; the operation is not rewound to card_up as
 * others are after a restart: operation.c); after it, the card takes the host back and the step
 * finds "ended".
 */
#include "agent/handover.h"

#include <stdio.h>
#include <string.h>

#include "agent/card.h"
#include "agent/card_steps.h"
#include "agent/config.h"
#include "agent/durable.h"
#include "agent/instance_steps.h"
#include "agent/plugin_loader.h"
#include "common/ini.h"
#include "common/log.h"
#include "common/netaddr.h"
#include "common/util.h"
#include "store/store.h"
#include "zero/card.h"

#define PROGRESS_KEY "card"

bool zero_handover_plugin(const struct zero_plugin *p) {
        return p && ZERO_PLUGIN_HAS(p, handover) && p->ops.handover;
}

static char *helper_path(struct zero_agent *a) {
        static const char *const candidates[] = {"../plugins/bms/zero-bms-handover", "../libexec/zero/zero-bms-handover",
                                                 "zero-bms-handover", NULL};
        const char *c = zero_config_get(a->config, "bms", "handover_helper");

        return c ? strdup(c) : zero_path_beside_exe(candidates);
}

/* The plugin's description of what to boot, and the helper: 0, or -errno with op->err. A
 * plugin without the op: 1 (the steps pass). */
static int describe(struct zero_op *op, struct zero_handover *ho, char **ret_helper) {
        struct zero_step_ctx c;
        int r = zero_step_ctx_load(op, &c);

        if (r < 0)
                return r;
        if (!zero_handover_plugin(c.plugin)) {
                zero_step_ctx_done(&c);
                return 1;
        }
        *ho = (struct zero_handover){.size = sizeof(*ho)};
        r = c.plugin->ops.handover(c.pctx, &c.info.info, ho, &op->err);
        zero_step_ctx_done(&c);
        if (r < 0)
                return zero_error_default(&op->err, r, "the hand-over's description");
        *ret_helper = helper_path(op->agent);
        if (!*ret_helper)
                return zero_error_set(&op->err, -ENOENT, ZERO_E_INTERNAL,
                                      "cannot find zero-bms-handover: set [bms] handover_helper=PATH");
        return 0;
}

static int load(struct zero_op *op, const struct zero_handover *ho, const char *helper, enum zero_op_then then) {
        char *argv[] = {(char *) helper, (char *) "load", (char *) ho->kernel, (char *) ho->initrd, (char *) ho->cmdline,
                        NULL};

        log_info("Loading the kernel of %s's hand-over: %s", strempty(op->row.instance_name), ho->kernel);
        return zero_op_wait_child(op, argv, "zero-bms-handover load (kexec_file_load)", then);
}

int zero_step_handover_load(struct zero_op *op) {
        struct zero_handover ho;
        _cleanup_free_ char *helper = NULL;
        int r = describe(op, &ho, &helper);

        if (r != 0)
            return r > 0 ? 0 : r;
        return load(op, &ho, helper, ZERO_OP_THEN_DONE);
}

/* ---- the card's part ---- */

static const char *progress(struct zero_op *op) {
        return json_string_value(json_object_get(op->progress, PROGRESS_KEY));
}

/* The card's hand-over asked again after this long, this many times at most, when the card could
 * not answer it (its process restarting: it resumes the hand-over from its record, and answers
 * the same operation's request as done once it is). */
#define CARD_RETRY_USEC (1ULL * 1000000ULL)
#define CARD_RETRIES 120

static int on_card_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        struct zero_op *op = userdata;

        op->timer = sd_event_source_disable_unref(op->timer);
        if (op->wait & ZERO_OP_WAIT_CARD)
                zero_op_continue(op, 0); /* the step again: "synced", the request again */
        return 0;
}

/* Whether the card's failure is its absence (not an answer of its own): asked again. */
static bool card_away(int r) {
        return r == -EHOSTUNREACH || r == -EAGAIN || r == -ETIMEDOUT;
}

static void on_card(void *userdata, int r, const struct zero_card_result *res, const struct zero_error *err) {
        struct zero_op *op = userdata;
        json_int_t tries = json_integer_value(json_object_get(op->progress, "tries"));

        if (r < 0 && card_away(r) && streq(strempty(progress(op)), "handing_over") && tries < CARD_RETRIES) {
                log_warning("The card did not answer the hand-over of %s (%s): asked again in a second",
                            strempty(op->row.instance_name), err ? err->message : strerror(-r));
                zero_op_set_progress(op, json_pack("{s:s,s:I}", PROGRESS_KEY, "synced", "tries", tries + 1));
                if (sd_event_add_time_relative(op->agent->event, &op->timer, CLOCK_MONOTONIC, CARD_RETRY_USEC, 0,
                                               on_card_retry, op) >= 0)
                        return;
                r = zero_error_set(&op->err, -ENOMEM, ZERO_E_INTERNAL, "cannot arm the hand-over's retry");
                err = NULL;
        }
        if (r >= 0)
                zero_op_set_progress(op, json_pack("{s:s}", PROGRESS_KEY, progress(op) && streq(progress(op), "handing_over")
                                                                                  ? "handed"
                                                                                  : res->text));
        else if (err)
                op->err = *err;
        zero_op_continue(op, r);
}

static bool kexec_loaded(void) {
        _cleanup_free_ char *s = NULL;
        size_t n = 0;

        return zero_read_file("/sys/kernel/kexec_loaded", 16, &s, &n) >= 0 && n > 0 && s[0] == '1';
}

/* Each volume and NIC the instance has (the card presents them: card_up made them). */
static int tenant_of(struct zero_op *op, struct zero_card_tenant *t, const char ***vols, const char ***nics,
                     struct zero_step_ctx *c) {
        const struct zero_instance_info *i = &c->info.info;

        *vols = calloc(i->n_volumes + 1, sizeof(char *));
        *nics = calloc(i->n_nics + 1, sizeof(char *));
        if (!*vols || !*nics)
                return -ENOMEM;
        for (size_t k = 0; k < i->n_volumes; k++)
                (*vols)[k] = i->volumes[k].id;
        for (size_t k = 0; k < i->n_nics; k++)
                (*nics)[k] = i->nics[k].id;
        *t = (struct zero_card_tenant){.size = sizeof(*t),
                                       .operation = op->row.id,
                                       .instance = c->row.id,
                                       .name = c->row.name,
                                       .volumes = *vols,
                                       .n_volumes = i->n_volumes,
                                       .nics = *nics,
                                       .n_nics = i->n_nics};
        return 0;
}

static int hand_over(struct zero_op *op) {
        struct zero_agent *a = op->agent;
        struct zero_card_tenant t;
        _cleanup_free_ const char **vols = NULL, **nics = NULL;
        struct zero_step_ctx c;
        int r = zero_step_ctx_load(op, &c);

        if (r < 0)
                return r;
        r = tenant_of(op, &t, &vols, &nics, &c);
        if (r >= 0) {
                zero_op_set_progress(op, json_pack("{s:s,s:I}", PROGRESS_KEY, "handing_over", "tries",
                                                   json_integer_value(json_object_get(op->progress, "tries"))));
                log_info("Handing the host over to %s (operation %s)", c.row.name, op->row.id);
                r = a->card_driver->ops.tenant_handover(a->card, &t, on_card, op, &op->err);
        }
        zero_step_ctx_done(&c);
        return r < 0 ? r : zero_op_wait(op, ZERO_OP_WAIT_CARD, ZERO_OP_THEN_RERUN);
}

/* The store's fsync, off the loop (durable.h): the step's record, committed before it ran, is what
 * zerod finds when it is back. Found again by the operation's id (zerod may be going). */
static void on_durable(struct zero_agent *a, int r, void *userdata) {
        _cleanup_free_ char *id = userdata;
        struct zero_op *op = r == -ECANCELED ? NULL : zero_op_find(a, id);

        if (!op)
                return;
        if (r < 0)
                zero_error_set(&op->err, r, ZERO_E_UNAVAILABLE, "cannot make the store durable: %s", strerror(-r));
        else
                zero_op_set_progress(op, json_pack("{s:s}", PROGRESS_KEY, "synced"));
        if (op->wait != ZERO_OP_WAIT_NONE) /* answered later: else the step is still in its call */
                zero_op_continue(op, r);
}

/* Without the sync child (durable.h: a->durable NULL), the fsync on the loop, from a turn of its
 * own: a step runs inside its operation's batch, where the store refuses to sync. */
struct sync_later {
        struct zero_agent *agent;
        char *id;
};

static int on_sync_later(sd_event_source *s, void *userdata) {
        struct sync_later *l = userdata;
        int r = zero_store_sync(l->agent->store);

        sd_event_source_disable_unref(s);
        on_durable(l->agent, r, l->id);
        free(l);
        return 0;
}

static int sync_later(struct zero_agent *a, char *id) {
        struct sync_later *l = malloc(sizeof(*l));
        sd_event_source *s = NULL;
        int r;

        if (!l)
                return -ENOMEM;
        *l = (struct sync_later){a, id};
        r = sd_event_add_defer(a->event, &s, on_sync_later, l);
        if (r < 0)
                free(l);
        return r;
}

static int make_durable(struct zero_op *op) {
        char *id = strdup(op->row.id);
        int r;

        if (!id)
                return -ENOMEM;
        zero_op_set_progress(op, json_pack("{s:s}", PROGRESS_KEY, "syncing"));
        r = op->agent->durable ? zero_durable_wait(op->agent->durable, on_durable, id) : sync_later(op->agent, id);
        if (r < 0) {
                free(id);
                return zero_error_set(&op->err, r, ZERO_E_UNAVAILABLE, "cannot make the store durable: %s",
                                      strerror(-r));
        }
        if (streq(strempty(progress(op)), "synced")) /* done inside the call: no sync child */
                return hand_over(op);
        return zero_op_wait(op, ZERO_OP_WAIT_CARD, ZERO_OP_THEN_RERUN);
}

/* The steps of the card's operation (a stop or switch asked of it) from its times (realtime µs):
 * power_off until the tenant was off, take_back until the host's reset, host_boot until now. */
static json_t *card_op_steps(long long created, long long off, long long ended) {
        long long now = (long long) zero_now_usec();
        json_t *steps = json_array();

        if (off > 0)
                json_array_append_new(steps, json_pack("{s:s,s:I}", "step", "power_off", "duration_us",
                                                       (json_int_t) (off > created ? off - created : 0)));
        if (off > 0 && ended > 0)
                json_array_append_new(steps, json_pack("{s:s,s:I}", "step", "take_back", "duration_us",
                                                       (json_int_t) (ended > off ? ended - off : 0)));
        if (ended > 0)
                json_array_append_new(steps, json_pack("{s:s,s:I}", "step", "host_boot", "duration_us",
                                                       (json_int_t) (now > ended ? now - ended : 0)));
        return steps;
}

/* zerod is back: the run ended (the card's take-back), p "ended CODE[ switch MODE][ op ID CREATED
 * OFF ENDED]" (card.h). A switch asked of the card: the mode goes into the params, "then_switch",
 * recorded with the next step's record, and the operation's last step starts that switch. A stop
 * or switch asked of the card as an operation: "then_op" {"id", "created_us", "steps"}, which
 * that last step records as a stop of that id, or gives the switch (zero_handover_then). */
static int ended(struct zero_op *op, const char *p) {
        char mode[33] = "", card_op[33] = "";
        long long created = 0, off = 0, end = 0;
        int code = 0, n = 0;
        const char *rest;
        struct zero_step_ctx c;
        int r;

        if (sscanf(p, "ended %d%n", &code, &n) < 1)
                return zero_error_set(&op->err, -EPROTO, ZERO_E_INTERNAL, "the card says the hand-over is '%s'", p);
        rest = p + n;
        n = 0;
        if (sscanf(rest, " switch %32s%n", mode, &n) == 1)
                rest += n;
        if (sscanf(rest, " op %32s %lld %lld %lld", card_op, &created, &off, &end) == 4 &&
            zero_hex_id_is_valid(card_op) &&
            json_object_set_new(op->params, "then_op",
                                json_pack("{s:s,s:I,s:o}", "id", card_op, "created_us", (json_int_t) created, "steps",
                                          card_op_steps(created, off, end))) < 0)
                return -ENOMEM;
        if ((mode[0] && json_object_set_new(op->params, "then_switch", json_string(mode)) < 0) ||
            ((mode[0] || card_op[0]) && zero_op_params_sync(op) < 0))
                return -ENOMEM;
        r = zero_step_ctx_load(op, &c);
        if (r < 0)
                return r;
        log_info("%s ended on the host's tenant side with exit code %d: the card took the host back",
                 c.row.name, code);
        c.row.has_exit_code = true;
        c.row.exit_code = code;
        if (c.row.started_at == 0)
                c.row.started_at = (int64_t) zero_now_usec();
        c.row.stopped_at = (int64_t) zero_now_usec();
        c.row.pid = 0;
        r = zero_store_instance_update(op->agent->store, &c.row);
        if (r < 0)
                zero_error_set(&op->err, r, ZERO_E_UNAVAILABLE, "cannot record how %s ended", c.row.name);
        else
                zero_card_down_nowait(op->agent, c.row.id, NULL, NULL);
        zero_step_ctx_done(&c);
        zero_op_set_progress(op, NULL);
        return r < 0 ? r : 0;
}

int zero_step_handover(struct zero_op *op) {
        struct zero_agent *a = op->agent;
        const char *p = progress(op);
        struct zero_handover ho;
        _cleanup_free_ char *helper = NULL;
        int r = describe(op, &ho, &helper);

        if (r != 0)
                return r > 0 ? 0 : r;
        if (!a->card || !ZERO_CARD_HAS(a->card_driver, tenant_handover) || !ZERO_CARD_HAS(a->card_driver, tenant_status))
                return zero_error_set(&op->err, -EOPNOTSUPP, ZERO_E_UNAVAILABLE,
                                      "the card (%s) cannot take the host for a tenant", a->card_driver->name);
        if (!p) {
                r = a->card_driver->ops.tenant_status(a->card, op->row.id, on_card, op, &op->err);
                return r < 0 ? r : zero_op_wait(op, ZERO_OP_WAIT_CARD, ZERO_OP_THEN_RERUN);
        }
        if (strncmp(p, "ended ", 6) == 0)
                return ended(op, p);
        /* A reset since handover_load lost the loaded kernel: loaded again first. */
        if (streq(p, "none") && !kexec_loaded()) {
                zero_op_set_progress(op, json_pack("{s:s}", PROGRESS_KEY, "loading"));
                return load(op, &ho, helper, ZERO_OP_THEN_RERUN);
        }
        if (streq(p, "none") || streq(p, "loading"))
                return make_durable(op);
        if (streq(p, "synced"))
                return hand_over(op);
        if (streq(p, "handed")) {
                char *argv[] = {helper, (char *) "exec", NULL};
                log_info("The card holds the host for %s: rebooting into its kernel", strempty(op->row.instance_name));
                return zero_op_wait_child(op, argv, "zero-bms-handover exec (the reboot into the tenant's kernel)",
                                          ZERO_OP_THEN_DONE);
        }
        zero_op_set_progress(op, NULL);
        return zero_error_set(&op->err, -EPROTO, ZERO_E_INTERNAL,
                              "the card says the hand-over of %s is '%s' while this host runs its own zerod",
                              strempty(op->row.instance_name), p);
}

/* The card's operation, recorded as one of zerod's that ended: a stop (succeeded) or a switch that
 * could not be (failed, with why). Its steps are the card's. */
static int record_card_op(struct zero_op *op, const struct zero_instance_row *row, json_t *then, const char *kind,
                          const char *failure) {
        _cleanup_free_ char *steps = json_dumps(json_object_get(then, "steps"), JSON_COMPACT);
        struct zero_operation_row r = {
                .id = (char *) json_string_value(json_object_get(then, "id")),
                .kind = (char *) kind,
                .instance_id = row->id,
                .instance_name = row->name,
                .status = (char *) zero_op_status_name(failure ? ZERO_OP_FAILED : ZERO_OP_SUCCEEDED),
                .step_name = (char *) "host_boot",
                .params = (char *) "{\"by\":\"card\"}",
                .error_code = failure ? (char *) zero_errc_name(ZERO_E_INVALID) : NULL,
                .error_message = (char *) failure,
                .created_at = json_integer_value(json_object_get(then, "created_us")),
                .steps = steps,
                .actor = op->row.actor,
        };
        int k;

        r.step = (int64_t) json_array_size(json_object_get(then, "steps"));
        r.updated_at = r.finished_at = (int64_t) zero_now_usec();
        if (!r.id || !steps)
                return -ENOMEM;
        k = zero_store_operation_insert(op->agent->store, &r);
        if (k < 0)
                return zero_error_set(&op->err, k, ZERO_E_UNAVAILABLE, "cannot record the card's %s of %s", kind,
                                      row->name);
        log_info("%s: the card's %s recorded as operation %s (%s)", row->name, kind, r.id, r.status);
        zero_agent_event(op->agent, "operation", row->name,
                         json_pack("{s:s,s:s,s:s}", "id", r.id, "kind", kind, "status", r.status));
        zero_publish(op->agent, ZERO_TOPIC_OPERATION_ENDED, r.id);
        return 0;
}

/* The switch asked of the card with the take-back ("then_switch", ended() above): launched
 * by the operation's last step, once the instance is recorded stopped, in the same commit as the
 * operation's end (one batch: a crash before it resumes the step, which launches it then). Its
 * steps are a switch's from a stopped bms instance that runs after it ("start": true); one that
 * fails leaves it a stopped bms instance ("again": false: no new hand-over nobody asked for).
 * The card's operation ("then_op"): the switch gets its id and begins with its steps; a stop is
 * recorded as ended. */
int zero_handover_then(struct zero_op *op, const struct zero_instance_row *row) {
        const char *mode = json_string_value(json_object_get(op->params, "then_switch"));
        json_t *then = json_object_get(op->params, "then_op");
        const char *then_id = json_string_value(json_object_get(then, "id"));
        const struct zero_loaded_plugin *lp = mode ? zero_plugins_find(op->agent->plugins, mode) : NULL;
        struct zero_operation_row known = {};
        struct zero_op *next = NULL;
        int r;

        /* Recorded already (the step run again after its commit): nothing twice. */
        if (then_id && zero_store_operation_get(op->agent->store, then_id, &known) >= 0) {
                zero_operation_row_done(&known);
                return 0;
        }
        if (!mode)
                return then_id ? record_card_op(op, row, then, "stop", NULL) : 0;
        /* The card takes any word (a mode is zerod's to know): one that cannot run here, or the
         * instance's own, is no switch; it stays a stopped bms instance, and says why. */
        if (!lp || !lp->probe.available || streq(mode, strempty(row->mode))) {
                log_warning("%s: the card's take-back asked for a switch to '%s', which %s: it stays stopped",
                            row->name, mode, !lp ? "no plugin runs here" : !lp->probe.available ? "cannot run here"
                                                                                              : "is its mode");
                zero_agent_event(op->agent, "instance.mode", row->name,
                                 json_pack("{s:s,s:s}", "mode", strempty(row->mode), "reason",
                                           "the card's switch names a mode that cannot run here"));
                return then_id ? record_card_op(op, row, then, "switch",
                                                "the switch names a mode that cannot run here: the instance is a "
                                                "stopped bms instance")
                               : 0;
        }
        r = then_id ? zero_op_new_with_id(op->agent, "switch", then_id, row,
                                          json_pack("{s:s,s:s,s:b,s:b}", "mode", mode, "from", strempty(row->mode),
                                                    "start", true, "again", false),
                                          &next)
                    : zero_op_new(op->agent, "switch", row,
                                  json_pack("{s:s,s:s,s:b,s:b}", "mode", mode, "from", strempty(row->mode), "start",
                                            true, "again", false),
                                  &next);
        if (r < 0)
                return zero_error_set(&op->err, r, ZERO_E_INTERNAL, "cannot make the switch of %s to %s", row->name, mode);
        if (then_id) {
                /* The card's steps first: the operation is one, from its request to its end. */
                char *steps = json_dumps(json_object_get(then, "steps"), JSON_COMPACT);
                if (!steps) {
                        zero_op_free(next);
                        return -ENOMEM;
                }
                free(next->row.steps);
                next->row.steps = steps;
                next->row.created_at = json_integer_value(json_object_get(then, "created_us"));
        }
        r = zero_store_operation_insert(op->agent->store, &next->row);
        if (r < 0) {
                zero_op_free(next);
                return zero_error_set(&op->err, r, ZERO_E_UNAVAILABLE, "cannot record the switch of %s to %s",
                                      row->name, mode);
        }
        log_info("%s: the card's take-back asked for a switch to %s (operation %s)", row->name, mode, next->row.id);
        r = zero_op_launch(next);
        if (r < 0)
                log_warning_errno(r, "Failed to launch operation %s: %m; zerod's next start resumes it", next->row.id);
        return 0;
}
