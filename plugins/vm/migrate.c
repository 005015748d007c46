/* SPDX-License-Identifier: Apache-2.0 */
/* Live migration over QMP (migrate.h). */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "common/util.h"
#include "plugins/vm/cmdline.h"
#include "plugins/vm/instance.h"
#include "plugins/vm/migrate.h"
#include "plugins/vm/monitor.h"

/* QEMU sets a completed migration's times a moment after its status says so: query again. */
#define FINAL_RETRY_USEC (2ULL * 1000ULL)
#define FINAL_TRIES 50

#define svc() vm_mon_services()

struct job;

/* A VM's migration as the plugin knows it, kept on its ctx (instance.h). */
struct vm_mig {
        struct zero_plugin_ctx *ctx;
        enum zero_migrate_phase done_phase; /* found done: asked again, it answers 0 at once */
        char uri[160];                      /* LISTEN: where the target listens */
        bool sent;                          /* a SEND's migrate was answered (since zerod started) */
        bool at_switchover;                 /* SEND ended at pre-switchover: SWITCHOVER continues at once */
        struct job *job;                    /* the phase under way, or NULL */
};

struct job {
        struct vm_mig *m; /* NULL once the job ended */
        struct zero_plugin_ctx *ctx;
        struct vm_mon *mon;
        enum zero_migrate_phase phase;
        /* Replies still owed: an ended job lives on until the last (job_reply). */
        unsigned n_pending;
        bool querying;       /* a query is out: the poll sends no second one */
        bool started;        /* SEND: migrate sent; LISTEN: migrate-incoming sent */
        bool checking;       /* SEND: the devices are being checked (qom-list) */
        bool sent;           /* SEND: migrate answered: what query-migrate says is of this migration */
        bool continued;      /* SWITCHOVER: migrate-continue sent */
        bool finishing;      /* SWITCHOVER: completed, the final query-migrate sent (once) */
        bool cancel_sent;    /* CANCEL: migrate_cancel sent */
        bool cont_sent;      /* RECEIVE: the held guest's cont sent */
        uint32_t flags;      /* ZERO_MIGRATE_* (plugin.h) */
        unsigned final_tries;
        uint64_t connect_deadline; /* LISTEN: QEMU makes its QMP socket a moment after its exec */
        sd_event_source *poll;
        char uri[160];       /* SEND: the target's address; LISTEN: where to listen */
        char host[128];      /* LISTEN: the host part, for the address reported */
        uint64_t downtime_ms, bandwidth;
        char **check_ids;    /* SEND: the ports the target's command line gives the devices */
};

static struct vm_mig *mig_get(struct zero_plugin_ctx *ctx, bool create) {
        struct vm_inst *i = vm_inst_get(svc(), ctx, create);

        if (!i)
                return NULL;
        if (!i->mig && create) {
                i->mig = calloc(1, sizeof(*i->mig));
                if (i->mig)
                        i->mig->ctx = ctx;
        }
        return i->mig;
}

static void job_destroy(struct job *j) {
        strv_free(j->check_ids);
        free(j);
}

/* Off its VM, the poll stopped; freed now or by its last reply. */
static void job_detach(struct job *j) {
        if (j->m && j->m->job == j)
                j->m->job = NULL;
        j->m = NULL;
        j->poll = sd_event_source_disable_unref(j->poll);
        if (j->n_pending == 0)
                job_destroy(j);
}

/* At the top of every reply: false when the job has ended (it touches nothing then). */
static bool job_reply(struct job *j) {
        j->n_pending--;
        if (j->m)
                return true;
        if (j->n_pending == 0)
                job_destroy(j);
        return false;
}

static void job_end(struct job *j, int r, const struct zero_error *err) {
        struct zero_plugin_ctx *ctx = j->ctx;

        if (!j->m)
                return;
        if (r >= 0)
                j->m->done_phase = j->phase;
        else
                svc()->log(ctx, LOG_WARNING, "vm: migration: %s", err ? err->message : strerror(-r));
        job_detach(j);
        svc()->done(ctx, r, err);
}

