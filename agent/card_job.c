/* SPDX-License-Identifier: Apache-2.0 */
/* The card's jobs: one at a time per object, in order, and everyone waiting for them (card_job.h). */
#include "agent/card_job.h"
#include "agent/card_job_rows.h"

#include <string.h>

#include "agent/card.h"
#include "agent/network_service.h"
#include "agent/volume_service.h"
#include "common/log.h"
#include "common/util.h"

struct waiter {
        zero_card_job_fn done; /* NULL: nobody (any more) */
        void *userdata;
};

struct zero_card_job {
        struct zero_agent *agent;
        struct zero_card_job *next;
        struct zero_card_job_req req; /* its strings are the job's */
        bool started;
        bool noop;   /* started: nothing for the driver to do, answered from the loop */
        bool remove; /* VOLUME, NETWORK: the object is removed (its state said deleting) */
        bool undoing; /* NETWORK: a refused make's leftovers are being removed (r, err: the refusal) */
        char *id;    /* VOLUME, NETWORK: the object's id when the job started */
        /* ATTACH, DETACH: the NIC as it was when asked for, so that a detach still finds it after
         * its row went (an attach that failed forgets the NIC at once). */
        struct zero_nic_row nic;
        struct zero_network_row net;
        char *actor; /* who asked first (agent.h): the events of its rows name them */
        struct waiter *waiters;
        size_t n_waiters;
        sd_event_source *defer; /* an answer from the agent's side: a noop, a refusal */
        int r;                           /* the agent's answer (job_answer_later()), a refusal being undone */
        struct zero_error err;
        char result[ZERO_CARD_PATH_MAX]; /* what the driver handed back: a path, a tap's name, a network's name */
};

enum object_type { OBJ_VOLUME, OBJ_NIC, OBJ_NETWORK };

static enum object_type object_type(enum zero_card_job_kind k) {
        switch (k) {
        case ZERO_CARD_JOB_ATTACH:
        case ZERO_CARD_JOB_DETACH:
                return OBJ_NIC;
        case ZERO_CARD_JOB_NETWORK:
                return OBJ_NETWORK;
        default:
                return OBJ_VOLUME;
        }
}

static const char *const kind_names_[_ZERO_CARD_JOB_KIND_MAX] = {
        [ZERO_CARD_JOB_VOLUME] = "volume",   [ZERO_CARD_JOB_EXPORT] = "export", [ZERO_CARD_JOB_UNEXPORT] = "unexport",
        [ZERO_CARD_JOB_RESIZE] = "resize",   [ZERO_CARD_JOB_QOS] = "QoS",       [ZERO_CARD_JOB_ATTACH] = "attach",
        [ZERO_CARD_JOB_DETACH] = "detach",   [ZERO_CARD_JOB_NETWORK] = "network", [ZERO_CARD_JOB_RELEASE] = "release",
        [ZERO_CARD_JOB_TAKE] = "take",
};

const char *zero_card_job_kind_name(enum zero_card_job_kind k) {
        return (unsigned) k < _ZERO_CARD_JOB_KIND_MAX ? kind_names_[k] : "job";
}

static bool same_object(const struct zero_card_job *j, enum zero_card_job_kind k, const char *object) {
        return object_type(j->req.kind) == object_type(k) && streq(j->req.object, object);
}

/* The same work: a request that may join j instead of queuing behind it. A job that started as a
 * noop decided on the state it found then, which a later request may not see any more. */
static bool same_work(const struct zero_card_job *j, const struct zero_card_job_req *q) {
        return j->req.kind == q->kind && !(j->started && j->noop) && streq(strempty(j->req.how), strempty(q->how)) &&
               streq(strempty(j->req.netns), strempty(q->netns)) && j->req.size == q->size && j->req.iops == q->iops &&
               j->req.bps == q->bps;
}

