/* SPDX-License-Identifier: Apache-2.0 */
/*
 * softcard, the software card: the driver struct of include/zero/card.h and its ops. Storage is
 * the node's one qemu-storage-daemon (qsd.c) and the volumes on it (volume.c, volume_file.c);
 * networking is Linux bridges, veths and taps (net.c); what exports leave in the kernel, loop
 * devices and FUSE mounts, is loop.c's. This file has sync(), which cleans those up too.
 */
#include <dirent.h>
#include <sys/mount.h>

#include "common/util.h"
#include "io/softcard/softcard.h"
#include "io/softcard/storage.h"

struct zero_card {
        char *state_dir, *run_dir, *shim;
        const char *(*config_get)(void *userdata, const char *section, const char *key);
        void *userdata;
        struct zero_nl *nl;
        struct qsd *qsd;
        sd_event *event; /* the agent's: volume jobs' children are watched there */
        struct softcard_jobs jobs;
        struct softcard_pool pool; /* where new volumes live (pool.c) */
        struct card_op *ops; /* the agent's ops under way (card.h): dropped by close() */
};

/* ---- The agent's asynchronous ops (card.h): each answered once, from the loop ---- */

struct card_op {
        struct zero_card *card;
        struct card_op *next;
        zero_card_done_fn done;
        void *userdata;
        sd_event_source *defer; /* the answer of work done at once */
        struct softcard_op *sop; /* the storage half's op under way (storage.h) */
        int r;
        struct zero_card_result res;
        struct zero_error err;
};

static struct card_op *card_op_new(struct zero_card *c, zero_card_done_fn done, void *userdata) {
        struct card_op *op = calloc(1, sizeof(*op));

        if (!op)
                return NULL;
        *op = (struct card_op){.card = c, .next = c->ops, .done = done, .userdata = userdata};
        c->ops = op;
        return op;
}

static void card_op_free(struct card_op *op) {
        for (struct card_op **p = &op->card->ops; *p; p = &(*p)->next)
                if (*p == op) {
                        *p = op->next;
                        break;
                }
        op->defer = sd_event_source_disable_unref(op->defer);
        op->sop = softcard_op_cancel(op->sop); /* close(): its done is not called */
        free(op);
}

/* The op ended: out of the list, then its done (which may start the next op on the object). */
static void card_op_end(struct card_op *op, int r, const char *text, const struct zero_error *err) {
        zero_card_done_fn done = op->done;
        void *userdata = op->userdata;
        struct zero_card_result res = {};
        struct zero_error e = r < 0 && err ? *err : (struct zero_error){};

        if (r >= 0 && text)
                snprintf(res.text, sizeof(res.text), "%s", text);
        if (r < 0)
                (void) zero_error_default(&e, r, "softcard");
        card_op_free(op);
        done(userdata, r, &res, &e);
}

static int on_card_op_defer(sd_event_source *s, void *userdata) {
        struct card_op *op = userdata;

        op->defer = sd_event_source_disable_unref(op->defer);
        card_op_end(op, op->r, op->res.text, &op->err);
        return 0;
}

/* Work that was done at once (rtnetlink; the storage half's synchronous calls): its answer r
 * (with text, err) comes from the loop, never from inside the call. 0, or -errno at once. */
static int card_op_answer(struct zero_card *c, int r, const char *text, const struct zero_error *e,
                          zero_card_done_fn done, void *userdata, struct zero_error *err) {
        struct card_op *op;
        int k;

        if (!done || !c->event)
                return zero_error_set(err, -EOPNOTSUPP, ZERO_E_INTERNAL, "softcard: an op without done or loop");
        op = card_op_new(c, done, userdata);
        if (!op)
                return zero_error_default(err, -ENOMEM, "softcard");
        op->r = r;
        if (r >= 0 && text)
                snprintf(op->res.text, sizeof(op->res.text), "%s", text);
        if (r < 0 && e)
                op->err = *e;
        k = sd_event_add_defer(c->event, &op->defer, on_card_op_defer, op);
        if (k < 0) {
                card_op_free(op);
                return zero_error_default(err, k, "softcard: cannot schedule the answer");
        }
        return 0;
}

