/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The runners of a volume op's steps (volume_op.h): at once in the caller, or on the loop.
 *
 * On the loop an op is work known to the daemon (struct qsd_work): qsd_close() drops it, and ops
 * on the same volume run one after the other (two interleaved would undo each other's steps: an
 * unexport deleting the nodes an export has just added). Its first step runs from a defer source
 * (done must never come from inside the call that started it), then each step from the answer of
 * the one before: a QMP reply (qsd_call_async()), a child's end (work, a command), a timer. Every
 * wait is bounded: a QMP command by qsd_call.c's rules, work and commands by OP_CHILD_TIMEOUT_USEC
 * (then killed: ZERO_E_TIMEOUT), a pause by itself.
 */
#include <poll.h>
#include <sys/mount.h>

#include "common/util.h"
#include "io/softcard/volume_op.h"

/* What a child of an op (work, qemu-img) may take: as long as a QMP command may. */
#define OP_CHILD_TIMEOUT_USEC (10 * USEC_PER_SEC)

int softcard_op_new(struct qsd *q, const struct softcard_volume *v, const op_step_fn *steps, size_t n_steps,
                    struct softcard_op **ret, struct zero_error *err) {
        struct softcard_op *o;
        int r = v ? softcard_volume_check(v, err) : 0;

        if (r < 0)
                return r;
        o = calloc(1, sizeof(*o));
        if (!o)
                return zero_error_default(err, -ENOMEM, "volume op");
        o->q = q;
        o->steps = steps;
        o->n_steps = n_steps;
        o->use_view = true;
        if (v) {
                /* Bounded by softcard_volume_check(), which also allows these two formats only:
                 * ours, static, rather than the caller's, which may go before the op ends. */
                o->v = *v;
                o->v.format = streq(v->format, "raw") ? "raw" : "qcow2";
                snprintf(o->id, sizeof(o->id), "%s", v->id);
                snprintf(o->path, sizeof(o->path), "%s", v->path);
                snprintf(o->base_path, sizeof(o->base_path), "%s", strempty(v->base_path));
                o->v.id = o->name_id = o->id;
                o->v.path = o->path;
                o->v.base_path = v->base_path ? o->base_path : NULL;
                softcard_names_init(q, v->id, &o->n);
        }
        *ret = o;
        return 0;
}

static void op_answer_clear(struct softcard_op *o) {
        o->answered = false;
        o->r = 0;
        json_decref(o->value);
        o->value = NULL;
        o->e = (struct zero_error){};
        o->text[0] = '\0';
}

struct softcard_op *softcard_op_free(struct softcard_op *o) {
        if (!o)
                return NULL;
        /* Stopped with a command or work under way: what it did is unknown, so the view and the
         * loop index read the daemon and the kernel again. */
        if (o->call && !softcard_view_is_query(o->execute))
                softcard_view_forget(qsd_view(o->q));
        if (o->child)
                softcard_loop_index_forget(qsd_loops(o->q));
        o->call = qsd_call_cancel(o->call);
        o->child = zero_subprocess_free(o->child);
        o->defer = sd_event_source_disable_unref(o->defer);
        o->timer = sd_event_source_disable_unref(o->timer);
        op_answer_clear(o);
        json_decref(o->args);
        json_decref(o->s.exports);
        json_decref(o->s.nodes);
        json_decref(o->s.objects);
        free(o);
        return NULL;
}

/* ---- For the steps ---- */

int op_qmp(struct softcard_op *o, const char *execute, json_t *args) {
        json_decref(o->args);
        o->execute = execute;
        o->args = args;
        return OP_QMP;
}

int op_work(struct softcard_op *o, const char *what, zero_subprocess_fn fn) {
        o->work_name = what;
        o->work = fn;
        return OP_WORK;
}

int op_command(struct softcard_op *o, char *const argv[]) {
        size_t i = 0;

        for (; argv[i] && i < ELEMENTSOF(o->argv) - 1; i++)
                o->argv[i] = argv[i];
        o->argv[i] = NULL;
        return OP_RUN;
}

int op_sleep(struct softcard_op *o, uint64_t usec) {
        o->sleep_usec = usec;
        return OP_SLEEP;
}

