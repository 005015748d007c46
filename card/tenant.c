/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host handed to a tenant (a bms instance, docs/architecture.md "Bare metal") and taken back.
 *
 * Hand-over (POST /v1/host/handover, the host's zerod asks, job "host"): the tenant is recorded
 * ("handing_over": its instance, the volumes and NICs that stay presented), QEMU is told that a
 * reset or a power-off of the guest pauses it (set-action reboot=shutdown, shutdown=pause: the
 * card, not the tenant, decides what boots next), the host's state volume is cut (an erroring
 * node put under its disk, its NBD node deleted and the engine's NBD export of it removed: its
 * disk stays on the host's bus, but every read or write of it fails at once), and the tenant is
 * "running". The answer goes back to zerod, which kexecs
 * into the tenant's kernel; a second later the management link is cut too (set_link off): the
 * tenant reaches neither the card's API nor zerod's forward. What stays presented is the
 * tenant's.
 *
 * While the tenant runs, the card answers for the node (GET /v1/node, /v1/instances/NAME and its
 * console, on the operator's socket): the host's zerod is gone.
 *
 * Take-back (a stop: the ACPI button, pressed every second until the guest powers off, forced
 * after timeout_s; the tenant powering off or rebooting by itself; a reset asked of the card):
 * the guest paused first (a tenant still running must never see its host's volume or link come
 * back), the state volume exported again and a new NBD node put under its disk (connected at
 * once, so the host's first read succeeds), the link up, QEMU's actions as they were, then
 * system_reset:
 * the host boots its image again (QEMU's -kernel and -initrd, files of the card's: nothing the
 * tenant could have written), with its state volume, and its zerod asks the card how the tenant
 * ended (GET /v1/host/tenant: "last", with the exit code: 143 stopped, 137 forced, 0 its own).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "card/card.h"
#include "card/host.h"
#include "card/job.h"
#include "card/store.h"
#include "common/log.h"
#include "common/netaddr.h"
#include "common/util.h"

#define LINK_OFF_DELAY_USEC (1ULL * 1000000ULL)
#define PRESS_EVERY_USEC (1ULL * 1000000ULL)
#define STOP_TIMEOUT_S_DEFAULT 30
#define EXIT_STOPPED 143
#define EXIT_FORCED 137
#define MGMT_NETDEV "mgmt"

static const char *str(json_t *rec, const char *key) {
        return json_string_value(json_object_get(rec, key));
}

json_t *zc_tenant(struct zc *zc) {
        json_t *t = zc_store_host(zc->store, "tenant");
        return json_is_object(t) ? t : NULL;
}

bool zc_tenant_cuts(struct zc *zc, const char *volume_id) {
        return zc_tenant(zc) && volume_id &&
               streq(volume_id, strempty(json_string_value(zc_store_host(zc->store, "state_volume"))));
}

static int tenant_set(struct zc *zc, const char *key, json_t *value, struct zero_error *err) {
        json_t *t = json_deep_copy(zc_tenant(zc));

        if (!t) {
                json_decref(value);
                return zero_error_set(err, -ENOENT, ZERO_E_WRONG_STATE, "no tenant holds the host");
        }
        json_object_set_new(t, key, value);
        return zc_store_set_host(zc->store, "tenant", t, err);
}

static void on_qmp_step(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata) {
        zc_job_next(userdata, r, err);
}

/* A QMP command whose answer ends the step (ignored: tolerant, for the take-back's, and the state
 * volume's switch, whose safety net is the engine's export removed). */
static void on_qmp_any(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata) {
        if (r < 0)
                log_warning("The host's QEMU refused a command of the hand-over or take-back: %s",
                            err ? err->message : "");
        zc_job_next(userdata, 0, NULL);
}

static int qmp_step(struct zc_job *j, const char *execute, json_t *args, bool tolerant) {
        int r;

        if (!zc_host_qmp_ready(j->zc)) {
                json_decref(args);
                if (tolerant)
                        return 1;
                return zero_error_set(&j->err, -ENOTCONN, ZERO_E_WRONG_STATE, "the host's QEMU does not answer");
        }
        r = zc_host_qmp_send(j->zc, execute, args, tolerant ? on_qmp_any : on_qmp_step, j);
        if (r < 0)
                return tolerant ? 1 : zero_error_set(&j->err, r, ZERO_E_RUNTIME, "cannot ask the host's QEMU");
        return 0;
}

static void on_engine_done(void *userdata, int r, const struct zero_card_result *res, const struct zero_error *err) {
        struct zc_job *j = userdata;

        if (r >= 0)
                snprintf(j->text, sizeof(j->text), "%s", res->text);
        zc_job_next(j, r, err);
}

/* The same for a job resumed after the card's restart: the work may be done already (an export
 * removed or made before the card died), which is no failure. */
static void on_engine_any(void *userdata, int r, const struct zero_card_result *res, const struct zero_error *err) {
        if (r < 0)
                log_info("Resumed after the card's restart, a step finds its work done: %s", err ? err->message : "");
        zc_job_next(userdata, 0, NULL);
}

static bool resumed(struct zc_job *j) {
        return json_is_true(json_object_get(j->args, "resumed"));
}

static int state_volume_desc(struct zc *zc, struct zc_volume_desc *d, struct zero_error *err) {
        const char *id = json_string_value(zc_store_host(zc->store, "state_volume"));
        json_t *rec = id ? zc_store_get(zc->store, "volumes", id) : NULL;

        if (!rec)
                return zero_error_set(err, -ENOENT, ZERO_E_INTERNAL, "the card has no state volume");
        return zc_volume_desc(zc, id, rec, d);
}

json_t *zc_tenant_json(struct zc *zc) {
        return json_pack("{s:O?,s:O?}", "tenant", zc_tenant(zc), "last", zc_store_host(zc->store, "tenant_last"));
}

/* ---- hand-over ---- */

static bool presented(struct zc *zc, const char *id) {
        json_t *p = zc_store_get(zc->store, "presentations", id);
        return p && streq(strempty(str(p, "state")), "presented");
}

static int ho_record(struct zc_job *j) {
        struct zc *zc = j->zc;
        json_t *t = zc_tenant(zc), *e, *rec;
        const char *op = str(j->args, "operation"), *inst = str(j->args, "instance"), *name = str(j->args, "name");
        size_t i;

        if (t) {
                if (streq(strempty(str(t, "operation")), strempty(op)))
                        return 1; /* asked again (zerod's retry): the steps find their work done */
                return zero_error_set(&j->err, -EBUSY, ZERO_E_CONFLICT, "the host is handed to %s already",
                                      strempty(str(t, "name")));
        }
        if (!zc_host_qmp_ready(zc))
                return zero_error_set(&j->err, -ENOTCONN, ZERO_E_WRONG_STATE, "the host is not running");
        if (!op || !inst || !name || !zero_hex_id_is_valid(inst))
                return zero_error_set(&j->err, -EINVAL, ZERO_E_INVALID,
                                      "a hand-over names its operation, instance (id) and name");
        json_array_foreach(json_object_get(j->args, "volumes"), i, e)
                if (!json_is_string(e) || !presented(zc, json_string_value(e)))
                        return zero_error_set(&j->err, -ENOENT, ZERO_E_WRONG_STATE,
                                              "volume %s of the tenant is not presented", strempty(json_string_value(e)));
        json_array_foreach(json_object_get(j->args, "nics"), i, e)
                if (!json_is_string(e) || !presented(zc, json_string_value(e)))
                        return zero_error_set(&j->err, -ENOENT, ZERO_E_WRONG_STATE,
                                              "NIC %s of the tenant is not presented", strempty(json_string_value(e)));
        e = json_object_get(j->args, "volumes");
        rec = json_object_get(j->args, "nics");
        rec = json_pack("{s:s,s:s,s:s,s:o,s:o,s:s,s:I}", "operation", op, "instance", inst, "name", name, "volumes",
                        json_is_array(e) ? json_incref(e) : json_array(), "nics",
                        json_is_array(rec) ? json_incref(rec) : json_array(), "state", "handing_over", "since",
                        (json_int_t) time(NULL));
        if (!rec)
                return -ENOMEM;
        log_info("Handing the host over to bms instance %s (operation %s)", name, op);
        return zc_step_next(zc_store_set_host(zc->store, "tenant", rec, &j->err));
}

/* The hand-over asked again once done (zerod's retry after the card's restart): nothing to redo. */
static bool handed(struct zc_job *j) {
        return streq(strempty(str(zc_tenant(j->zc), "state")), "running");
}

static int ho_actions(struct zc_job *j) {
        if (handed(j))
                return 1;
        return qmp_step(j, "set-action", json_pack("{s:s,s:s}", "reboot", "shutdown", "shutdown", "pause"), false);
}

static const char *state_volume_id(struct zc *zc) {
        return strempty(json_string_value(zc_store_host(zc->store, "state_volume")));
}

/* The state volume's disk switched to a node that fails every I/O at once (present.c): the
 * tenant's kernel, probing the disk at its boot, gets its errors at once rather than after the
 * NBD client's reconnect-delay. Tolerant: a disk without the raw node (hot-plugged rather than
 * on the command line) keeps its NBD node, and ho_cut's unexport still cuts it, slowly. */
static int ho_cut_add(struct zc_job *j) {
        if (handed(j))
                return 1;
        return qmp_step(j, "blockdev-add", zc_state_volume_cut(j->zc, state_volume_id(j->zc)), true);
}

static int ho_cut_swap(struct zc_job *j) {
        if (handed(j))
                return 1;
        return qmp_step(j, "blockdev-reopen",
                        json_pack("{s:[o]}", "options", zc_state_volume_reopen(state_volume_id(j->zc), true)), true);
}

static int ho_cut_drop(struct zc_job *j) {
        if (handed(j))
                return 1;
        return qmp_step(j, "blockdev-del", zc_state_volume_node(state_volume_id(j->zc), false), true);
}

static int ho_cut(struct zc_job *j) {
        struct zc_volume_desc d;
        int r;

        if (handed(j))
                return 1;
        r = state_volume_desc(j->zc, &d, &j->err);

        if (r < 0)
                return r;
        r = j->zc->driver->ops.volume_unexport(j->zc->card, &d.v, resumed(j) ? on_engine_any : on_engine_done, j,
                                               &j->err);
        return r < 0 ? r : 0;
}

/* A floating one-shot timer: the loop owns it (disabled once it fired). Only while the tenant
 * runs: a take-back begun within the second (a reset as soon as the card held the host) has its
 * own "link up" step, which a link cut after it would undo, and the host's image would boot with
 * no way to the card (lab_bms_faults' reset at "ho" did, at load 14). */
static int on_link_off(sd_event_source *s, uint64_t usec, void *userdata) {
        struct zc *zc = userdata;

        if (zc_tenant(zc) && streq(strempty(str(zc_tenant(zc), "state")), "running") && zc_host_qmp_ready(zc))
                (void) zc_host_qmp_send(zc, "set_link", json_pack("{s:s,s:b}", "name", MGMT_NETDEV, "up", false), NULL,
                                        NULL);
        return 0;
}

static int ho_running(struct zc_job *j) {
        struct zc *zc = j->zc;
        int r = 0;

        if (!streq(strempty(str(zc_tenant(zc), "state")), "running"))
                r = tenant_set(zc, "state", json_string("running"), &j->err);
        if (r < 0)
                return r;
        /* The answer reaches zerod first (its kexec follows it); then the link goes. Not for a
         * hand-over resumed after the card's restart: nobody got its answer, and zerod asks
         * again over the link (agent/handover.c), whose answer then takes the link down. Until
         * zerod's exec no tenant runs, so the link up exposes nothing. */
        if (!resumed(j))
                (void) sd_event_add_time_relative(zc->event, NULL, CLOCK_MONOTONIC, LINK_OFF_DELAY_USEC, 10000,
                                                  on_link_off, zc);
        log_info("The host is the tenant's: %s", strempty(str(zc_tenant(zc), "name")));
        zc_job_result(j, json_deep_copy(zc_tenant(zc)));
        return 1;
}

static const zc_step_fn handover_steps[] = {ho_record,   ho_actions, ho_cut_add, ho_cut_swap,
                                            ho_cut_drop, ho_cut,     ho_running, NULL};

int zc_tenant_handover(struct zc *zc, json_t *body, struct zc_job **ret, struct zero_error *err) {
        if (!json_is_object(body))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "a hand-over takes a JSON object");
        return zc_job_submit(zc, "host", "host", "hand-over", handover_steps, json_incref(body), ret);
}

/* ---- take-back ---- */

struct stopping {
        struct zc_job *job; /* the stop's job, waiting for the guest's power-off */
        sd_event_source *press, *deadline;
};

static struct stopping stopping; /* one host, one stop at a time (the host's jobs are in order) */

static void stopping_end(void) {
        stopping.press = sd_event_source_disable_unref(stopping.press);
        stopping.deadline = sd_event_source_disable_unref(stopping.deadline);
        stopping.job = NULL;
}

/* The take-back's operation (a stop or switch asked of the card) notes when a step of it ended:
 * key "off_us" (the tenant is off: its power-off, or the deadline), "ended_us" (the host boots
 * its image). Realtime µs, the operation's steps' times (zc_tenant_operation_json). */
static int take_back_mark(struct zc *zc, const char *key, struct zero_error *err) {
        json_t *tb = json_deep_copy(json_object_get(zc_tenant(zc), "take_back"));

        if (!tb || json_object_get(tb, key)) {
                json_decref(tb);
                return 0;
        }
        json_object_set_new(tb, key, json_integer((json_int_t) zero_now_usec()));
        return tenant_set(zc, "take_back", tb, err);
}

static int tb_begin(struct zc_job *j) {
        struct zc *zc = j->zc;
        json_t *t = zc_tenant(zc);
        int code = atoi(j->text[0] ? j->text : "0"), r = 0;

        if (!t)
                return zc_job_skip_rest(j); /* taken back already */
        if (!streq(strempty(str(t, "state")), "taking_back")) {
                log_info("Taking the host back from %s (exit code %d)", strempty(str(t, "name")), code);
                /* t is replaced by each change: not read after it */
                r = tenant_set(zc, "exit_code", json_integer(code), &j->err);
                if (r >= 0)
                        r = take_back_mark(zc, "off_us", &j->err);
                if (r >= 0)
                        r = tenant_set(zc, "state", json_string("taking_back"), &j->err);
        }
        return zc_step_next(r);
}

static int tb_export(struct zc_job *j) {
        struct zc_volume_desc d;
        int r = state_volume_desc(j->zc, &d, &j->err);

        if (r < 0)
                return r;
        r = j->zc->driver->ops.volume_export(j->zc->card, &d.v, ZERO_CARD_EXPORT_NBD,
                                             resumed(j) ? on_engine_any : on_engine_done, j, &j->err);
        return r < 0 ? r : 0;
}

/* Before anything of the host comes back: a tenant still running (a forced take-back, a reset)
 * stops here, and the reset below starts the host's image from a paused machine. */
static int tb_pause(struct zc_job *j) {
        return qmp_step(j, "stop", NULL, true);
}

/* A new NBD node under the state volume's disk, connected now: QEMU's client of a server that
 * was gone for the tenant's whole run would reconnect on its backoff, up to 16 s. */
static int tb_attach_add(struct zc_job *j) {
        return qmp_step(j, "blockdev-add", zc_state_volume_nbd(j->zc, state_volume_id(j->zc)), true);
}

static int tb_attach_swap(struct zc_job *j) {
        return qmp_step(j, "blockdev-reopen",
                        json_pack("{s:[o]}", "options", zc_state_volume_reopen(state_volume_id(j->zc), false)), true);
}

static int tb_attach_drop(struct zc_job *j) {
        return qmp_step(j, "blockdev-del", zc_state_volume_node(state_volume_id(j->zc), true), true);
}

static int tb_link(struct zc_job *j) {
        return qmp_step(j, "set_link", json_pack("{s:s,s:b}", "name", MGMT_NETDEV, "up", true), true);
}

static int tb_actions(struct zc_job *j) {
        return qmp_step(j, "set-action", json_pack("{s:s,s:s}", "reboot", "reset", "shutdown", "poweroff"), true);
}

static int tb_reset(struct zc_job *j) {
        return qmp_step(j, "system_reset", NULL, true);
}

/* A guest paused by its power-off stays paused after the reset (QEMU's "prelaunch"). */
static int tb_cont(struct zc_job *j) {
        return qmp_step(j, "cont", NULL, true);
}

static int tb_end(struct zc_job *j) {
        struct zc *zc = j->zc;
        json_t *last = json_deep_copy(zc_tenant(zc));
        int r;

        if (!last)
                return 1;
        if (json_is_object(json_object_get(last, "take_back")))
                json_object_set_new(json_object_get(last, "take_back"), "ended_us",
                                    json_integer((json_int_t) zero_now_usec()));
        json_object_set_new(last, "state", json_string("ended"));
        json_object_set_new(last, "ended", json_integer((json_int_t) time(NULL)));
        log_info("The host is back from %s: it boots its image", strempty(str(last, "name")));
        zc_job_result(j, json_incref(last));
        r = zc_store_set_host(zc->store, "tenant_last", last, &j->err);
        if (r >= 0)
                r = zc_store_set_host(zc->store, "tenant", json_null(), &j->err);
        return zc_step_next(r);
}

static int on_press(sd_event_source *s, uint64_t usec, void *userdata) {
        struct zc *zc = userdata;

        if (zc_host_qmp_ready(zc))
                (void) zc_host_qmp_send(zc, "system_powerdown", NULL, NULL, NULL);
        (void) sd_event_source_set_time_relative(s, PRESS_EVERY_USEC);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ON);
        return 0;
}

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata) {
        struct zc_job *j = stopping.job;

        if (!j)
                return 0;
        log_info("The tenant did not power off in time: the host is taken back by force");
        snprintf(j->text, sizeof(j->text), "%d", EXIT_FORCED);
        stopping_end();
        zc_job_next(j, 0, NULL);
        return 0;
}

