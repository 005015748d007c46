/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * A volume op (export, unexport, resize, QoS) as a list of steps, shared by volume.c, which
 * writes the steps, and volume_op.c, which runs them. Nothing else includes this: storage.h
 * is the interface.
 *
 * A step looks at what the op knows and asks for at most one thing: a QMP command, work off the
 * loop (a function that may wait on the daemon's FUSE export, zero_subprocess_fn), a command
 * (argv), or a pause. It is then called again with the answer (o->answered, o->r, o->value,
 * o->e, o->text) and says where to go: the next step, another step (op_goto()), the op's end, or
 * its failure (-errno with err). Each step is idempotent by looking first (the daemon's state,
 * the kernel's loop devices), so the journal may run a whole op again.
 *
 * Two runners go through the same steps:
 *  - softcard_op_run(): at once, in the caller (a QMP command is a qsd_call(), work runs in
 *    the process, a pause is a poll()): zerod's start and sync(), the card ABI's synchronous ops;
 *  - softcard_op_start(): on the loop (qsd_call_async(), work in a forked child, a timer), each
 *    answer from the loop; done at the end, from the loop.
 */
#include <jansson.h>
#include <limits.h>

#include "io/softcard/storage.h"

enum {
        OP_NEXT = 0, /* on to the next step */
        OP_DONE,     /* the op is done */
        OP_JUMP,     /* op_goto() chose the step */
        OP_QMP,      /* o->execute with o->args */
        OP_WORK,     /* o->work(&o->job) off the loop, named o->work_name */
        OP_RUN,      /* the command o->argv */
        OP_SLEEP,    /* o->sleep_usec */
};

struct softcard_op;
typedef int (*op_step_fn)(struct softcard_op *o, struct zero_error *err);

/* The daemon's names of a volume's nodes (storage.h). */
struct softcard_names {
        char key[17]; /* first 16 hex digits of the id, lower case */
        char f[18], q[18], t[18], g[18], e[18];
        char n[18]; /* the null node behind a released export (volume_release) */
        char mnt[PATH_MAX], vhost[PATH_MAX];
};

/* What the daemon has; each member the "return" of its query. */
struct softcard_state {
        json_t *exports, *nodes, *objects;
};

struct softcard_op {
        /* ---- The runner's (volume_op.c) ---- */
        struct qsd *q;
        const op_step_fn *steps;
        size_t n_steps, step;
        /* What the step asked for. */
        const char *execute;
        json_t *args;
        const char *work_name;
        zero_subprocess_fn work;
        char *argv[16];
        uint64_t sleep_usec;
        /* Its answer. */
        bool answered;
        int r;
        json_t *value;
        struct zero_error e;
        char text[64];
        /* The op's own error (the steps' err). */
        struct zero_error err;
        /* On the loop. */
        struct qsd_work w;
        sd_event_source *defer, *timer;
        struct qsd_call *call;
        struct zero_subprocess *child;
        softcard_done_fn done;
        void *userdata;

        /* ---- The steps' (volume.c) ---- */
        struct softcard_volume v; /* strings below are ours */
        char id[33], path[PATH_MAX], base_path[PATH_MAX];
        const char *name_id; /* v.id, or NULL for prune's ops by names alone */
        struct softcard_names n;
        struct softcard_state s;
        struct softcard_loop_job job;
        enum zero_card_export_kind kind;
        uint64_t new_size, cur_size;
        uint64_t gone_deadline, gone_delay_usec;
        char top[18];       /* resize: the topmost node there is */
        char size_arg[24];  /* resize: qemu-img's argument */
        char dev[32];       /* export: the loop device */
        bool exported;      /* the export was there */
        bool nbd_retry;     /* the NBD server went away: start it and add the export again */
        bool created;       /* export: the export or its loop device had to be made */
        bool direct;        /* export: a direct loop device over the raw file, no daemon */
        bool use_view;      /* the daemon's lists from the card's view (view.c), when it has them */
        const char *t_child; /* the throttle node's child when it is made: q, or n (released) */
        char export_path[ZERO_CARD_PATH_MAX];
};

/* A new op over steps, on v (checked: ZERO_E_INVALID; copied; its names set), or on no volume
 * (NULL: the caller sets o->n, prune). */
int softcard_op_new(struct qsd *q, const struct softcard_volume *v, const op_step_fn *steps, size_t n_steps,
                    struct softcard_op **ret, struct zero_error *err);
struct softcard_op *softcard_op_free(struct softcard_op *o);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct softcard_op *, softcard_op_free)

/* Runs o's steps to the end, in the caller: 0 or -errno with err. o stays the caller's. */
int softcard_op_run(struct softcard_op *o, struct zero_error *err);
/* Runs o's steps on the loop (takes o, also on failure): storage.h's rules for the *_async ops. */
int softcard_op_start(struct softcard_op *o, softcard_done_fn done, void *userdata, struct softcard_op **ret,
                      struct zero_error *err);

/* For the steps: what they ask for, and how they read the answer. */
int op_qmp(struct softcard_op *o, const char *execute, json_t *args);
int op_work(struct softcard_op *o, const char *what, zero_subprocess_fn fn);
int op_command(struct softcard_op *o, char *const argv[]);
int op_sleep(struct softcard_op *o, uint64_t usec);
int op_goto(struct softcard_op *o, op_step_fn step);
/* OP_NEXT when the answer is a success, else its error in err. */
int op_answer(struct softcard_op *o, struct zero_error *err);
/* The answer's value moved to *ret (which it replaces), or its error. */
int op_take(struct softcard_op *o, json_t **ret, struct zero_error *err);

/* ---- What the volume ops share (volume_op.c) ---- */

void softcard_names_init(struct qsd *q, const char *id, struct softcard_names *n);
/* The names of a volume known by its key alone (prune): no files. */
void softcard_names_of_key(const char *key, struct softcard_names *n);

void softcard_state_done(struct softcard_state *s);
/* The element of array whose member key is the string value, or NULL. */
json_t *softcard_find(json_t *array, const char *key, const char *value);
#define find_export(s, id) softcard_find((s)->exports, "id", (id))
#define find_node(s, name) softcard_find((s)->nodes, "node-name", (name))
#define find_object(s, id) softcard_find((s)->objects, "name", (id))
/* Steps: what the daemon has, into o->s. */
int op_load_exports(struct softcard_op *o, struct zero_error *err);
int op_load_nodes(struct softcard_op *o, struct zero_error *err);
int op_load_objects(struct softcard_op *o, struct zero_error *err);
/* All three, at once in the caller. */
int softcard_state_load(struct qsd *q, struct softcard_state *ret, struct zero_error *err);

/* Step: the pool mounted if o->v lives in it (a child: pool.c), or the op's end with
 * ZERO_E_NOT_FOUND when its file is missing. */
int op_pool(struct softcard_op *o, struct zero_error *err);
/* o->job for work on o's volume (its file, limits, pool; size for a refresh). */
int op_job(struct softcard_op *o, uint64_t size, struct zero_error *err);

/* v's QoS limits as QEMU's throttle group takes them. */
json_t *softcard_limits_new(const struct softcard_volume *v);
/* Asks for the volume's QoS limits (o->v's) on its throttle group. */
int op_set_limits(struct softcard_op *o);
/* The kind of an export of query-block-exports (host-block for "fuse"). */
enum zero_card_export_kind softcard_export_kind(json_t *e);
/* Whether something is mounted at path (under RUN/exports), from mountinfo. */
bool softcard_is_mounted(struct qsd *q, const char *path);

/* volume_export.c: the export, nodes and group of a volume known by its key, deleted (prune). */
int softcard_unexport_key(struct qsd *q, const char *key, struct zero_error *err);