static void job_fail(struct job *j, int r, enum zero_errc code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void job_fail(struct job *j, int r, enum zero_errc code, const char *fmt, ...) {
        struct zero_error err = {};
        va_list ap;

        va_start(ap, fmt);
        (void) zero_error_setv(&err, r, code, fmt, ap);
        va_end(ap);
        job_end(j, r, &err);
}

static int job_send(struct job *j, const char *execute, json_t *args, zero_qmp_reply_fn cb) {
        int r = vm_mon_command(j->mon, execute, args, cb, j);

        if (r >= 0)
                j->n_pending++;
        else
                job_fail(j, r, ZERO_E_RUNTIME, "cannot talk to QEMU (%s): %s", execute, strerror(-r));
        return r;
}

void vm_migrate_release(struct zero_plugin_ctx *ctx) {
        struct vm_inst *i = vm_inst_get(svc(), ctx, false);

        if (!i || !i->mig)
                return;
        if (i->mig->job)
                job_detach(i->mig->job);
        free(i->mig);
        i->mig = NULL;
}

/* --- what QEMU says --- */

static uint64_t num(json_t *o, const char *key) {
        json_int_t v = json_integer_value(json_object_get(o, key));
        return v > 0 ? (uint64_t) v : 0;
}

static void report(struct job *j, json_t *info, const char *uri) {
        json_t *ram = json_object_get(info, "ram");
        struct zero_migrate_stats st = {
                .size = sizeof(st),
                .status = json_string_value(json_object_get(info, "status")),
                .uri = uri,
                .ram_total_bytes = num(ram, "total"),
                .ram_transferred_bytes = num(ram, "transferred"),
                .ram_remaining_bytes = num(ram, "remaining"),
                .dirty_rate_bytes = num(ram, "dirty-pages-rate") * (num(ram, "page-size") ?: 4096),
                .throughput_bytes = (uint64_t) (json_number_value(json_object_get(ram, "mbps")) * 1e6 / 8),
                .expected_downtime_ms = num(info, "expected-downtime"),
                .iterations = num(ram, "dirty-sync-count"),
                .cpu_throttle_percent = (unsigned) num(info, "cpu-throttle-percentage"),
                .downtime_ms = num(info, "downtime"),
                .total_ms = num(info, "total-time"),
                .setup_ms = num(info, "setup-time"),
        };

        if (ZERO_SERVICE_HAS(svc(), migrate_progress))
                svc()->migrate_progress(j->ctx, &st);
}

static bool status_is(const char *s, const char *const *set) {
        for (; *set; set++)
                if (streq(s, *set))
                        return true;
        return false;
}

static const char *const under_way[] = {"setup", "active", "pre-switchover", "device", "wait-unplug", "postcopy-active",
                                         "cancelling", NULL};

static void query(struct job *j);
static void on_query(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata);

/* A setting (capabilities, parameters): only its refusal matters. */
static void on_ack(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata) {
        struct job *j = userdata;

        if (!job_reply(j))
                return;
        if (r < 0)
                job_fail(j, r, ZERO_E_RUNTIME, "QEMU refused a migration setting: %s", err->message);
}

/* A command that moves the migration on: where it stands now. */
static void on_simple(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata) {
        struct job *j = userdata;

        if (!job_reply(j))
                return;
        if (r < 0)
                return job_fail(j, r, ZERO_E_RUNTIME, "QEMU refused a migration command: %s", err->message);
        query(j);
}

/* SEND: QEMU took the migrate command. QMP answers in order: every query sent before it has been
 * answered, and the next one is about this migration. */
static void on_migrate(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata) {
        struct job *j = userdata;

        if (j->m)
                j->sent = j->m->sent = r >= 0;
        on_simple(q, r, v, err, userdata);
}

/* SEND: the capabilities and parameters, then migrate. */
static void send_start(struct job *j) {
        const char *mf = svc()->config_get("vm", "migrate_multifd_channels");
        const char *ac = svc()->config_get("vm", "migrate_auto_converge");
        long channels = mf && *mf ? strtol(mf, NULL, 10) : 0;
        json_t *caps = json_pack("[{s:s,s:b},{s:s,s:b},{s:s,s:b},{s:s,s:b},{s:s,s:b}]", "capability", "events", "state",
                                 1, "capability", "pause-before-switchover", "state", 1, "capability", "return-path",
                                 "state", 1, "capability", "auto-converge", "state", !(ac && streq(ac, "false")),
                                 "capability", "multifd", "state", channels > 0);
        json_t *params = json_pack("{s:I,s:I}", "downtime-limit", (json_int_t) j->downtime_ms, "max-bandwidth",
                                   (json_int_t) j->bandwidth);

        if (params && channels > 0)
                json_object_set_new(params, "multifd-channels", json_integer(channels));
        j->started = true;
        if (job_send(j, "migrate-set-capabilities", json_pack("{s:o}", "capabilities", caps), on_ack) < 0 ||
            job_send(j, "migrate-set-parameters", params, on_ack) < 0)
                return;
        (void) job_send(j, "migrate", json_pack("{s:s}", "uri", j->uri), on_migrate);
}

/* SEND: every device on the port the target's command line gives it (one that was hot-plugged
 * sits on a spare port here, and the target could not load its state). */
static void on_devices(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata) {
        struct job *j = userdata;

        if (!job_reply(j))
                return;
        if (r < 0)
                return job_fail(j, r, ZERO_E_RUNTIME, "cannot list the VM's devices: %s", err->message);
        for (char **id = j->check_ids; id && *id; id++) {
                bool found = false;
                size_t i;
                json_t *e;

                json_array_foreach(v, i, e) {
                        if (streq(strempty(json_string_value(json_object_get(e, "name"))), *id))
                                found = true;
                }
                if (!found)
                        return job_fail(j, -EOPNOTSUPP, ZERO_E_WRONG_STATE,
                                        "the VM has a device hot-plugged since it started (no %s): restart it, then "
                                        "migrate it", *id);
        }
        send_start(j);
}

static void on_cont(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata) {
        struct job *j = userdata;

        if (!job_reply(j))
                return;
        if (r < 0)
                return job_fail(j, r, ZERO_E_RUNTIME, "QEMU does not run the guest again (cont): %s", err->message);
        job_end(j, 0, NULL);
}

/* CANCEL, once the migration is over: the guest runs here. */
static void on_cancel_status(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata) {
        struct job *j = userdata;
        const char *s = json_string_value(json_object_get(v, "status"));

        if (!job_reply(j))
                return;
        if (r < 0 || !s)
                return job_fail(j, r < 0 ? r : -EPROTO, ZERO_E_RUNTIME, "query-status failed: %s",
                                r < 0 ? err->message : "no status");
        if (streq(s, "running"))
                return job_end(j, 0, NULL);
        (void) job_send(j, "cont", NULL, on_cont);
}

static void on_receive_status(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata);

static void on_announced(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata) {
        struct job *j = userdata;

        if (!job_reply(j))
                return;
        /* QEMU announced it by itself as it started the guest: this is a second series at once. */
        if (r < 0)
                svc()->log(j->ctx, LOG_WARNING, "vm: announce-self: %s", err->message);
        job_end(j, 0, NULL);
}

static void on_receive_cont(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata) {
        struct job *j = userdata;

        if (!job_reply(j))
                return;
        if (r < 0)
                return job_fail(j, r, ZERO_E_RUNTIME, "QEMU does not run the guest it received (cont): %s",
                                err->message);
        j->querying = true;
        (void) job_send(j, "query-status", NULL, on_receive_status);
}

/* RECEIVE: the target's QEMU holds the guest once the migration completed (-S: paused); cont
 * runs it (the agent calls RECEIVE once its card took the volumes). */
static void on_receive_status(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata) {
        struct job *j = userdata;
        const char *s = json_string_value(json_object_get(v, "status"));

        j->querying = false;
        if (!job_reply(j))
                return;
        if (r < 0 || !s)
                return job_fail(j, r < 0 ? r : -EPROTO, ZERO_E_RUNTIME, "query-status failed: %s",
                                r < 0 ? err->message : "no status");
        if (streq(s, "paused") && !j->cont_sent) {
                j->cont_sent = j->querying = true; /* the poll waits for cont's answer */
                (void) job_send(j, "cont", NULL, on_receive_cont);
                return;
        }
        if (!streq(s, "running"))
                return; /* inmigrate: the poll asks again */
        (void) job_send(j, "announce-self",
                        json_pack("{s:i,s:i,s:i,s:i}", "initial", 50, "max", 550, "rounds", 5, "step", 100),
                        on_announced);
}

static void on_incoming(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata) {
        struct job *j = userdata;

        if (!job_reply(j))
                return;
        if (r < 0)
                return job_fail(j, r, ZERO_E_RUNTIME, "QEMU cannot listen at %s: %s", j->uri, err->message);
        query(j);
}

/* LISTEN: the capabilities that must match the source's, then migrate-incoming. */
static void listen_start(struct job *j) {
        const char *mf = svc()->config_get("vm", "migrate_multifd_channels");
        long channels = mf && *mf ? strtol(mf, NULL, 10) : 0;
        json_t *caps = json_pack("[{s:s,s:b},{s:s,s:b},{s:s,s:b}]", "capability", "events", "state", 1, "capability",
                                 "return-path", "state", 1, "capability", "multifd", "state", channels > 0);

        j->started = true;
        if (job_send(j, "migrate-set-capabilities", json_pack("{s:o}", "capabilities", caps), on_ack) < 0)
                return;
        if (channels > 0 &&
            job_send(j, "migrate-set-parameters", json_pack("{s:i}", "multifd-channels", (int) channels), on_ack) < 0)
                return;
        (void) job_send(j, "migrate-incoming", json_pack("{s:s}", "uri", j->uri), on_incoming);
}

static void on_final(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata);

static int on_final_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        struct job *j = userdata;

        j->poll = sd_event_source_disable_unref(j->poll);
        (void) job_send(j, "query-migrate", NULL, on_final);
        return 0;
}