static int stop_press(struct zc_job *j) {
        struct zc *zc = j->zc;
        json_t *t = zc_tenant(zc);
        json_int_t timeout = json_integer_value(json_object_get(j->args, "timeout_s"));
        int r;

        if (!t)
                return zc_job_skip_rest(j);
        if (json_is_true(json_object_get(j->args, "force")) || timeout < 0) {
                snprintf(j->text, sizeof(j->text), "%d", EXIT_FORCED);
                return 1;
        }
        stopping_end();
        stopping.job = j;
        snprintf(j->text, sizeof(j->text), "%d", EXIT_STOPPED);
        r = sd_event_add_time_relative(zc->event, &stopping.press, CLOCK_MONOTONIC, 0, 10000, on_press, zc);
        if (r >= 0)
                r = sd_event_add_time_relative(zc->event, &stopping.deadline, CLOCK_MONOTONIC,
                                               (uint64_t) (timeout > 0 ? timeout : STOP_TIMEOUT_S_DEFAULT) * USEC_PER_SEC,
                                               10000, on_deadline, zc);
        if (r < 0) {
                stopping_end();
                return r;
        }
        return 0;
}

#define TAKEBACK_STEPS                                                                                           \
        tb_begin, tb_pause, tb_export, tb_attach_add, tb_attach_swap, tb_attach_drop, tb_link, tb_actions, tb_reset, \
                tb_cont, tb_end, NULL