static struct zero_card_job *job_free(struct zero_card_job *j) {
        if (!j)
                return NULL;
        j->defer = sd_event_source_disable_unref(j->defer);
        free(j->waiters);
        free((char *) j->req.object);
        free((char *) j->req.how);
        free((char *) j->req.netns);
        free(j->id);
        free(j->actor);
        zero_nic_row_done(&j->nic);
        zero_network_row_done(&j->net);
        free(j);
        return NULL;
}

static int job_add_waiter(struct zero_card_job *j, zero_card_job_fn done, void *userdata) {
        struct waiter *w;

        if (!done)
                return 0;
        w = reallocarray(j->waiters, j->n_waiters + 1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        j->waiters = w;
        j->waiters[j->n_waiters++] = (struct waiter){done, userdata};
        return 0;
}

/* The rows once the driver is done (card_job_rows.c). */
static void job_rows(struct zero_card_job *j, int *r, struct zero_error *err) {
        const struct zero_card_job_end end = {&j->req, j->id, j->remove, j->result};

        if (!j->noop)
                zero_card_job_rows(j->agent, &end, r, err);
}

static void jobs_kick(struct zero_agent *a);

static void job_finish(struct zero_card_job *j, int r, const struct zero_error *e) {
        struct zero_agent *a = j->agent;
        struct zero_error err = e && r < 0 ? *e : (struct zero_error){};
        struct waiter *w = TAKE_PTR(j->waiters);
        size_t n = j->n_waiters;

        const char *saved = a->actor;

        if (r < 0)
                zero_error_default(&err, r, zero_card_job_kind_name(j->req.kind));
        /* The rows and what the waiters write (the next steps of an operation) are one commit. */
        zero_store_batch_begin(a->store);
        a->actor = j->actor;
        job_rows(j, &r, &err);
        a->actor = saved;
        if (r < 0)
                log_warning("The card's %s of %s failed: %s", zero_card_job_kind_name(j->req.kind), j->req.object, err.message);
        for (struct zero_card_job **p = &a->card_jobs; *p; p = &(*p)->next)
                if (*p == j) {
                        *p = j->next;
                        break;
                }
        job_free(j);
        /* Out of the list first: a waiter may ask for the next job on this object. */
        for (size_t i = 0; i < n; i++)
                if (w[i].done)
                        w[i].done(w[i].userdata, r, &err);
        free(w);
        jobs_kick(a);
        if ((r = zero_store_batch_end(a->store)) < 0)
                log_error_errno(r, "Failed to record the end of a card job: %m");
}

static int on_job_defer(sd_event_source *s, void *userdata) {
        struct zero_card_job *j = userdata;

        j->defer = sd_event_source_disable_unref(j->defer);
        job_finish(j, j->r, &j->err);
        return 0;
}

static int job_network_undo(struct zero_card_job *j, int r, const struct zero_error *err);

static void on_driver_done(void *userdata, int r, const struct zero_card_result *res, const struct zero_error *err) {
        struct zero_card_job *j = userdata;

        if (j->undoing) { /* what a refused make left is gone (or sync takes it): its error stands */
                j->undoing = false;
                return job_finish(j, j->r, &j->err);
        }
        if (r >= 0 && res && memchr(res->text, 0, sizeof(res->text)))
                snprintf(j->result, sizeof(j->result), "%s", res->text);
        if (r < 0 && j->req.kind == ZERO_CARD_JOB_NETWORK && !j->remove && job_network_undo(j, r, err) >= 0)
                return;
        job_finish(j, r, err);
}

/* The job's answer from the agent's side, from the loop: a noop (r = 0), a refusal. */
static int job_answer_later(struct zero_card_job *j, int r) {
        j->r = r;
        return sd_event_add_defer(j->agent->event, &j->defer, on_job_defer, j);
}

/* The volume the job is on, as the driver wants it; 0, or -ENOENT when it is gone. */
static int job_volume(struct zero_card_job *j, struct zero_volume_row *row, struct zero_card_vol *cv) {
        int r = zero_store_volume_get(j->agent->store, j->req.object, row);

        if (r >= 0)
                r = zero_card_vol_init(j->agent, row, cv);
        if (r < 0)
                return zero_error_set(&j->err, r, r == -ENOENT ? ZERO_E_NOT_FOUND : ZERO_E_UNAVAILABLE,
                                      "volume %s: %s", j->req.object, r == -ENOENT ? "it is gone" : strerror(-r));
        return 0;
}

/* The network the job is on, as the driver wants it (its strings in row); -ENOENT when gone. */
static int job_network(struct zero_card_job *j, struct zero_network_row *row, struct zero_card_network *ret) {
        int r = zero_store_network_get(j->agent->store, j->req.object, row);

        if (r < 0)
                return r == -ENOENT ? r
                                    : zero_error_set(&j->err, r, ZERO_E_UNAVAILABLE, "network %s: %s", j->req.object,
                                                     strerror(-r));
        *ret = zero_card_network_of(row);
        return 0;
}

/* A make the card refused takes back what it made of the network (a delete leaves other
 * networks' alone): the job ends with the make's error once that is done. < 0: it could not. */
static int job_network_undo(struct zero_card_job *j, int r, const struct zero_error *err) {
        struct zero_network_row row = {};
        struct zero_card_network cn;
        int k = job_network(j, &row, &cn);

        j->r = r;
        j->err = *err;
        if (k >= 0) {
                j->undoing = true;
                k = j->agent->card_driver->ops.network_delete(j->agent->card, &cn, on_driver_done, j,
                                                               &(struct zero_error){});
                if (k < 0)
                        j->undoing = false;
        }
        zero_network_row_done(&row);
        return k;
}

/* Starts the driver's op for the job: 0 when it is under way (the driver's done follows), else
 * the answer is the agent's, from the loop (a noop, a refusal). */
static int job_driver(struct zero_card_job *j) {
        struct zero_agent *a = j->agent;
        const struct zero_card_ops *ops = &a->card_driver->ops;
        struct zero_card *card = a->card;
        struct zero_volume_row row = {};
        struct zero_network_row net = {};
        struct zero_card_vol cv = {};
        struct zero_card_network cnet;
        struct zero_card_nic nic;
        int r = 0;

        j->result[0] = '\0';
        if (object_type(j->req.kind) == OBJ_VOLUME)
                r = job_volume(j, &row, &cv);
        else if (object_type(j->req.kind) == OBJ_NETWORK)
                r = job_network(j, &net, &cnet);
        if (r == -ENOENT && (j->req.kind == ZERO_CARD_JOB_UNEXPORT || j->req.kind == ZERO_CARD_JOB_VOLUME ||
                             j->req.kind == ZERO_CARD_JOB_NETWORK)) {
                j->err = (struct zero_error){};
                j->noop = true; /* gone: nothing to give back, nothing to make */
                return job_answer_later(j, 0);
        }
        if (r < 0)
                return job_answer_later(j, r);
        if (j->req.kind == ZERO_CARD_JOB_VOLUME || j->req.kind == ZERO_CARD_JOB_RESIZE || j->req.kind == ZERO_CARD_JOB_QOS ||
            j->req.kind == ZERO_CARD_JOB_NETWORK) {
                j->id = strdup(j->req.kind == ZERO_CARD_JOB_NETWORK ? net.id : row.id);
                if (!j->id)
                        r = zero_error_default(&j->err, -ENOMEM, "card job");
        }
        switch (r < 0 ? _ZERO_CARD_JOB_KIND_MAX : j->req.kind) {
        case ZERO_CARD_JOB_VOLUME:
                j->remove = zero_vol_state_of(&row) == ZERO_VOL_DELETING;
                j->noop = !zero_vol_state_has_job(zero_vol_state_of(&row));
                if (!j->noop)
                        r = j->remove ? ops->volume_delete(card, &cv.v, on_driver_done, j, &j->err)
                                      : ops->volume_create(card, &cv.v, on_driver_done, j, &j->err);
                break;
        case ZERO_CARD_JOB_EXPORT:
                r = ops->volume_export(card, &cv.v, zero_card_export_kind_from_string(j->req.how), on_driver_done, j,
                                       &j->err);
                break;
        case ZERO_CARD_JOB_UNEXPORT:
                r = ops->volume_unexport(card, &cv.v, on_driver_done, j, &j->err);
                break;
        case ZERO_CARD_JOB_RELEASE:
        case ZERO_CARD_JOB_TAKE:
                if (!ZERO_CARD_HAS(a->card_driver, volume_release) || !ZERO_CARD_HAS(a->card_driver, volume_take))
                        r = zero_error_set(&j->err, -EOPNOTSUPP, ZERO_E_INVALID,
                                           "the card driver %s cannot hand volumes over to another node",
                                           a->card_driver->name);
                else
                        r = (j->req.kind == ZERO_CARD_JOB_RELEASE ? ops->volume_release : ops->volume_take)(
                                card, &cv.v, zero_card_export_kind_from_string(j->req.how), on_driver_done, j, &j->err);
                break;
        case ZERO_CARD_JOB_RESIZE:
                r = ops->volume_resize(card, &cv.v, (uint64_t) j->req.size, on_driver_done, j, &j->err);
                break;
        case ZERO_CARD_JOB_QOS:
                cv.v.qos_iops = (uint64_t) j->req.iops;
                cv.v.qos_bps = (uint64_t) j->req.bps;
                r = ops->volume_set_qos(card, &cv.v, on_driver_done, j, &j->err);
                break;
        case ZERO_CARD_JOB_ATTACH:
        case ZERO_CARD_JOB_DETACH:
                cnet = zero_card_network_of(&j->net);
                nic = (struct zero_card_nic){
                        .size = sizeof(nic),
                        .id = j->nic.id,
                        .mac = j->nic.mac,
                        .ip = j->nic.ip,
                        .ifname = zero_card_nic_ifname(j->nic.idx),
                        .network = &cnet,
                };
                r = j->req.kind == ZERO_CARD_JOB_ATTACH
                            ? ops->nic_attach(card, &nic, zero_card_nic_kind_from_string(j->req.how), j->req.netns,
                                              on_driver_done, j, &j->err)
                            : ops->nic_detach(card, &nic, on_driver_done, j, &j->err);
                break;
        case ZERO_CARD_JOB_NETWORK:
                j->remove = zero_net_state_of(&net) == ZERO_NET_DELETING;
                j->noop = !j->remove && zero_net_state_of(&net) != ZERO_NET_CREATING;
                if (!j->noop)
                        r = j->remove ? ops->network_delete(card, &cnet, on_driver_done, j, &j->err)
                                      : ops->network_create(card, &cnet, on_driver_done, j, &j->err);
                break;
        default:
                break;
        }
        zero_card_vol_done(&cv);
        zero_volume_row_done(&row);
        zero_network_row_done(&net);
        if (r >= 0 && !j->noop)
                return 0; /* the driver answers */
        /* A make the card refused at once may have made something all the same. */
        if (r < 0 && j->req.kind == ZERO_CARD_JOB_NETWORK && !j->remove && j->id &&
            job_network_undo(j, r, &j->err) >= 0)
                return 0;
        return job_answer_later(j, r);
}

static void job_start(struct zero_card_job *j) {
        int r;

        j->started = true;
        r = job_driver(j);
        if (r < 0) /* out of memory for a defer source: the object's jobs wait for zerod's restart */
                log_error_errno(r, "Cannot schedule the card's %s of %s: %m", zero_card_job_kind_name(j->req.kind), j->req.object);
}

static bool job_first_on_object(struct zero_agent *a, const struct zero_card_job *j) {
        for (struct zero_card_job *o = a->card_jobs; o && o != j; o = o->next)
                if (same_object(o, j->req.kind, j->req.object))
                        return false;
        return true;
}

static bool jobs_running(struct zero_agent *a) {
        for (struct zero_card_job *j = a->card_jobs; j; j = j->next)
                if (j->started)
                        return true;
        return false;
}

static int on_sync_defer(sd_event_source *s, void *userdata) {
        struct zero_agent *a = userdata;

        a->card_sync_defer = sd_event_source_disable_unref(a->card_sync_defer);
        a->card_sync_pending = false;
        log_info("Restoring the card's exports");
        (void) zero_card_sync(a);
        jobs_kick(a);
        return 0;
}

/* Starts every job that is first on its object; while a sync waits, none, and the sync once no
 * job runs. */
static void jobs_kick(struct zero_agent *a) {
        if (a->card_sync_pending) {
                if (!jobs_running(a) && !a->card_sync_defer &&
                    sd_event_add_defer(a->event, &a->card_sync_defer, on_sync_defer, a) < 0)
                        log_error("Cannot schedule the card's sync: exports stay lost until zerod restarts");
                return;
        }
        for (struct zero_card_job *j = a->card_jobs; j; j = j->next)
                if (!j->started && job_first_on_object(a, j))
                        job_start(j);
}

void zero_card_jobs_sync_soon(struct zero_agent *a) {
        a->card_sync_pending = true;
        jobs_kick(a);
}

static int job_req_copy(const struct zero_card_job_req *q, struct zero_card_job_req *ret) {
        *ret = *q;
        ret->object = strdup(q->object);
        ret->how = q->how ? strdup(q->how) : NULL;
        ret->netns = q->netns ? strdup(q->netns) : NULL;
        return ret->object && (!q->how || ret->how) && (!q->netns || ret->netns) ? 0 : -ENOMEM;
}

/* A NIC job's NIC and network, read when it is asked for. */
static int job_nic_load(struct zero_card_job *j, struct zero_error *err) {
        int r = zero_store_nic_get(j->agent->store, j->req.object, &j->nic);

        if (r >= 0)
                r = zero_store_network_get(j->agent->store, j->nic.network, &j->net);
        if (r < 0)
                return zero_error_set(err, r, r == -ENOENT ? ZERO_E_NOT_FOUND : ZERO_E_UNAVAILABLE, "NIC %s: %s",
                                      j->req.object, r == -ENOENT ? "no such NIC" : strerror(-r));
        return 0;
}

static int req_check(const struct zero_card_job_req *q, struct zero_error *err) {
        if (!q || !q->object || (unsigned) q->kind >= _ZERO_CARD_JOB_KIND_MAX)
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL, "a card job without an object");
        if (q->last)
                return 0; /* a wait, no work */
        if ((q->kind == ZERO_CARD_JOB_EXPORT || q->kind == ZERO_CARD_JOB_RELEASE || q->kind == ZERO_CARD_JOB_TAKE) &&
            zero_card_export_kind_from_string(q->how) == ZERO_CARD_EXPORT_NONE)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "unknown export kind '%s'", strempty(q->how));
        if (q->kind == ZERO_CARD_JOB_ATTACH &&
            (zero_card_nic_kind_from_string(q->how) == ZERO_CARD_NIC_NONE ||
             (zero_card_nic_kind_from_string(q->how) == ZERO_CARD_NIC_VETH && (!q->netns || q->netns[0] != '/'))))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "bad NIC attachment '%s'", strempty(q->how));
        return 0;
}