/* SWITCHOVER, completed: QEMU's downtime and total time, once it has set them. */
static void on_final(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata) {
        struct job *j = userdata;

        if (!job_reply(j))
                return;
        /* The retry takes the poll's place: a poll left armed beside it would outlive the job (it
         * fired on freed memory once the job ended: zerod's segmentation faults after a switchover). */
        j->poll = sd_event_source_disable_unref(j->poll);
        if (r >= 0 && num(v, "total-time") == 0 && ++j->final_tries < FINAL_TRIES &&
            sd_event_add_time_relative(svc()->event, &j->poll, CLOCK_MONOTONIC, FINAL_RETRY_USEC, 1, on_final_retry,
                                       j) >= 0)
                return;
        if (r >= 0)
                report(j, v, NULL);
        job_end(j, 0, NULL);
}

/* Where the migration stands, for the job's phase. */
static void step(struct job *j, json_t *info) {
        const char *s = json_string_value(json_object_get(info, "status"));
        const char *why = json_string_value(json_object_get(info, "error-desc"));
        bool going = s && status_is(s, under_way);

        if (!s)
                s = "none";
        switch (j->phase) {
        case ZERO_MIGRATE_SEND:
                /* Before migrate is answered the status is an earlier migration's: a guest that
                 * came here by one says "completed" until it leaves again. */
                if (j->started && !j->sent)
                        return;
                if (!j->started)
                        going = false;
                if (going && !streq(s, "cancelling"))
                        report(j, info, NULL);
                if (j->started && (streq(s, "pre-switchover") || streq(s, "completed"))) {
                        if (j->m)
                                j->m->at_switchover = streq(s, "pre-switchover");
                        return job_end(j, 0, NULL);
                }
                if (going)
                        return;
                if (j->started) /* failed, cancelled */
                        return job_fail(j, -EIO, ZERO_E_RUNTIME, "the migration %s: %s", s, why ? why : "QEMU said no more");
                if (!j->checking) /* once: the poll may ask again before it is answered */
                        (void) job_send(j, "qom-list", json_pack("{s:s}", "path", "/machine/peripheral"), on_devices);
                j->checking = true;
                return;
        case ZERO_MIGRATE_SWITCHOVER:
                if (streq(s, "completed")) {
                        if (!j->finishing) /* once: a poll may find it completed again meanwhile */
                                (void) job_send(j, "query-migrate", NULL, on_final);
                        j->finishing = true;
                        return;
                }
                if (streq(s, "pre-switchover") && !j->continued) {
                        j->continued = true;
                        (void) job_send(j, "migrate-continue", json_pack("{s:s}", "state", "pre-switchover"), on_simple);
                        return;
                }
                if (going)
                        return report(j, info, NULL);
                return job_fail(j, -EIO, ZERO_E_RUNTIME, "the migration %s at the switchover: %s", s,
                                why ? why : "QEMU said no more");
        case ZERO_MIGRATE_CANCEL:
                /* An incoming migration's "completed" (no times: they are the source's) of a guest
                 * that came here by one, and has not been sent since: nothing to cancel. */
                if (streq(s, "completed") && j->m && !j->m->sent && !json_object_get(info, "total-time"))
                        going = false;
                else if (streq(s, "completed") && (j->flags & ZERO_MIGRATE_CANCEL_COMPLETED))
                        going = false; /* the target never runs it (the agent knows): resumed here */
                else if (streq(s, "completed"))
                        return job_fail(j, -EALREADY, ZERO_E_WRONG_STATE,
                                        "the migration completed: the guest runs on the target");
                if (going && !j->cancel_sent && !streq(s, "cancelling")) {
                        j->cancel_sent = true;
                        (void) job_send(j, "migrate_cancel", NULL, on_simple);
                        return;
                }
                if (going)
                        return;
                (void) job_send(j, "query-status", NULL, on_cancel_status);
                return;
        case ZERO_MIGRATE_LISTEN: {
                json_t *a = json_array_get(json_object_get(info, "socket-address"), 0);
                const char *port = json_string_value(json_object_get(a, "port"));

                if (port && j->m) {
                        snprintf(j->m->uri, sizeof(j->m->uri), "tcp:%s:%s", j->host, port);
                        report(j, info, j->m->uri);
                        return job_end(j, 0, NULL);
                }
                if (streq(s, "failed"))
                        return job_fail(j, -EIO, ZERO_E_RUNTIME, "the incoming migration failed: %s",
                                        why ? why : "QEMU said no more");
                if (!j->started)
                        listen_start(j);
                return;
        }
        case ZERO_MIGRATE_RECEIVE:
                if (streq(s, "failed") || streq(s, "cancelled"))
                        return job_fail(j, -EIO, ZERO_E_RUNTIME, "the incoming migration %s: %s", s,
                                        why ? why : "QEMU said no more");
                j->querying = true;
                (void) job_send(j, "query-status", NULL, on_receive_status);
                return;
        }
}