static const zc_step_fn takeback_steps[] = {TAKEBACK_STEPS};
static const zc_step_fn stop_steps[] = {stop_press, TAKEBACK_STEPS};

static int takeback(struct zc *zc, int exit_code, struct zc_job **ret) {
        struct zc_job *j = NULL;
        int r = zc_job_submit(zc, "host", "host", "take-back", takeback_steps, NULL, &j);

        if (r >= 0)
                snprintf(j->text, sizeof(j->text), "%d", exit_code);
        if (ret)
                *ret = j;
        return r;
}

/* ---- the operation a stop or switch asked of the card is ---- */

static const char *take_back_op(json_t *rec) {
        return str(json_object_get(rec, "take_back"), "operation");
}

static json_t *step_json(const char *name, json_int_t from, json_int_t to) {
        return json_pack("{s:s,s:I}", "step", name, "duration_us", to > from ? to - from : 0);
}

/* The take-back's operation as zerod shows one (GET /v1/operations/ID), from its record tb: its
 * steps power_off (the button until the tenant is off), take_back (the host reset into its image)
 * and host_boot (until the host's zerod records the end: zerod's). */
static json_t *take_back_op_json(json_t *tb, const char *name, const char *step) {
        json_int_t created = json_integer_value(json_object_get(tb, "created_us"));
        json_int_t off = json_integer_value(json_object_get(tb, "off_us"));
        json_int_t ended = json_integer_value(json_object_get(tb, "ended_us"));
        json_t *steps = json_array();
        char at[32];

        if (off)
                json_array_append_new(steps, step_json("power_off", created, off));
        if (off && ended)
                json_array_append_new(steps, step_json("take_back", off, ended));
        return json_pack("{s:s,s:s,s:s,s:s,s:I,s:s,s:o,s:n,s:s,s:n,s:s?,s:s}", "id", strempty(str(tb, "operation")),
                         "kind", strempty(str(tb, "kind")), "instance", name, "status", "running", "step_index",
                         (json_int_t) json_array_size(steps), "step", step, "steps", steps, "error", "created_at",
                         zero_format_time((uint64_t) created, at), "finished_at", "actor", str(tb, "actor"),
                         "answered_by", "card");
}