static void on_file_done(void *userdata, int r, const struct zero_error *err) {
        card_op_end(userdata, r, NULL, err);
}

static void on_storage_done(void *userdata, int r, const char *path, const struct zero_error *err) {
        struct card_op *op = userdata;

        op->sop = NULL; /* gone with its done */
        card_op_end(op, r, path, err);
}

/* ---- sync: the storage half ---- */

static bool host_kept(const struct zero_card_want_export *ex, size_t n, const char *name, const char *dev) {
        for (size_t i = 0; i < n; i++) {
                const char *id = ex[i].volume ? ex[i].volume->id : NULL;
                size_t len = id ? strlen(id) : 0;

                if (!id || strncmp(name, id, len) != 0)
                        continue;
                if (ex[i].kind == ZERO_CARD_EXPORT_HOST_BLOCK && name[len] == '\0')
                        return !dev || streq(dev, ex[i].path); /* one loop device per volume */
                if (ex[i].kind == ZERO_CARD_EXPORT_VHOST_USER_BLK && streq(name + len, ".vhost"))
                        return true;
        }
        return false;
}

/* Loops, mounts and files under RUN/exports that no wanted export accounts for. */
static void host_prune(struct qsd *q, const struct zero_card_want_export *ex, size_t n, int *failures) {
        const char *exports_dir = qsd_exports_dir(q);
        _cleanup_free_ struct softcard_loop *loops = NULL;
        _cleanup_strv_free_ char **mounts = NULL;
        struct dirent *de;
        size_t n_loops = 0;
        DIR *d;

        if (softcard_loops_list(exports_dir, &loops, &n_loops) < 0)
                (*failures)++;
        for (size_t i = 0; i < n_loops; i++)
                if (!host_kept(ex, n, loops[i].id, loops[i].dev)) {
                        if (softcard_loop_release(&loops[i]) < 0)
                                (*failures)++;
                        softcard_loop_index_forget(qsd_loops(q)); /* read again once all is done */
                }
        if (softcard_mounts_list(exports_dir, &mounts) < 0)
                (*failures)++;
        for (char **m = mounts; m && *m; m++)
                if (!host_kept(ex, n, strrchr(*m, '/') + 1, NULL) && umount2(*m, MNT_DETACH) < 0)
                        (*failures)++;
        d = opendir(exports_dir);
        while (d && (de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, "..") && !host_kept(ex, n, de->d_name, NULL) &&
                    unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT)
                        (*failures)++;
        if (d)
                closedir(d);
}

static void count_failure(int *failures, struct zero_error *err, const struct zero_error *e) {
        if ((*failures)++ == 0 && err)
                *err = *e;
}

static int storage_sync(struct zero_card *c, struct zero_card_want_export *ex, size_t n, struct zero_error *err) {
        int failures = 0, k;

        if (qsd_ensure(c->qsd, err) < 0)
                return (int) n + 1;
        /* The pool mounted at once (zerod's start: everything here is), for stats too. */
        if (softcard_pool_ensure(&c->pool, false, err) < 0)
                return (int) n + 1;
        /* The loop devices as the kernel has them now, read once for every export below. */
        softcard_loop_index_forget(qsd_loops(c->qsd));
        for (size_t i = 0; i < n; i++) {
                struct zero_error e = {};
                bool created = false;
                int r;

                struct softcard_volume v;

                ex[i].recreated = false;
                r = softcard_volume_from(ex[i].volume, &v, &e);
                v.pool = &c->pool;
                if (r >= 0)
                        r = softcard_volume_export(c->qsd, &v, ex[i].kind, ex[i].path, &created, &e);
                if (r == -EBUSY) {
                        /* Exported another way (a switch that crashed half-way): the store wins. */
                        e = (struct zero_error){};
                        r = softcard_volume_unexport(c->qsd, &v, &e);
                        if (r >= 0)
                                r = softcard_volume_export(c->qsd, &v, ex[i].kind, ex[i].path, &created, &e);
                }
                if (r < 0) {
                        ex[i].path[0] = '\0';
                        count_failure(&failures, err, &e);
                        continue;
                }
                ex[i].recreated = created;
        }
        /* Loops before the exports they hold, mounts and files after. */
        host_prune(c->qsd, ex, n, &failures);
        {
                struct zero_error e = {};
                k = softcard_volume_prune(c->qsd, ex, n, &e);
                if (k > 0) {
                        count_failure(&failures, err, &e);
                        failures += k - 1;
                }
        }
        host_prune(c->qsd, ex, n, &failures);
        return failures;
}