int zero_card_job(struct zero_agent *a, const struct zero_card_job_req *req, zero_card_job_fn done, void *userdata,
                  struct zero_error *err) {
        struct zero_card_job *last = NULL, *j, **tail;
        int r = req_check(req, err);

        if (r < 0)
                return r;
        for (j = a->card_jobs; j; j = j->next)
                if (same_object(j, req->kind, req->object))
                        last = j;
        if (req->last && !last)
                return 1;
        if (last && (req->last || same_work(last, req)))
                return job_add_waiter(last, done, userdata) < 0 ? zero_error_default(err, -ENOMEM, "card job") : 0;
        j = calloc(1, sizeof(*j));
        if (!j)
                return zero_error_default(err, -ENOMEM, "card job");
        j->agent = a;
        r = job_req_copy(req, &j->req);
        if (r >= 0 && a->actor && !(j->actor = strdup(a->actor)))
                r = -ENOMEM;
        if (r < 0)
                r = zero_error_default(err, r, "card job");
        else if (object_type(req->kind) == OBJ_NIC)
                r = job_nic_load(j, err);
        if (r >= 0)
                r = job_add_waiter(j, done, userdata) < 0 ? zero_error_default(err, -ENOMEM, "card job") : 0;
        if (r < 0) {
                job_free(j);
                return r;
        }
        for (tail = &a->card_jobs; *tail; tail = &(*tail)->next)
                ;
        *tail = j;
        jobs_kick(a);
        return 0;
}