json_t *zc_tenant_operation_json(struct zc *zc, const char *id) {
        json_t *t = zc_tenant(zc), *last = zc_store_host(zc->store, "tenant_last");

        if (!id)
                return NULL;
        if (t && streq(strempty(take_back_op(t)), id))
                return take_back_op_json(json_object_get(t, "take_back"), strempty(str(t, "name")),
                                         streq(strempty(str(t, "state")), "taking_back") ? "take_back" : "power_off");
        /* The hand-over's own operation (zerod's create, start or switch): at its handover step
         * until zerod is back. */
        if (t && streq(strempty(str(t, "operation")), id))
                return json_pack("{s:s,s:s,s:s,s:s,s:[],s:n,s:n,s:s}", "id", id, "instance", strempty(str(t, "name")),
                                 "status", "running", "step", "handover", "steps", "error", "finished_at",
                                 "answered_by", "card");
        if (json_is_object(last) && streq(strempty(take_back_op(last)), id))
                return take_back_op_json(json_object_get(last, "take_back"), strempty(str(last, "name")), "host_boot");
        return NULL;
}

static int stop_submit(struct zc *zc, json_t *body, const char *what, struct zc_job **ret) {
        json_t *t = json_object_get(body, "timeout_s");

        return zc_job_submit(zc, "host", "host", what, stop_steps,
                             json_pack("{s:I,s:b}", "timeout_s", (json_int_t) (t ? json_integer_value(t) : 0), "force",
                                       json_is_true(json_object_get(body, "force"))),
                             ret);
}

