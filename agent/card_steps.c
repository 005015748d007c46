/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Steps that wait for the card's jobs (card_job.h). The step asks for its jobs and pauses
 * (ZERO_OP_WAIT_CARD); the engine goes on when the last has ended, or fails the operation with
 * the first failure. A step run again after a crash asks for the same jobs again: each is one
 * idempotent driver op, and the rows say what the card did before the crash.
 */
#include <string.h>

#include "agent/card_steps.h"

#include "agent/card_job.h"
#include "agent/netns.h"
#include "agent/operation.h"
#include "agent/plugin_loader.h"
#include "common/log.h"
#include "common/util.h"

static void on_card_done(void *userdata, int r, const struct zero_error *err) {
        struct zero_op *op = userdata;

        if (r < 0 && op->card_r >= 0) {
                op->card_r = r;
                op->err = err ? *err : (struct zero_error){};
        }
        if (--op->card_pending == 0)
                zero_op_continue(op, op->card_r);
}

int zero_op_wait_card(struct zero_op *op, const struct zero_card_job_req *reqs, size_t n, enum zero_op_then then) {
        op->card_pending = 0;
        op->card_r = 0;
        for (size_t i = 0; i < n; i++) {
                /* Answers come from the loop only: counting as we go is safe. */
                int r = zero_card_job(op->agent, &reqs[i], on_card_done, op, &op->err);
                if (r < 0) {
                        zero_card_jobs_forget(op->agent, op);
                        op->card_pending = 0;
                        return r;
                }
                if (r == 0)
                        op->card_pending++;
        }
        return op->card_pending > 0 ? zero_op_wait(op, ZERO_OP_WAIT_CARD, then) : 0;
}

/* --- what the plugin's mode needs of the card --- */

struct needs {
        struct zero_card_needs n;
        const char **volumes, **nics; /* one per info->volumes, info->nics */
};

static void needs_done(struct needs *nd) {
        free(nd->volumes);
        free(nd->nics);
        *nd = (struct needs){};
}

/* The plugin's card_needs, checked: 0, or 1 for a plugin without the op (nothing made up front). */
static int needs_get(const struct zero_plugin *p, struct zero_plugin_ctx *ctx, const struct zero_instance_info *info,
                     struct needs *ret, struct zero_error *err) {
        struct needs nd = {};
        int r;

        *ret = nd;
        if (!ZERO_PLUGIN_HAS(p, card_needs))
                return 1;
        nd.volumes = calloc(info->n_volumes + 1, sizeof(*nd.volumes));
        nd.nics = calloc(info->n_nics + 1, sizeof(*nd.nics));
        if (!nd.volumes || !nd.nics) {
                needs_done(&nd);
                return zero_error_default(err, -ENOMEM, "card needs");
        }
        nd.n = (struct zero_card_needs){
                .size = sizeof(nd.n),
                .volume_export = info->n_volumes > 0 ? nd.volumes : NULL,
                .nic_attach = info->n_nics > 0 ? nd.nics : NULL,
        };
        r = p->ops.card_needs(ctx, info, &nd.n, err);
        if (r < 0) {
                needs_done(&nd);
                return zero_error_default(err, r, "the plugin cannot say what it needs of the card");
        }
        /* The namespace lives in the instance's run directory, nowhere else (the agent makes it). */
        r = memchr(nd.n.netns_path, 0, sizeof(nd.n.netns_path)) &&
                            (!nd.n.netns_path[0] ||
                             (info->run_dir && strncmp(nd.n.netns_path, info->run_dir, strlen(info->run_dir)) == 0 &&
                              nd.n.netns_path[strlen(info->run_dir)] == '/' && !strstr(nd.n.netns_path, "/..")))
                    ? 0
                    : -EINVAL;
        for (size_t i = 0; r >= 0 && i < info->n_volumes; i++)
                if (nd.volumes[i] && zero_card_export_kind_from_string(nd.volumes[i]) == ZERO_CARD_EXPORT_NONE)
                        r = -EINVAL;
        for (size_t i = 0; r >= 0 && i < info->n_nics; i++)
                if (nd.nics[i] && (zero_card_nic_kind_from_string(nd.nics[i]) == ZERO_CARD_NIC_NONE ||
                                   (zero_card_nic_kind_from_string(nd.nics[i]) == ZERO_CARD_NIC_VETH &&
                                    nd.n.netns_path[0] != '/')))
                        r = -EINVAL;
        if (r < 0) {
                needs_done(&nd);
                return zero_error_set(err, r, ZERO_E_INTERNAL,
                                      "plugin %s needs of the card what it cannot have (a kind, a veth without its "
                                      "namespace, a namespace outside the instance's run directory)",
                                      p->name);
        }
        *ret = nd;
        return 0;
}