static void on_query(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata) {
        struct job *j = userdata;

        if (j->phase != ZERO_MIGRATE_RECEIVE)
                j->querying = false;
        if (!job_reply(j))
                return;
        if (r < 0)
                return job_fail(j, r, ZERO_E_RUNTIME, "query-migrate failed: %s", err->message);
        step(j, v);
}

static void query(struct job *j) {
        if (j->querying || !j->m)
                return;
        j->querying = true;
        (void) job_send(j, "query-migrate", NULL, on_query);
}

static int on_poll(sd_event_source *s, uint64_t usec, void *userdata) {
        struct job *j = userdata;
        uint64_t next = VM_MIGRATE_POLL_USEC;

        j->n_pending++; /* held: what it sends or finds may end the job */
        if (j->connect_deadline) {
                int r = vm_mon_command(j->mon, "query-status", NULL, NULL, NULL); /* connects */

                if (r < 0 && zero_monotonic_usec() < j->connect_deadline) {
                        next = 1000; /* again in a millisecond: a failed connect is two syscalls */
                        goto again;
                }
                j->connect_deadline = 0;
                if (r < 0) {
                        job_fail(j, r, ZERO_E_RUNTIME, "QEMU did not open its QMP socket in time: %s", strerror(-r));
                        goto again;
                }
        }
        if (j->phase == ZERO_MIGRATE_RECEIVE && !j->querying) {
                j->querying = true;
                (void) job_send(j, "query-status", NULL, on_receive_status);
        } else if (j->phase != ZERO_MIGRATE_RECEIVE)
                query(j);
again:
        if (!job_reply(j))
                return 0; /* ended: the source went with it */
        (void) sd_event_source_set_time_relative(s, next);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ON);
        return 0;
}