static int timeout_check(json_t *body, struct zero_error *err) {
        json_t *t = json_object_get(body, "timeout_s");

        if (t && (!json_is_integer(t) || json_integer_value(t) < 1 || json_integer_value(t) > 3600))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "timeout_s must be 1 to 3600 seconds");
        return 0;
}

int zc_tenant_powerdown(struct zc *zc, json_t *body, struct zc_job **ret, struct zero_error *err) {
        json_auto_t *b = body;
        int r;

        if (!zc_tenant(zc))
                return zero_error_set(err, -ENOENT, ZERO_E_WRONG_STATE, "no tenant holds the host");
        r = timeout_check(b, err);
        return r < 0 ? r : stop_submit(zc, b, "power button", ret);
}

int zc_tenant_stop(struct zc *zc, json_t *body, const char *mode, const char *actor, json_t **ret_op,
                   struct zc_job **ret_job, struct zero_error *err) {
        json_t *tenant = zc_tenant(zc), *tb;
        const char *kind = mode ? "switch" : "stop";
        char id[33];
        int r;

        if (!tenant)
                return zero_error_set(err, -ENOENT, ZERO_E_WRONG_STATE, "no tenant holds the host");
        if (take_back_op(tenant))
                return zero_error_set(err, -EBUSY, ZERO_E_CONFLICT, "a %s of '%s' is in progress (operation %s)",
                                      strempty(str(json_object_get(tenant, "take_back"), "kind")),
                                      strempty(str(tenant, "name")), take_back_op(tenant));
        if (streq(strempty(str(tenant, "state")), "taking_back"))
                return zero_error_set(err, -EBUSY, ZERO_E_CONFLICT, "the host is being taken back from '%s' already",
                                      strempty(str(tenant, "name")));
        if (!streq(strempty(str(tenant, "state")), "running"))
                return zero_error_set(err, -EBUSY, ZERO_E_CONFLICT, "the host is being handed to '%s': ask again",
                                      strempty(str(tenant, "name")));
        r = timeout_check(body, err);
        if (r < 0)
                return r;
        r = zero_random_id(id);
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_INTERNAL, "no random bytes for an operation id");
        /* Recorded before the job: the take-back carries it to "last", which zerod reads. */
        tb = json_pack("{s:s,s:s,s:s?,s:s?,s:I}", "operation", id, "kind", kind, "mode", mode, "actor", actor,
                       "created_us", (json_int_t) zero_now_usec());
        r = tb ? tenant_set(zc, "take_back", tb, err) : -ENOMEM;
        if (r >= 0 && mode)
                r = tenant_set(zc, "switch", json_string(mode), err);
        if (r >= 0)
                r = stop_submit(zc, body, kind, ret_job);
        if (r < 0) {
                /* Nothing under way: the record goes, or a stop asked again would be refused. */
                struct zero_error ignore = {};
                (void) tenant_set(zc, "take_back", json_null(), &ignore);
                (void) tenant_set(zc, "switch", json_null(), &ignore);
                return zero_error_default(err, r, "the card");
        }
        log_info("The %s of bms instance %s asked by %s: operation %s", kind, strempty(str(zc_tenant(zc), "name")),
                 strempty(actor), id);
        *ret_op = zc_tenant_operation_json(zc, id);
        return *ret_op ? 0 : -ENOMEM;
}

