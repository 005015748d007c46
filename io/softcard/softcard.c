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
};

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
static void host_prune(const char *exports_dir, const struct zero_card_want_export *ex, size_t n, int *failures) {
        _cleanup_free_ struct softcard_loop *loops = NULL;
        _cleanup_strv_free_ char **mounts = NULL;
        struct dirent *de;
        size_t n_loops = 0;
        DIR *d;

        if (softcard_loops_list(exports_dir, &loops, &n_loops) < 0)
                (*failures)++;
        for (size_t i = 0; i < n_loops; i++)
                if (!host_kept(ex, n, loops[i].id, loops[i].dev) && softcard_loop_detach(loops[i].dev) < 0)
                        (*failures)++;
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
        const char *exports_dir = qsd_exports_dir(c->qsd);
        int failures = 0, k;

        if (qsd_ensure(c->qsd, err) < 0)
                return (int) n + 1;
        for (size_t i = 0; i < n; i++) {
                struct zero_error e = {};
                bool created = false;
                int r;

                struct softcard_volume v;

                ex[i].recreated = false;
                r = softcard_volume_from(ex[i].volume, &v, &e);
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
        host_prune(exports_dir, ex, n, &failures);
        {
                struct zero_error e = {};
                k = softcard_volume_prune(c->qsd, ex, n, &e);
                if (k > 0) {
                        count_failure(&failures, err, &e);
                        failures += k - 1;
                }
        }
        host_prune(exports_dir, ex, n, &failures);
        return failures;
}

/* ---- The ops ---- */

static int card_open(const struct zero_card_env *env, struct zero_card **ret, struct zero_error *err);
static void card_close(struct zero_card *c);

/* Every volume op reads the volume's locator first: v is card.h's description, sv the softcard's. */
#define WITH_VOLUME(v, sv, err, call)                                                              \
        ({                                                                                         \
                struct softcard_volume sv;                                                         \
                int _r = softcard_volume_from((v), &sv, (err));                                    \
                _r < 0 ? _r : (call);                                                              \
        })

#define WITH_DAEMON(c, err, call)                                                                  \
        ({                                                                                         \
                int _rd = qsd_ensure((c)->qsd, (err));                                             \
                _rd < 0 ? _rd : (call);                                                            \
        })

static int card_volume_place(struct zero_card *c, const struct zero_card_volume *v, struct zero_card_placement *ret,
                             struct zero_error *err) {
        _cleanup_free_ char *dir = zero_strdup_printf("%s/volumes", c->state_dir);

        if (!dir)
                return zero_error_default(err, -ENOMEM, "softcard");
        return softcard_volume_place(dir, v, ret, err);
}

static int card_volume_create(struct zero_card *c, const struct zero_card_volume *v, struct zero_error *err) {
        return WITH_VOLUME(v, sv, err, softcard_volume_create(c->qsd, &sv, err)); /* no daemon needed */
}

static int card_volume_delete(struct zero_card *c, const struct zero_card_volume *v, struct zero_error *err) {
        /* Its unexport step makes sure of the daemon. */
        return WITH_VOLUME(v, sv, err, softcard_volume_delete(c->qsd, &sv, err));
}

static int card_volume_validate(struct zero_card *c, const struct zero_card_volume *v, uint64_t size,
                                struct zero_error *err) {
        return WITH_VOLUME(v, sv, err, softcard_volume_validate(&sv, size, err));
}

static int card_volume_create_async(struct zero_card *c, const struct zero_card_volume *v, zero_card_done_fn done,
                                    void *userdata, struct zero_error *err) {
        return WITH_VOLUME(v, sv, err, softcard_volume_create_async(&c->jobs, c->event, c->qsd, &sv, done, userdata, err));
}

static int card_volume_delete_async(struct zero_card *c, const struct zero_card_volume *v, zero_card_done_fn done,
                                    void *userdata, struct zero_error *err) {
        return WITH_VOLUME(v, sv, err, softcard_volume_delete_async(&c->jobs, c->event, c->qsd, &sv, done, userdata, err));
}

static int card_volume_resize(struct zero_card *c, const struct zero_card_volume *v, uint64_t new_size,
                              struct zero_error *err) {
        return WITH_VOLUME(v, sv, err, WITH_DAEMON(c, err, softcard_volume_resize(c->qsd, &sv, new_size, err)));
}

static int card_volume_set_qos(struct zero_card *c, const struct zero_card_volume *v, struct zero_error *err) {
        return WITH_VOLUME(v, sv, err, WITH_DAEMON(c, err, softcard_volume_set_qos(c->qsd, &sv, err)));
}

static int card_volume_stats(struct zero_card *c, const struct zero_card_volume *v,
                             struct zero_card_volume_stats *ret, struct zero_error *err) {
        uint64_t timeout;
        int r;

        if (!ret)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "no stats buffer");
        /* A GET shows stats when it can, and the call holds the loop while it waits: a daemon
         * that stopped answering costs that GET its stats, not every client 10 s. */
        timeout = qsd_set_timeout(c->qsd, QSD_QUICK_TIMEOUT_USEC);
        r = WITH_VOLUME(v, sv, err, WITH_DAEMON(c, err, softcard_volume_stats(c->qsd, &sv, ret, err)));
        (void) qsd_set_timeout(c->qsd, timeout);
        return r;
}