void vm_migrate_event(struct zero_plugin_ctx *ctx, const char *name, json_t *data) {
        struct vm_mig *m = mig_get(ctx, false);
        const char *status = json_string_value(json_object_get(data, "status"));
        struct job *j = m ? m->job : NULL;

        if (!j)
                return;
        /* The pause before the switchover: SEND is done, said by the event itself (the guest is
         * paused from here: no query's round trip first). Its progress is the last poll's. */
        if (j->phase == ZERO_MIGRATE_SEND && j->sent && streq(name, "MIGRATION") && status &&
            streq(status, "pre-switchover")) {
                m->at_switchover = true;
                return job_end(j, 0, NULL);
        }
        /* The held guest received whole: whether it may run is query-status's (RECEIVE). */
        if (j->phase == ZERO_MIGRATE_RECEIVE && streq(name, "MIGRATION") && status && streq(status, "completed") &&
            !j->querying) {
                j->querying = true;
                (void) job_send(j, "query-status", NULL, on_receive_status);
                return;
        }
        /* A change of the migration's status (events capability), or the guest stopped (the
         * pause before the switchover) or running (the target): look now, not at the next poll. */
        if (streq(name, "MIGRATION") || streq(name, "STOP") || streq(name, "RESUME"))
                query(j);
}