/* ---- the card's restart ---- */

/* A resumed job's first step: the adopted host's QMP, which connects after the card's start. */
#define RESUME_QMP_TRIES 600
#define RESUME_QMP_EVERY_USEC (100ULL * 1000ULL)

static int resume_wait_qmp(struct zc_job *j) {
        if (zc_host_qmp_ready(j->zc))
                return 1;
        if (++j->tries > RESUME_QMP_TRIES)
                return zero_error_set(&j->err, -ETIMEDOUT, ZERO_E_UNAVAILABLE,
                                      "the host's QEMU does not answer the restarted card");
        return zc_job_again_in(j, RESUME_QMP_EVERY_USEC);
}

static const zc_step_fn handover_resume_steps[] = {resume_wait_qmp, ho_record,   ho_actions, ho_cut_add, ho_cut_swap,
                                                   ho_cut_drop,     ho_cut,      ho_running, NULL};
static const zc_step_fn takeback_resume_steps[] = {resume_wait_qmp, TAKEBACK_STEPS};
static const zc_step_fn stop_resume_steps[] = {resume_wait_qmp, stop_press, TAKEBACK_STEPS};

void zc_tenant_resume(struct zc *zc) {
        json_t *t = zc_tenant(zc), *args;
        const char *state = str(t, "state");
        struct zc_job *j = NULL;
        int r;

        if (!t)
                return;
        args = json_pack("{s:s?,s:s?,s:s?,s:O?,s:O?,s:b}", "operation", str(t, "operation"), "instance",
                         str(t, "instance"), "name", str(t, "name"), "volumes", json_object_get(t, "volumes"), "nics",
                         json_object_get(t, "nics"), "resumed", true);
        if (streq(strempty(state), "handing_over")) {
                log_info("The card restarted during the hand-over to %s: resumed", strempty(str(t, "name")));
                r = zc_job_submit(zc, "host", "host", "hand-over (resumed)", handover_resume_steps, args, &j);
        } else if (streq(strempty(state), "taking_back")) {
                log_info("The card restarted during the take-back from %s: resumed", strempty(str(t, "name")));
                r = zc_job_submit(zc, "host", "host", "take-back (resumed)", takeback_resume_steps, args, &j);
                if (r >= 0)
                        snprintf(j->text, sizeof(j->text), "%lld",
                                 (long long) json_integer_value(json_object_get(t, "exit_code")));
        } else if (take_back_op(t)) {
                /* A stop or switch asked of the card that never got the tenant off. */
                log_info("The card restarted during the %s of %s (operation %s): resumed",
                         strempty(str(json_object_get(t, "take_back"), "kind")), strempty(str(t, "name")),
                         take_back_op(t));
                r = zc_job_submit(zc, "host", "host", "stop (resumed)", stop_resume_steps, args, &j);
        } else {
                json_decref(args);
                return;
        }
        if (r < 0)
                log_error("Cannot resume the tenant's job after the card's restart: %s", strerror(-r));
}

int zc_tenant_reset(struct zc *zc, struct zc_job **ret) {
        return takeback(zc, EXIT_FORCED, ret);
}

void zc_tenant_event(struct zc *zc, const char *name, json_t *data) {
        json_t *t = zc_tenant(zc);

        if (!t || !streq(name, "SHUTDOWN"))
                return;
        if (stopping.job) {
                struct zc_job *j = stopping.job;
                log_info("The tenant powered off after its power button");
                stopping_end();
                return zc_job_next(j, 0, NULL);
        }
        if (streq(strempty(str(t, "state")), "taking_back"))
                return; /* the take-back's own reset */
        log_info("The tenant ended by itself (%s): the host is taken back",
                 strempty(json_string_value(json_object_get(data, "reason"))));
        (void) takeback(zc, 0, NULL);
}