static int card_volume_export(struct zero_card *c, const struct zero_card_volume *v, enum zero_card_export_kind kind,
                              char ret_path[static ZERO_CARD_PATH_MAX], struct zero_error *err) {
        return WITH_VOLUME(v, sv, err, WITH_DAEMON(c, err, softcard_volume_export(c->qsd, &sv, kind, ret_path, NULL, err)));
}

static int card_volume_unexport(struct zero_card *c, const struct zero_card_volume *v, struct zero_error *err) {
        return WITH_VOLUME(v, sv, err, WITH_DAEMON(c, err, softcard_volume_unexport(c->qsd, &sv, err)));
}

static int card_network_create(struct zero_card *c, const struct zero_card_network *n,
                               char ret_name[static ZERO_CARD_NAME_MAX], struct zero_error *err) {
        char bridge[ZERO_IFNAMSIZ];
        int r = softcard_net_network_create(c->nl, n, err);

        if (r >= 0)
                snprintf(ret_name, ZERO_CARD_NAME_MAX, "%s",
                         softcard_net_bridge(n, bridge) >= 0 ? bridge : ""); /* the bridge, for display */
        return r;
}

static int card_network_delete(struct zero_card *c, const struct zero_card_network *n, struct zero_error *err) {
        return softcard_net_network_delete(c->nl, n, err);
}

static int card_nic_attach(struct zero_card *c, const struct zero_card_nic *nic, enum zero_card_nic_kind kind,
                           const char *netns_path, char ret_ifname[static ZERO_CARD_PATH_MAX], struct zero_error *err) {
        return softcard_net_nic_attach(c->nl, nic, kind, netns_path, ret_ifname, err);
}

static int card_nic_detach(struct zero_card *c, const struct zero_card_nic *nic, struct zero_error *err) {
        return softcard_net_nic_detach(c->nl, nic, err);
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
                .volume_create = card_volume_create,
                .volume_delete = card_volume_delete,
                .volume_resize = card_volume_resize,
                .volume_set_qos = card_volume_set_qos,
                .volume_stats = card_volume_stats,
                .volume_export = card_volume_export,
                .volume_unexport = card_volume_unexport,
                .network_create = card_network_create,
                .network_delete = card_network_delete,
                .nic_attach = card_nic_attach,
                .nic_detach = card_nic_detach,
                .sync = card_sync,
                .volume_validate = card_volume_validate,
                .volume_create_async = card_volume_create_async,
                .volume_delete_async = card_volume_delete_async,
                .volume_place = card_volume_place,
        },
};

/* The driver's one exported symbol (card.h); tests link the static library and call it too. */
__attribute__((visibility("default"))) const struct zero_card_driver *zero_card_driver_entry(void);
const struct zero_card_driver *zero_card_driver_entry(void) {
        return &driver;
}

static void card_close(struct zero_card *c) {
        if (!c)
                return;
        softcard_jobs_cancel(&c->jobs);
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
        const char *binary = NULL;
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
        if (c->config_get)
                binary = c->config_get(c->userdata, "card", "qsd");
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