/* ---- The ops ---- */

static int card_open(const struct zero_card_env *env, struct zero_card **ret, struct zero_error *err);
static void card_close(struct zero_card *c);
static int card_stop(struct zero_card *c, struct zero_error *err);

/* Every volume op reads the volume's locator first: v is card.h's description, sv the softcard's. */
#define WITH_VOLUME(v, sv, err, call)                                                              \
        ({                                                                                         \
                struct softcard_volume sv;                                                         \
                int _r = softcard_volume_from((v), &sv, (err));                                    \
                sv.pool = &c->pool;                                                                \
                _r < 0 ? _r : (call);                                                              \
        })

#define WITH_DAEMON(c, err, call)                                                                  \
        ({                                                                                         \
                int _rd = qsd_ensure((c)->qsd, (err));                                             \
                _rd < 0 ? _rd : (call);                                                            \
        })

/* Where new volumes go: [card] volumes_dir, or the pool's volumes/ (pool.c). A directory that
 * several nodes' softcards see stands for remote block storage (live migration: the volumes stay
 * where they are, and the card that exports them changes, card.h's volume_release and
 * volume_take); a clone into one on another filesystem than the pool copies its base
 * (volume_file.c's fallback). Each volume's locator names its file, so volumes made before a
 * change of the setting stay where they were. */
static int card_volume_place(struct zero_card *c, const struct zero_card_volume *v, struct zero_card_placement *ret,
                             struct zero_error *err) {
        const char *shared = c->config_get ? c->config_get(c->userdata, "card", "volumes_dir") : NULL;
        _cleanup_free_ char *dir = shared && *shared ? strdup(shared) : zero_strdup_printf("%s/volumes", c->pool.dir);

        if (!dir)
                return zero_error_default(err, -ENOMEM, "softcard");
        if (dir[0] != '/')
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "[card] volumes_dir=%s: an absolute path is needed",
                                      dir);
        return softcard_volume_place(dir, v, ret, err); /* the make creates the directory */
}

/* The synchronous storage call `call` (err: its error), answered from the loop. */
#define ANSWER_LATER(c, done, userdata, err, text, call)                                          \
        ({                                                                                         \
                struct zero_error _e = {};                                                         \
                int _k = (call);                                                                   \
                card_op_answer((c), _k, (text), &_e, (done), (userdata), (err));                  \
        })

/* A volume file's job on the loop (mkfs.ext4, qemu-img, rm as children), answered by its done. */
static int file_job(struct zero_card *c, const struct zero_card_volume *v, bool remove, zero_card_done_fn done,
                    void *userdata, struct zero_error *err) {
        struct softcard_volume sv;
        struct card_op *op;
        int r = softcard_volume_from(v, &sv, err);

        if (r < 0)
                return r;
        sv.pool = &c->pool;
        if (!done || !c->event)
                return zero_error_set(err, -EOPNOTSUPP, ZERO_E_INTERNAL, "softcard: an op without done or loop");
        op = card_op_new(c, done, userdata);
        if (!op)
                return zero_error_default(err, -ENOMEM, "softcard");
        r = remove ? softcard_volume_delete_async(&c->jobs, c->event, c->qsd, &sv, on_file_done, op, err)
                   : softcard_volume_create_async(&c->jobs, c->event, c->qsd, &sv, on_file_done, op, err);
        if (r < 0)
                card_op_free(op);
        return r;
}