int op_goto(struct softcard_op *o, op_step_fn step) {
        for (size_t i = 0; i < o->n_steps; i++)
                if (o->steps[i] == step) {
                        o->step = i;
                        return OP_JUMP;
                }
        return zero_error_set(&o->err, -EINVAL, ZERO_E_INTERNAL, "softcard: a volume op jumps to no step of its own");
}

int op_answer(struct softcard_op *o, struct zero_error *err) {
        if (o->r >= 0)
                return OP_NEXT;
        if (err)
                *err = o->e;
        return o->r;
}

int op_take(struct softcard_op *o, json_t **ret, struct zero_error *err) {
        int r = op_answer(o, err);

        if (r < 0)
                return r;
        json_decref(*ret);
        *ret = TAKE_PTR(o->value);
        return OP_NEXT;
}

/* Runs steps until one asks for something (returned), the end (OP_DONE) or a failure (-errno,
 * o->err). A step called with an answer is done with it once it returns. */
static int op_steps(struct softcard_op *o) {
        while (o->step < o->n_steps) {
                int r = o->steps[o->step](o, &o->err);

                op_answer_clear(o);
                if (r == OP_NEXT)
                        o->step++;
                else if (r != OP_JUMP)
                        return r;
        }
        return OP_DONE;
}

/* ---- The daemon's state as the card knows it (view.c) ---- */

/* One of the three queries answered from the view, if it has the list (o->use_view: the ops that
 * look only at names; a resize reads sizes, which only the daemon has). */
static bool op_from_view(struct softcard_op *o) {
        if (!o->use_view || !(o->value = softcard_view_get(o->q, o->execute)))
                return false;
        o->r = 0;
        return true;
}

/* The answer to o's command, told to the view. */
static void op_to_view(struct softcard_op *o) {
        _cleanup_(json_decrefp) json_t *none = NULL;

        if (!softcard_view_is_query(o->execute))
                return softcard_view_apply(o->q, o->execute, o->args, o->r);
        /* qsd 7.2 makes /objects with the first object: "not found" is an empty list. */
        if (o->r == -EIO && streq(o->execute, "qom-list") && strstr(o->e.message, "not found"))
                softcard_view_set(o->q, o->execute, none = json_array());
        else if (o->r >= 0)
                softcard_view_set(o->q, o->execute, o->value);
}

/* ---- At once, in the caller ---- */

int softcard_op_run(struct softcard_op *o, struct zero_error *err) {
        for (;;) {
                struct zero_subprocess_result res = {};
                int r = op_steps(o);

                switch (r) {
                case OP_DONE:
                        return 0;
                case OP_QMP:
                        if (op_from_view(o))
                                break;
                        o->r = qsd_call(o->q, o->execute, json_incref(o->args), &o->value, &o->e);
                        op_to_view(o);
                        break;
                case OP_WORK:
                        o->work(&o->job, &res);
                        o->r = res.r;
                        o->e = res.err;
                        snprintf(o->text, sizeof(o->text), "%s", res.text);
                        break;
                case OP_RUN:
                        o->r = softcard_run(o->argv, 0, 0, &o->e);
                        break;
                case OP_SLEEP:
                        (void) poll(NULL, 0, (int) ((o->sleep_usec + USEC_PER_MSEC - 1) / USEC_PER_MSEC));
                        break;
                default:
                        if (err)
                                *err = o->err;
                        return r < 0 ? r : -EINVAL;
                }
                o->answered = true;
        }
}

/* ---- On the loop ---- */

/* The end: o goes before done is called (done may start the next op on the volume). */
static void op_finish(struct softcard_op *o, int r) {
        softcard_done_fn done = o->done;
        void *userdata = o->userdata;
        char path[ZERO_CARD_PATH_MAX];
        struct zero_error err = o->err;

        snprintf(path, sizeof(path), "%s", r >= 0 ? o->export_path : "");
        qsd_work_remove(o->q, &o->w);
        softcard_op_free(o);
        done(userdata, r, path[0] ? path : NULL, &err);
}

static void op_continue(struct softcard_op *o);