int zero_card_job_last(struct zero_agent *a, enum zero_card_job_kind k, const char *object) {
        int last = -ENOENT;

        for (struct zero_card_job *j = a->card_jobs; j && object; j = j->next)
                if (same_object(j, k, object))
                        last = (int) j->req.kind;
        return last;
}

void zero_card_jobs_forget(struct zero_agent *a, void *userdata) {
        for (struct zero_card_job *j = a->card_jobs; j; j = j->next)
                for (size_t i = 0; i < j->n_waiters; i++)
                        if (j->waiters[i].userdata == userdata)
                                j->waiters[i].done = NULL;
}

void zero_card_jobs_resume(struct zero_agent *a) {
        struct zero_network_row *nets = NULL;
        struct zero_volume_row *rows = NULL;
        size_t n = 0;

        if (zero_store_network_list(a->store, &nets, &n) < 0)
                log_error("Cannot list networks: those left half-made or half-deleted wait for the next start");
        for (size_t i = 0; i < n; i++) {
                struct zero_error err = {};

                if (zero_net_state_of(&nets[i]) == ZERO_NET_READY)
                        continue;
                log_info("Network %s was left %s: finishing it", nets[i].name, nets[i].state);
                if (zero_card_job(a, &(struct zero_card_job_req){.kind = ZERO_CARD_JOB_NETWORK, .object = nets[i].name},
                                  NULL, NULL, &err) < 0)
                        log_warning("Network %s stays %s: %s", nets[i].name, nets[i].state, err.message);
        }
        zero_network_rows_free(nets, n);
        n = 0;
        if (zero_store_volume_list(a->store, &rows, &n) < 0) {
                log_error("Cannot list volumes: those left half-made or half-deleted wait for the next start");
                return;
        }
        for (size_t i = 0; i < n; i++) {
                struct zero_error err = {};

                if (!zero_vol_state_has_job(zero_vol_state_of(&rows[i])))
                        continue;
                log_info("Volume %s was left %s: finishing it", rows[i].name, rows[i].state);
                if (zero_card_job(a, &(struct zero_card_job_req){.kind = ZERO_CARD_JOB_VOLUME, .object = rows[i].name},
                                  NULL, NULL, &err) < 0)
                        log_warning("Volume %s stays %s: %s", rows[i].name, rows[i].state, err.message);
        }
        zero_volume_rows_free(rows, n);
}

void zero_card_jobs_free(struct zero_agent *a) {
        a->card_sync_defer = sd_event_source_disable_unref(a->card_sync_defer);
        a->card_sync_pending = false;
        while (a->card_jobs) {
                struct zero_card_job *j = a->card_jobs;
                a->card_jobs = j->next;
                job_free(j);
        }
}