static int card_volume_create(struct zero_card *c, const struct zero_card_volume *v, zero_card_done_fn done,
                              void *userdata, struct zero_error *err) {
        return file_job(c, v, false, done, userdata, err); /* no daemon needed */
}

static int card_volume_delete(struct zero_card *c, const struct zero_card_volume *v, zero_card_done_fn done,
                              void *userdata, struct zero_error *err) {
        return file_job(c, v, true, done, userdata, err); /* its unexport step makes sure of the daemon */
}

static int card_volume_validate(struct zero_card *c, const struct zero_card_volume *v, uint64_t size,
                                struct zero_error *err) {
        return WITH_VOLUME(v, sv, err, softcard_volume_validate(&sv, size, err));
}

/*
 * Resize, QoS, export and unexport: the storage half's ops on the loop (storage.h), each a list of
 * steps whose QMP commands are qsd_call_async()s and whose FUSE-bound syscalls run in children:
 * they never hold the loop, a stopped daemon included. A description the driver cannot read, or a
 * daemon being restarted, is refused at once; the rest ends through on_storage_done().
 */
#define STORAGE_OP(c, v, done, userdata, err, start)                                              \
        ({                                                                                         \
                struct softcard_volume _sv;                                                        \
                struct card_op *_op = NULL;                                                        \
                int _r = softcard_volume_from((v), &_sv, (err));                                  \
                _sv.pool = &(c)->pool;                                                             \
                if (_r >= 0 && !(done))                                                            \
                        _r = zero_error_set((err), -EINVAL, ZERO_E_INTERNAL, "softcard: an op without done"); \
                if (_r >= 0 && !(_op = card_op_new((c), (done), (userdata))))                     \
                        _r = zero_error_default((err), -ENOMEM, "softcard");                     \
                if (_r >= 0 && (_r = (start)) < 0)                                                \
                        card_op_free(_op);                                                        \
                _r;                                                                                \
        })

static int card_volume_resize(struct zero_card *c, const struct zero_card_volume *v, uint64_t new_size,
                              zero_card_done_fn done, void *userdata, struct zero_error *err) {
        return STORAGE_OP(c, v, done, userdata, err,
                          softcard_volume_resize_async(c->qsd, &_sv, new_size, on_storage_done, _op, &_op->sop, err));
}

static int card_volume_set_qos(struct zero_card *c, const struct zero_card_volume *v, zero_card_done_fn done,
                               void *userdata, struct zero_error *err) {
        return STORAGE_OP(c, v, done, userdata, err,
                          softcard_volume_set_qos_async(c->qsd, &_sv, on_storage_done, _op, &_op->sop, err));
}

static int card_volume_stats(struct zero_card *c, const struct zero_card_volume *v,
                             struct zero_card_volume_stats *ret, struct zero_error *err) {
        bool old;
        int r;

        if (!ret)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "no stats buffer");
        /* A GET shows stats when it can, and the call holds the loop while it waits: a daemon
         * that stopped answering costs that GET its stats, not every client 10 s; and a daemon
         * merely slow costs it its stats, not the next ops their daemon (qsd_call.c's rules). */
        old = qsd_set_best_effort(c->qsd, true);
        r = WITH_VOLUME(v, sv, err, WITH_DAEMON(c, err, softcard_volume_stats(c->qsd, &sv, ret, err)));
        (void) qsd_set_best_effort(c->qsd, old);
        return r;
}

static int card_volume_export(struct zero_card *c, const struct zero_card_volume *v, enum zero_card_export_kind kind,
                              zero_card_done_fn done, void *userdata, struct zero_error *err) {
        return STORAGE_OP(c, v, done, userdata, err,
                          softcard_volume_export_async(c->qsd, &_sv, kind, on_storage_done, _op, &_op->sop, err));
}