static void on_op_reply(void *userdata, int r, json_t *value, const struct zero_error *err) {
        struct softcard_op *o = userdata;

        o->call = NULL; /* gone with its answer */
        o->r = r;
        o->value = json_incref(value);
        if (r < 0)
                o->e = *err;
        op_to_view(o);
        o->answered = true;
        op_continue(o);
}

static void on_op_work(void *userdata, const struct zero_subprocess_result *res) {
        struct softcard_op *o = userdata;

        o->child = NULL;
        o->r = res->r;
        o->e = res->err;
        snprintf(o->text, sizeof(o->text), "%s", res->text);
        o->answered = true;
        op_continue(o);
}

static void on_op_command(void *userdata, int status, const char *output) {
        struct softcard_op *o = userdata;

        o->child = NULL;
        o->r = status == 0 ? 0 : softcard_command_failed(o->argv, status, output, &o->e);
        o->answered = true;
        op_continue(o);
}

static int on_op_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct softcard_op *o = userdata;

        o->answered = true;
        op_continue(o);
        return 0;
}

/* A pause of usec from now (not from the loop's cached time, as common/subprocess.c says). */
static int op_timer(struct softcard_op *o, uint64_t usec) {
        uint64_t at = zero_monotonic_usec() + usec;
        int r;

        if (!o->timer)
                return sd_event_add_time(qsd_event(o->q), &o->timer, CLOCK_MONOTONIC, at, usec / 16 + 1, on_op_timer, o);
        r = sd_event_source_set_time(o->timer, at);
        return r < 0 ? r : sd_event_source_set_enabled(o->timer, SD_EVENT_ONESHOT);
}

/* Runs the steps up to the next wait, from the loop; the end calls done. */
static void op_continue(struct softcard_op *o) {
        sd_event *e = qsd_event(o->q);
        int r;

        /* A query the view answers: on at once (op_continue() runs from the loop already). */
        while ((r = op_steps(o)) == OP_QMP && op_from_view(o))
                o->answered = true;

        switch (r) {
        case OP_DONE:
                return op_finish(o, 0);
        case OP_QMP:
                r = qsd_call_async(o->q, o->execute, json_incref(o->args), on_op_reply, o, &o->call);
                if (r < 0)
                        r = zero_error_set(&o->err, r, ZERO_E_INTERNAL, "cannot send %s to qemu-storage-daemon: %s",
                                           o->execute, strerror(-r));
                break;
        case OP_WORK:
                r = zero_subprocess_call(e, o->work_name, o->work, &o->job, OP_CHILD_TIMEOUT_USEC, on_op_work, o,
                                        &o->child);
                if (r < 0)
                        r = zero_error_set(&o->err, r, ZERO_E_INTERNAL, "cannot start %s: %s", o->work_name,
                                           strerror(-r));
                break;
        case OP_RUN:
                r = zero_subprocess_start(e, o->argv, on_op_command, o, &o->child);
                if (r >= 0)
                        r = zero_subprocess_set_timeout(o->child, OP_CHILD_TIMEOUT_USEC);
                if (r < 0)
                        r = zero_error_set(&o->err, r, ZERO_E_INTERNAL, "cannot run %s: %s", o->argv[0], strerror(-r));
                break;
        case OP_SLEEP:
                r = op_timer(o, o->sleep_usec);
                if (r < 0)
                        r = zero_error_set(&o->err, r, ZERO_E_INTERNAL, "cannot arm a timer: %s", strerror(-r));
                break;
        default:
                if (r >= 0) /* a step returned what no runner knows */
                        r = zero_error_set(&o->err, -EINVAL, ZERO_E_INTERNAL, "softcard: a volume op went astray");
                break;
        }
        if (r < 0)
                op_finish(o, r);
}

static int on_op_start(sd_event_source *s, void *userdata) {
        struct softcard_op *o = userdata;

        o->defer = sd_event_source_disable_unref(o->defer);
        op_continue(o);
        return 0;
}

/* Its turn came (the op before it on the volume ended): from the loop. */
static void on_op_turn(struct qsd_work *w) {
        struct softcard_op *o = (struct softcard_op *) ((char *) w - offsetof(struct softcard_op, w));

        (void) sd_event_source_set_enabled(o->defer, SD_EVENT_ONESHOT);
}