/* --- entry points --- */

static char **check_ids(const struct zero_instance_info *info) {
        char **ids = calloc(info->n_volumes + info->n_nics + 1, sizeof(char *));
        char id[ZERO_VM_QEMU_ID_MAX];
        size_t k = 0;

        for (size_t i = 0; ids && i < info->n_volumes + info->n_nics; i++) {
                if (i < info->n_volumes) {
                        if (streq(strempty(info->volumes[i].personality), "virtio-scsi"))
                                continue; /* on the SCSI controller's bus, no port of its own */
                        zero_qemu_id(ZERO_VM_DISK_PORT, info->volumes[i].id, id);
                } else
                        zero_qemu_id(ZERO_VM_NIC_PORT, info->nics[i - info->n_volumes].id, id);
                if (!(ids[k++] = strdup(id))) {
                        strv_free(ids);
                        return NULL;
                }
        }
        return ids;
}

static int job_start(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, enum zero_migrate_phase phase,
                     const struct zero_migrate_args *args, struct zero_error *err) {
        _cleanup_free_ char *qmp = info && info->run_dir ? zero_strdup_printf("%s/qmp.sock", info->run_dir) : NULL;
        struct vm_mig *m = mig_get(ctx, true);
        struct job *j;
        int r;

        if (!qmp || !m)
                return -ENOMEM;
        if (m->done_phase == phase && m->job == NULL)
                return 0; /* found done: called again, as plugin.h says */
        if (m->job && m->job->phase == phase)
                return ZERO_PLUGIN_PENDING; /* under way already (a step run again) */
        if (m->job)
                job_detach(m->job); /* superseded (CANCEL during SEND): its done() is never called */
        m->done_phase = 0;
        j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        j->m = m;
        j->ctx = ctx;
        j->phase = phase;
        if (args && args->size >= offsetof(struct zero_migrate_args, bandwidth) + sizeof(args->bandwidth)) {
                snprintf(j->uri, sizeof(j->uri), "%s", strempty(args->uri));
                j->downtime_ms = args->downtime_ms ? args->downtime_ms : VM_MIGRATE_DOWNTIME_MS_DEFAULT;
                j->bandwidth = args->bandwidth ? args->bandwidth : VM_MIGRATE_BANDWIDTH_DEFAULT;
        }
        if (args && ZERO_ABI_HAS(args, struct zero_migrate_args, flags))
                j->flags = args->flags;
        if ((phase == ZERO_MIGRATE_SEND || phase == ZERO_MIGRATE_LISTEN) && strncmp(j->uri, "tcp:", 4) != 0) {
                job_destroy(j);
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "migration address '%s': expected tcp:HOST:PORT",
                                      j->uri);
        }
        if (phase == ZERO_MIGRATE_LISTEN) {
                const char *h = j->uri + 4, *colon = strrchr(h, ':');
                snprintf(j->host, sizeof(j->host), "%.*s", colon ? (int) (colon - h) : (int) strlen(h), h);
        }
        if (phase == ZERO_MIGRATE_SEND && !(j->check_ids = check_ids(info))) {
                job_destroy(j);
                return -ENOMEM;
        }
        r = vm_mon_get(ctx, qmp, &j->mon);
        /* The target's QEMU was just spawned: its socket comes a moment later (as at a boot). */
        if (r < 0 && (r == -ENOENT || r == -ECONNREFUSED || r == -EAGAIN) && phase == ZERO_MIGRATE_LISTEN) {
                j->mon = vm_mon_find(ctx);
                j->connect_deadline = zero_monotonic_usec() + VM_MON_BOOT_TIMEOUT_USEC;
                r = j->mon ? 0 : -ENOMEM;
        }
        if (r < 0) {
                job_destroy(j);
                return zero_error_set(err, r, ZERO_E_WRONG_STATE, "the VM's QEMU does not answer on %s: %s", qmp,
                                      strerror(-r));
        }
        m->job = j;
        /* Paused before the switchover (SEND ended there, in this process): migrate-continue at
         * once, the guest is paused until the target runs it. Not sent (QEMU gone): the poll
         * looks and says. */
        if (phase == ZERO_MIGRATE_SWITCHOVER && m->at_switchover &&
            vm_mon_command(j->mon, "migrate-continue", json_pack("{s:s}", "state", "pre-switchover"), on_simple, j) >= 0) {
                j->n_pending++;
                j->continued = true;
        }
        m->at_switchover = false;
        /* From here on the end comes through done(), from the loop (replies never come from
         * inside the call that sent them: io/qmp.h): the first look comes from the poll, on time
         * (an accuracy of 0 is sd-event's default slack of 250 ms: the switchover's first look,
         * with the guest paused, waited 0 to 250 ms for it, half of zerod's downtime). */
        r = sd_event_add_time_relative(svc()->event, &j->poll, CLOCK_MONOTONIC, 0, VM_MIGRATE_POLL_ACCURACY_USEC,
                                       on_poll, j);
        if (r >= 0)
                r = sd_event_source_set_enabled(j->poll, SD_EVENT_ON);
        if (r < 0) {
                job_detach(j);
                return zero_error_set(err, r, ZERO_E_INTERNAL, "cannot arm the migration's poll: %s", strerror(-r));
        }
        return ZERO_PLUGIN_PENDING;
}

int vm_migrate_out(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, enum zero_migrate_phase phase,
                   const struct zero_migrate_args *args, struct zero_error *err) {
        if (phase != ZERO_MIGRATE_SEND && phase != ZERO_MIGRATE_SWITCHOVER && phase != ZERO_MIGRATE_CANCEL)
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL, "migrate_out: phase %d is the target's", phase);
        return job_start(ctx, info, phase, args, err);
}

int vm_migrate_in(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, enum zero_migrate_phase phase,
                  const struct zero_migrate_args *args, struct zero_error *err) {
        if (phase != ZERO_MIGRATE_LISTEN && phase != ZERO_MIGRATE_RECEIVE)
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL, "migrate_in: phase %d is the source's", phase);
        return job_start(ctx, info, phase, args, err);
}