static int card_volume_unexport(struct zero_card *c, const struct zero_card_volume *v, zero_card_done_fn done,
                                void *userdata, struct zero_error *err) {
        return STORAGE_OP(c, v, done, userdata, err,
                          softcard_volume_unexport_async(c->qsd, &_sv, on_storage_done, _op, &_op->sop, err));
}

/* Live migration's hand-over (card.h): the export stays, the volume behind it is closed or opened. */
static int card_volume_release(struct zero_card *c, const struct zero_card_volume *v, enum zero_card_export_kind kind,
                               zero_card_done_fn done, void *userdata, struct zero_error *err) {
        return STORAGE_OP(c, v, done, userdata, err,
                          softcard_volume_hand_async(c->qsd, &_sv, kind, false, on_storage_done, _op, &_op->sop, err));
}

static int card_volume_take(struct zero_card *c, const struct zero_card_volume *v, enum zero_card_export_kind kind,
                            zero_card_done_fn done, void *userdata, struct zero_error *err) {
        return STORAGE_OP(c, v, done, userdata, err,
                          softcard_volume_hand_async(c->qsd, &_sv, kind, true, on_storage_done, _op, &_op->sop, err));
}

/* Networks and NICs: rtnetlink requests to the kernel (and a veth's configuration by a short-lived
 * child in the namespace), microseconds, answered from the loop. */
static int card_network_create(struct zero_card *c, const struct zero_card_network *n, zero_card_done_fn done,
                               void *userdata, struct zero_error *err) {
        char bridge[ZERO_IFNAMSIZ] = "";

        if (softcard_net_bridge(n, bridge) < 0) /* the bridge, for display */
                bridge[0] = '\0';
        return ANSWER_LATER(c, done, userdata, err, bridge, softcard_net_network_create(c->nl, n, &_e));
}

static int card_network_delete(struct zero_card *c, const struct zero_card_network *n, zero_card_done_fn done,
                               void *userdata, struct zero_error *err) {
        return ANSWER_LATER(c, done, userdata, err, NULL, softcard_net_network_delete(c->nl, n, &_e));
}

static int card_nic_attach(struct zero_card *c, const struct zero_card_nic *nic, enum zero_card_nic_kind kind,
                           const char *netns_path, zero_card_done_fn done, void *userdata, struct zero_error *err) {
        char ifname[ZERO_CARD_PATH_MAX] = "";

        return ANSWER_LATER(c, done, userdata, err, kind == ZERO_CARD_NIC_TAP ? ifname : NULL,
                            softcard_net_nic_attach(c->nl, nic, kind, netns_path, ifname, &_e));
}

static int card_nic_detach(struct zero_card *c, const struct zero_card_nic *nic, zero_card_done_fn done,
                           void *userdata, struct zero_error *err) {
        return ANSWER_LATER(c, done, userdata, err, NULL, softcard_net_nic_detach(c->nl, nic, &_e));
}

static int card_sync(struct zero_card *c, const struct zero_card_network *networks, size_t n_networks,
                     struct zero_card_want_export *exports, size_t n_exports, struct zero_card_want_nic *nics,
                     size_t n_nics, struct zero_error *err) {
        struct zero_error e = {};
        int failures, r;

        if ((n_exports > 0 && !exports) || (n_networks > 0 && !networks) || (n_nics > 0 && !nics))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "sync: a list is missing");
        failures = storage_sync(c, exports, n_exports, err);
        r = softcard_net_sync(c->nl, networks, n_networks, nics, n_nics, &e);
        if (r != 0 && failures == 0 && err)
                *err = e;
        return failures + (r < 0 ? 1 : r);
}

static const struct zero_card_driver driver = {
        .abi_version = ZERO_CARD_ABI_VERSION,
        .size = sizeof(struct zero_card_driver),
        .name = "softcard",
        .ops = {
                .open = card_open,
                .close = card_close,
                .volume_place = card_volume_place,
                .volume_validate = card_volume_validate,
                .volume_stats = card_volume_stats,
                .sync = card_sync,
                .volume_create = card_volume_create,
                .volume_delete = card_volume_delete,
                .volume_resize = card_volume_resize,
                .volume_set_qos = card_volume_set_qos,
                .volume_export = card_volume_export,
                .volume_unexport = card_volume_unexport,
                .network_create = card_network_create,
                .network_delete = card_network_delete,
                .nic_attach = card_nic_attach,
                .nic_detach = card_nic_detach,
                .volume_release = card_volume_release,
                .volume_take = card_volume_take,
                .stop = card_stop,
        },
};