static void on_op_drop(struct qsd_work *w) {
        struct softcard_op *o = (struct softcard_op *) ((char *) w - offsetof(struct softcard_op, w));

        softcard_op_cancel(o);
}

int softcard_op_start(struct softcard_op *o, softcard_done_fn done, void *userdata, struct softcard_op **ret,
                      struct zero_error *err) {
        _cleanup_(softcard_op_freep) struct softcard_op *op = o;
        sd_event *e = qsd_event(o->q);
        int r;

        if (!e || !done)
                return zero_error_set(err, -EOPNOTSUPP, ZERO_E_INTERNAL, "softcard: asynchronous ops need the agent's loop");
        r = qsd_ensure_nowait(o->q, err);
        if (r < 0)
                return r;
        r = sd_event_add_defer(e, &o->defer, on_op_start, o);
        if (r < 0)
                return zero_error_default(err, r, "Failed to schedule the volume op");
        (void) sd_event_source_set_description(o->defer, "softcard-volume-op");
        o->done = done;
        o->userdata = userdata;
        snprintf(o->w.key, sizeof(o->w.key), "%s", o->n.key);
        o->w.turn = on_op_turn;
        o->w.drop = on_op_drop;
        if (qsd_work_add(o->q, &o->w) == 0)
                (void) sd_event_source_set_enabled(o->defer, SD_EVENT_OFF); /* until on_op_turn() */
        if (ret)
                *ret = o;
        TAKE_PTR(op);
        return 0;
}

struct softcard_op *softcard_op_cancel(struct softcard_op *o) {
        if (!o)
                return NULL;
        qsd_work_remove(o->q, &o->w);
        return softcard_op_free(o);
}

/* ---- What the volume ops share: names, the daemon's state ---- */

void softcard_state_done(struct softcard_state *s) {
        json_decref(s->exports);
        json_decref(s->nodes);
        json_decref(s->objects);
        *s = (struct softcard_state){};
}

json_t *softcard_find(json_t *array, const char *key, const char *value) {
        size_t i;
        json_t *x;

        json_array_foreach(array, i, x) {
                if (streq(strempty(json_string_value(json_object_get(x, key))), value))
                        return x;
        }
        return NULL;
}

/* The names of a volume known by its key alone (prune): no files. */
void softcard_names_of_key(const char *key, struct softcard_names *n) {
        *n = (struct softcard_names){};
        snprintf(n->key, sizeof(n->key), "%.16s", key);
        snprintf(n->f, sizeof(n->f), "f%s", n->key);
        snprintf(n->q, sizeof(n->q), "q%s", n->key);
        snprintf(n->t, sizeof(n->t), "t%s", n->key);
        snprintf(n->g, sizeof(n->g), "g%s", n->key);
        snprintf(n->e, sizeof(n->e), "e%s", n->key);
        snprintf(n->n, sizeof(n->n), "n%s", n->key);
}

void softcard_names_init(struct qsd *q, const char *id, struct softcard_names *n) {
        const char *dir = qsd_exports_dir(q);
        char key[17];

        for (int i = 0; i < 16; i++)
                key[i] = (char) (id[i] | 0x20); /* lower case; digits are unchanged */
        key[16] = '\0';
        softcard_names_of_key(key, n);
        snprintf(n->mnt, sizeof(n->mnt), "%s/%s", dir, id);
        snprintf(n->vhost, sizeof(n->vhost), "%s/%s.vhost", dir, id);
}

/* ---- What the daemon has: three steps, the start of every op ---- */

int op_load_exports(struct softcard_op *o, struct zero_error *err) {
        if (!o->answered)
                return op_qmp(o, "query-block-exports", NULL);
        return op_take(o, &o->s.exports, err);
}

int op_load_nodes(struct softcard_op *o, struct zero_error *err) {
        if (!o->answered) /* flat: no nested backing images, whose size grows with the chains */
                return op_qmp(o, "query-named-block-nodes", json_pack("{s:b}", "flat", 1));
        return op_take(o, &o->s.nodes, err);
}