/* Requests, at most two per volume and NIC. */
struct reqs {
        struct zero_card_job_req *q;
        size_t n;
};

static void reqs_add(struct reqs *rs, enum zero_card_job_kind k, const char *object, const char *how,
                     const char *netns) {
        rs->q[rs->n++] = (struct zero_card_job_req){.kind = k, .object = object, .how = how, .netns = netns};
}

int zero_card_up(struct zero_op *op, const struct zero_plugin *p, struct zero_plugin_ctx *ctx,
                 const struct zero_instance_info *info, const char *only_volume, const char *only_nic, bool released) {
        struct zero_agent *a = op->agent;
        struct zero_attachment_row *atts = NULL;
        struct zero_nic_row *nics = NULL;
        size_t n_atts = 0, n_nics = 0;
        bool veth = false;
        struct reqs rs = {};
        struct needs nd;
        int r;

        r = needs_get(p, ctx, info, &nd, &op->err);
        if (r != 0)
                return r > 0 ? 0 : r;
        r = zero_store_attachment_list_for_instance(a->store, info->id, &atts, &n_atts);
        if (r >= 0)
                r = zero_store_nic_list_for_instance(a->store, info->id, &nics, &n_nics);
        rs.q = calloc(2 * (info->n_volumes + info->n_nics) + 1, sizeof(*rs.q));
        if (r < 0 || !rs.q) {
                r = zero_error_set(&op->err, r < 0 ? r : -ENOMEM, ZERO_E_UNAVAILABLE,
                                   "cannot read the instance's volumes and NICs");
                goto out;
        }
        for (size_t i = 0; i < info->n_volumes; i++) {
                const char *name = info->volumes[i].name, *kind = nd.volumes[i];

                if (!kind || (only_volume && !streq(only_volume, name)) || (!only_volume && only_nic))
                        continue;
                for (size_t k = 0; k < n_atts; k++)
                        if (streq(atts[k].volume, name) && atts[k].export_kind && !streq(atts[k].export_kind, kind))
                                reqs_add(&rs, ZERO_CARD_JOB_UNEXPORT, name, NULL, NULL);
                reqs_add(&rs, released ? ZERO_CARD_JOB_RELEASE : ZERO_CARD_JOB_EXPORT, name, kind, NULL);
        }
        for (size_t i = 0; i < info->n_nics; i++) {
                const char *id = info->nics[i].id, *kind = nd.nics[i];
                bool is_veth = kind && zero_card_nic_kind_from_string(kind) == ZERO_CARD_NIC_VETH;

                if (!kind || (only_nic && !streq(only_nic, id)) || (!only_nic && only_volume))
                        continue;
                for (size_t k = 0; k < n_nics; k++)
                        if (streq(nics[k].id, id) && nics[k].attach_kind &&
                            (!streq(nics[k].attach_kind, kind) ||
                             (is_veth && !streq(strempty(nics[k].attach_target), nd.n.netns_path))))
                                reqs_add(&rs, ZERO_CARD_JOB_DETACH, id, NULL, NULL);
                reqs_add(&rs, ZERO_CARD_JOB_ATTACH, id, kind, is_veth ? nd.n.netns_path : NULL);
                veth = veth || is_veth;
        }
        /* The namespace is the agent's to make (plugin.h): a forked child binds it, microseconds.
         * The run directory may not be there yet (the shim's spawn makes it otherwise). */
        r = veth ? zero_mkdir_p(info->run_dir, 0700) : 0;
        if (r < 0)
                r = zero_error_set(&op->err, r, ZERO_E_INTERNAL, "cannot create %s: %s", info->run_dir, strerror(-r));
        else if (veth)
                r = zero_netns_svc_create(ctx, nd.n.netns_path, &op->err);
        if (r >= 0)
                r = zero_op_wait_card(op, rs.q, rs.n, ZERO_OP_THEN_DONE);
out:
        free(rs.q);
        zero_attachment_rows_free(atts, n_atts);
        zero_nic_rows_free(nics, n_nics);
        needs_done(&nd);
        return r;
}