/* The driver's one exported symbol (card.h); tests link the static library and call it too. */
__attribute__((visibility("default"))) const struct zero_card_driver *zero_card_driver_entry(void);
const struct zero_card_driver *zero_card_driver_entry(void) {
        return &driver;
}

/* The operator's teardown (card.h): the daemon, then every link the card made on this host. */
static int card_stop(struct zero_card *c, struct zero_error *err) {
        int r = qsd_stop(c->qsd, err);

        if (r < 0)
                return r;
        return softcard_net_sync(c->nl, NULL, 0, NULL, 0, err);
}

static void card_close(struct zero_card *c) {
        if (!c)
                return;
        while (c->ops) /* their done is not called (card.h) */
                card_op_free(c->ops);
        softcard_jobs_cancel(&c->jobs);
        softcard_pool_release(&c->pool);
        c->qsd = qsd_close(c->qsd);
        c->nl = zero_nl_close(c->nl);
        free(c->state_dir);
        free(c->run_dir);
        free(c->shim);
        free(c);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct zero_card *, card_close)

static int card_open(const struct zero_card_env *env, struct zero_card **ret, struct zero_error *err) {
        _cleanup_(card_closep) struct zero_card *c = NULL;
        const char *binary = NULL, *pool = NULL, *pool_size = NULL;
        char run_dir[PATH_MAX];
        int r;

        if (!env || env->size < sizeof(*env) || !ret)
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL, "softcard: no environment");
        if (!env->state_dir || !env->run_dir || env->run_dir[0] != '/')
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL,
                                      "softcard: state and run directories are required");
        if (!env->shim)
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL, "softcard: the path of zero-shim is required");
        c = calloc(1, sizeof(*c));
        if (!c)
                return zero_error_default(err, -ENOMEM, "softcard");
        c->config_get = env->config_get;
        c->userdata = env->userdata;
        c->event = env->event;
        c->state_dir = strdup(env->state_dir);
        c->shim = strdup(env->shim);
        if (!c->state_dir || !c->shim)
                return zero_error_default(err, -ENOMEM, "softcard");
        /* Canonical: loop devices and mountinfo report resolved paths, which we compare with. */
        r = zero_mkdir_p(env->run_dir, 0755);
        if (r < 0)
                return zero_error_default(err, r, "softcard: cannot create the run directory");
        if (!realpath(env->run_dir, run_dir))
                return zero_error_default(err, -errno, "softcard: cannot resolve the run directory");
        c->run_dir = strdup(run_dir);
        if (!c->run_dir)
                return zero_error_default(err, -ENOMEM, "softcard");
        r = zero_nl_open(&c->nl);
        if (r < 0)
                return zero_error_default(err, r, "softcard: cannot open rtnetlink");
        if (c->config_get) {
                binary = c->config_get(c->userdata, "card", "qsd");
                pool = c->config_get(c->userdata, "card", "pool");
                pool_size = c->config_get(c->userdata, "card", "pool_size");
        }
        r = softcard_pool_init(&c->pool, c->state_dir, pool, pool_size, err);
        if (r < 0)
                return r;
        /* Where the block layer's limits go, read now: every op's child inherits it (throttle.c). */
        (void) softcard_throttle_available();
        r = qsd_open(&(struct qsd_config){.event = env->event,
                                          .run_dir = c->run_dir,
                                          .shim = c->shim,
                                          .binary = binary && *binary ? binary : "qemu-storage-daemon",
                                          .lost_exports = env->lost_exports,
                                          .userdata = env->userdata},
                     &c->qsd, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}