int op_load_objects(struct softcard_op *o, struct zero_error *err) {
        if (!o->answered)
                return op_qmp(o, "qom-list", json_pack("{s:s}", "path", "/objects"));
        /* qsd 7.2 makes the /objects container with the first object: before, qom-list says
         * "Device '/objects' not found", which means an empty list. */
        if (o->r == -EIO && strstr(o->e.message, "not found")) {
                json_decref(o->s.objects);
                o->s.objects = json_array();
                return o->s.objects ? OP_NEXT : zero_error_default(err, -ENOMEM, "qom-list");
        }
        return op_take(o, &o->s.objects, err);
}

static const op_step_fn load_steps[] = {op_load_exports, op_load_nodes, op_load_objects};

/* All three, at once in the caller (prune). */
int softcard_state_load(struct qsd *q, struct softcard_state *ret, struct zero_error *err) {
        _cleanup_(softcard_op_freep) struct softcard_op *o = NULL;
        int r = softcard_op_new(q, NULL, load_steps, ELEMENTSOF(load_steps), &o, err);

        if (r >= 0) {
                o->use_view = false; /* the daemon's own word (sync's prune), kept in the view */
                r = softcard_op_run(o, err);
        }
        if (r < 0)
                return r;
        softcard_state_done(ret);
        *ret = o->s;
        o->s = (struct softcard_state){};
        return 0;
}

static void pool_work(void *arg, struct zero_subprocess_result *res) {
        const struct softcard_loop_job *j = arg;

        res->r = softcard_pool_ensure(j->pool, false, &res->err);
}

int op_job(struct softcard_op *o, uint64_t size, struct zero_error *err) {
        int r = softcard_loop_job_init(&o->job, qsd_exports_dir(o->q), o->id, size);

        if (r < 0)
                return zero_error_default(err, r, "Failed to prepare the volume's work");
        snprintf(o->job.path, sizeof(o->job.path), "%s", o->path);
        o->job.qos_iops = o->v.qos_iops;
        o->job.qos_bps = o->v.qos_bps;
        o->job.pool = softcard_pool_holds(o->v.pool, o->path) ? o->v.pool : NULL;
        return 0;
}

int op_pool(struct softcard_op *o, struct zero_error *err) {
        int r;

        if (!o->answered && softcard_pool_holds(o->v.pool, o->path) && !softcard_pool_ready(o->v.pool)) {
                r = op_job(o, 0, err);
                return r < 0 ? r : op_work(o, "the pool's mount", pool_work);
        }
        if (o->answered && (r = op_answer(o, err)) < 0)
                return r;
        if (access(o->path, F_OK) < 0)
                return zero_error_set(err, -ENOENT, ZERO_E_NOT_FOUND, "volume %s has no file %s", o->id, o->path);
        return OP_NEXT;
}

json_t *softcard_limits_new(const struct softcard_volume *v) {
        /* 0 is "unlimited" to QEMU too; passing it (rather than leaving it out) is what lifts a
         * limit set before, as qom-set only changes the members it is given. */
        return json_pack("{s:I, s:I}", "iops-total", (json_int_t) v->qos_iops, "bps-total", (json_int_t) v->qos_bps);
}

int op_set_limits(struct softcard_op *o) {
        char path[32];

        snprintf(path, sizeof(path), "/objects/%s", o->n.g);
        return op_qmp(o, "qom-set",
                      json_pack("{s:s, s:s, s:o}", "path", path, "property", "limits", "value", softcard_limits_new(&o->v)));
}

enum zero_card_export_kind softcard_export_kind(json_t *e) {
        const char *type = json_string_value(json_object_get(e, "type"));
        return type && streq(type, "fuse") ? ZERO_CARD_EXPORT_HOST_BLOCK : zero_card_export_kind_from_string(type);
}

bool softcard_is_mounted(struct qsd *q, const char *path) {
        _cleanup_strv_free_ char **mounts = NULL;

        if (softcard_mounts_list(qsd_exports_dir(q), &mounts) < 0)
                return false;
        for (char **m = mounts; *m; m++)
                if (streq(*m, path))
                        return true;
        return false;
}