/* The instance's exports and attachments that are up, or have a job under way, as requests to
 * take them down. */
static int down_reqs(struct zero_agent *a, const char *instance_id, const char *only_volume, const char *only_nic,
                     struct reqs *ret) {
        struct zero_attachment_row *atts = NULL;
        struct zero_nic_row *nics = NULL;
        size_t n_atts = 0, n_nics = 0;
        struct reqs rs = {};
        int r;

        r = zero_store_attachment_list_for_instance(a->store, instance_id, &atts, &n_atts);
        if (r >= 0)
                r = zero_store_nic_list_for_instance(a->store, instance_id, &nics, &n_nics);
        /* The requests take the objects' names from the rows (reqs_done() frees them). */
        rs.q = r >= 0 ? calloc(n_atts + n_nics + 1, sizeof(*rs.q)) : NULL;
        if (r >= 0 && !rs.q)
                r = -ENOMEM;
        for (size_t i = 0; r >= 0 && i < n_atts; i++)
                if ((!only_volume && !only_nic) || (only_volume && streq(only_volume, atts[i].volume)))
                        if (atts[i].export_kind || zero_card_job_last(a, ZERO_CARD_JOB_UNEXPORT, atts[i].volume) >= 0)
                                reqs_add(&rs, ZERO_CARD_JOB_UNEXPORT, TAKE_PTR(atts[i].volume), NULL, NULL);
        for (size_t i = 0; r >= 0 && i < n_nics; i++)
                if ((!only_volume && !only_nic) || (only_nic && streq(only_nic, nics[i].id)))
                        if (nics[i].attach_kind || zero_card_job_last(a, ZERO_CARD_JOB_DETACH, nics[i].id) >= 0)
                                reqs_add(&rs, ZERO_CARD_JOB_DETACH, TAKE_PTR(nics[i].id), NULL, NULL);
        zero_attachment_rows_free(atts, n_atts);
        zero_nic_rows_free(nics, n_nics);
        if (r < 0) {
                free(rs.q);
                return r;
        }
        *ret = rs;
        return 0;
}

static void reqs_done(struct reqs *rs) {
        for (size_t i = 0; i < rs->n; i++)
                free((char *) rs->q[i].object);
        free(rs->q);
        *rs = (struct reqs){};
}

int zero_card_down(struct zero_op *op, const struct zero_plugin *p, struct zero_plugin_ctx *ctx,
                   const struct zero_instance_info *info, const char *only_volume, const char *only_nic) {
        struct reqs rs = {};
        struct needs nd;
        int r;

        r = down_reqs(op->agent, info->id, only_volume, only_nic, &rs);
        if (r < 0)
                return zero_error_set(&op->err, r, ZERO_E_UNAVAILABLE, "cannot read the instance's volumes and NICs");
        if (rs.n > 0) {
                r = zero_op_wait_card(op, rs.q, rs.n, ZERO_OP_THEN_RERUN);
                reqs_done(&rs);
                return r;
        }
        reqs_done(&rs);
        /* All down: the veths' namespace goes last (a veth's host end goes with its driver's
         * detach, its other end with the namespace). */
        if (only_volume || only_nic)
                return 0;
        r = needs_get(p, ctx, info, &nd, &op->err);
        if (r != 0)
                return r > 0 ? 0 : r;
        r = nd.n.netns_path[0] ? zero_netns_svc_remove(ctx, nd.n.netns_path, &op->err) : 0;
        needs_done(&nd);
        return r;
}

int zero_card_hand(struct zero_op *op, const char *instance_id, bool take) {
        struct zero_attachment_row *atts = NULL;
        struct reqs rs = {};
        size_t n = 0;
        int r = zero_store_attachment_list_for_instance(op->agent->store, instance_id, &atts, &n);

        rs.q = r >= 0 ? calloc(n + 1, sizeof(*rs.q)) : NULL;
        if (!rs.q) {
                zero_attachment_rows_free(atts, n);
                return zero_error_set(&op->err, r < 0 ? r : -ENOMEM, ZERO_E_UNAVAILABLE,
                                      "cannot read the instance's volumes");
        }
        for (size_t i = 0; i < n; i++)
                if (atts[i].export_kind)
                        reqs_add(&rs, take ? ZERO_CARD_JOB_TAKE : ZERO_CARD_JOB_RELEASE, atts[i].volume,
                                 atts[i].export_kind, NULL);
        r = zero_op_wait_card(op, rs.q, rs.n, ZERO_OP_THEN_DONE);
        free(rs.q);
        zero_attachment_rows_free(atts, n);
        return r;
}

void zero_card_down_nowait(struct zero_agent *a, const char *instance_id, const char *only_volume, const char *only_nic) {
        struct reqs rs = {};

        if (down_reqs(a, instance_id, only_volume, only_nic, &rs) < 0) {
                log_warning("Cannot read the volumes and NICs of instance %s: its exports stay until its next start",
                            instance_id);
                return;
        }
        for (size_t i = 0; i < rs.n; i++) {
                struct zero_error err = {};

                if (zero_card_job(a, &rs.q[i], NULL, NULL, &err) < 0)
                        log_warning("Cannot take %s off the card: %s", rs.q[i].object, err.message);
        }
        reqs_done(&rs);
}

/* --- a plugin's own asks of the card --- */

/* How many times a step waits for its plugin's asks before the plugin's error stands: each round
 * makes at least one export or attachment, and an instance has at most 17 volumes and 8 NICs. */
#define CARD_ASKED_ROUNDS_MAX 32

void zero_card_asked_reset(struct zero_inst *inst) {
        if (inst)
                inst->card_asked = false;
}

int zero_card_asked(struct zero_op *op, struct zero_inst *inst, const struct zero_instance_info *info, int r) {
        struct zero_error plugin_err = op->err;
        struct reqs rs = {};
        int k;

        if (r >= 0 || !inst || !inst->card_asked || op->card_rounds >= CARD_ASKED_ROUNDS_MAX)
                return r;
        inst->card_asked = false;
        op->card_rounds++;
        rs.q = calloc(info->n_volumes + info->n_nics + 1, sizeof(*rs.q));
        if (!rs.q)
                return r;
        for (size_t i = 0; i < info->n_volumes; i++)
                rs.q[rs.n++] = (struct zero_card_job_req){.kind = ZERO_CARD_JOB_EXPORT, .object = info->volumes[i].name,
                                                          .last = true};
        for (size_t i = 0; i < info->n_nics; i++)
                rs.q[rs.n++] = (struct zero_card_job_req){.kind = ZERO_CARD_JOB_ATTACH, .object = info->nics[i].id,
                                                          .last = true};
        log_debug("Operation %s %s of %s: the plugin waits for the card (%s)", op->row.id, op->row.kind,
                  strempty(op->row.instance_name), op->err.message);
        op->err = (struct zero_error){};
        k = zero_op_wait_card(op, rs.q, rs.n, ZERO_OP_THEN_RERUN);
        free(rs.q);
        if (k == ZERO_OP_PENDING)
                return k;
        op->err = plugin_err; /* nothing under way any more: the plugin's error stands */
        return r;
}
