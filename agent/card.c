/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The card's life in the agent: the driver opened at start, volumes finished or collected,
 * the card synced with the store (at start, and whenever the driver's daemon lost its
 * exports), and the services through which plugins export volumes and attach NICs.
 */
#include <signal.h>
#include <string.h>

#include "agent/card.h"
#include "io/card_loader.h"
#include "agent/image.h"
#include "agent/network_service.h"
#include "agent/operation.h"
#include "agent/card_job.h"
#include "common/log.h"
#include "common/util.h"
#include "zero/card.h"

static const char *card_config_get(void *userdata, const char *section, const char *key) {
        struct zero_agent *a = userdata;

        return zero_config_get(a->config, section, key);
}

int zero_card_vol_init(struct zero_agent *a, const struct zero_volume_row *row, struct zero_card_vol *ret) {
        struct zero_image_row image = {};

        *ret = (struct zero_card_vol){};
        if (row->image) {
                int r = zero_store_image_get(a->store, row->image, &image);
                if (r < 0)
                        return r;
                ret->source = zero_strdup_printf("%s/%s", image.path, ZERO_IMAGE_BASE_FILE);
                zero_image_row_done(&image);
                if (!ret->source)
                        return -ENOMEM;
        }
        ret->v = (struct zero_card_volume){
                .size = sizeof(struct zero_card_volume),
                .id = row->id,
                .locator = row->locator,
                .size_bytes = (uint64_t) row->size_bytes,
                .source = ret->source,
                .qos_iops = (uint64_t) row->qos_iops,
                .qos_bps = (uint64_t) row->qos_bps,
        };
        return 0;
}

int zero_card_volume_place(struct zero_agent *a, struct zero_volume_row *row, struct zero_error *err) {
        struct zero_card_placement pl = {};
        struct zero_card_vol cv;
        char *locator, *format;
        int r;

        r = zero_card_vol_init(a, row, &cv);
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_INVALID, "volume %s: its image is unreadable: %s", row->name,
                                      strerror(-r));
        cv.v.locator = NULL;
        r = a->card_driver->ops.volume_place(a->card, &cv.v, &pl, err);
        zero_card_vol_done(&cv);
        if (r < 0)
                return r;
        if (!pl.locator[0] || !memchr(pl.locator, 0, sizeof(pl.locator)) || !memchr(pl.format, 0, sizeof(pl.format)))
                return zero_error_set(err, -EPROTO, ZERO_E_INTERNAL, "the card driver placed volume %s nowhere",
                                      row->name);
        locator = strdup(pl.locator);
        format = strdup(pl.format);
        if (!locator || !format) {
                free(locator);
                free(format);
                return zero_error_default(err, -ENOMEM, "placing the volume");
        }
        free(row->locator);
        free(row->format);
        row->locator = locator;
        row->format = format;
        return 0;
}

void zero_card_vol_done(struct zero_card_vol *cv) {
        free(cv->source);
        *cv = (struct zero_card_vol){};
}

int zero_card_volume_validate(struct zero_agent *a, const struct zero_volume_row *row, uint64_t size,
                              struct zero_error *err) {
        struct zero_card_vol cv;
        int r;

        r = zero_card_vol_init(a, row, &cv);
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_INTERNAL, "volume %s is unreadable: %s", row->name, strerror(-r));
        r = a->card_driver->ops.volume_validate(a->card, &cv.v, size, err);
        zero_card_vol_done(&cv);
        return r;
}

/* --- sync --- */

struct sync_lists {
        struct zero_network_row *nets;
        size_t n_nets;
        struct zero_attachment_row *atts;
        size_t n_atts;
        struct zero_nic_row *nics;
        size_t n_nics;
        struct zero_volume_row *vols;     /* per exported attachment */
        struct zero_card_vol *cvols;      /* per exported attachment */
        struct zero_card_network *cnets;  /* per network kept */
        size_t n_cnets;
        struct zero_card_want_export *exports;
        size_t n_exports;
        struct zero_card_nic *cnics;      /* per attached NIC */
        struct zero_card_want_nic *want_nics;
        size_t n_want_nics;
};

static void sync_lists_done(struct sync_lists *l) {
        for (size_t i = 0; i < l->n_exports; i++) {
                zero_card_vol_done(&l->cvols[i]);
                zero_volume_row_done(&l->vols[i]);
        }
        free(l->cvols);
        free(l->vols);
        free(l->exports);
        free(l->cnets);
        free(l->cnics);
        free(l->want_nics);
        zero_network_rows_free(l->nets, l->n_nets);
        zero_attachment_rows_free(l->atts, l->n_atts);
        zero_nic_rows_free(l->nics, l->n_nics);
        *l = (struct sync_lists){};
}

static const struct zero_card_network *find_network(const struct sync_lists *l, const char *name) {
        for (size_t i = 0; i < l->n_cnets; i++)
                if (streq(l->cnets[i].name, name))
                        return &l->cnets[i];
        return NULL;
}

struct zero_card_network zero_card_network_of(const struct zero_network_row *row) {
        return (struct zero_card_network){
                .size = sizeof(struct zero_card_network),
                .id = row->id,
                .name = row->name,
                .subnet = row->subnet,
                .gateway = row->gateway,
        };
}

static int sync_lists_load(struct zero_agent *a, struct sync_lists *l) {
        int r;

        *l = (struct sync_lists){};
        if ((r = zero_store_network_list(a->store, &l->nets, &l->n_nets)) < 0 ||
            (r = zero_store_attachment_list(a->store, &l->atts, &l->n_atts)) < 0 ||
            (r = zero_store_nic_list(a->store, &l->nics, &l->n_nics)) < 0)
                return r;
        l->cnets = calloc(l->n_nets + 1, sizeof(*l->cnets));
        l->vols = calloc(l->n_atts + 1, sizeof(*l->vols));
        l->cvols = calloc(l->n_atts + 1, sizeof(*l->cvols));
        l->exports = calloc(l->n_atts + 1, sizeof(*l->exports));
        l->cnics = calloc(l->n_nics + 1, sizeof(*l->cnics));
        l->want_nics = calloc(l->n_nics + 1, sizeof(*l->want_nics));
        if (!l->cnets || !l->vols || !l->cvols || !l->exports || !l->cnics || !l->want_nics)
                return -ENOMEM;
        /* A network the card is removing is not kept (its job finds it gone); one it is making
         * is (its job finds it made). */
        for (size_t i = 0; i < l->n_nets; i++)
                if (zero_net_state_of(&l->nets[i]) != ZERO_NET_DELETING)
                        l->cnets[l->n_cnets++] = zero_card_network_of(&l->nets[i]);
        for (size_t i = 0; i < l->n_atts; i++) {
                enum zero_card_export_kind k = zero_card_export_kind_from_string(l->atts[i].export_kind);
                size_t j = l->n_exports;

                if (k == ZERO_CARD_EXPORT_NONE)
                        continue;
                r = zero_store_volume_get(a->store, l->atts[i].volume, &l->vols[j]);
                if (r >= 0)
                        r = zero_card_vol_init(a, &l->vols[j], &l->cvols[j]);
                if (r < 0) {
                        zero_volume_row_done(&l->vols[j]);
                        return r;
                }
                l->exports[j] = (struct zero_card_want_export){.volume = &l->cvols[j].v, .kind = k};
                l->n_exports++;
        }
        for (size_t i = 0; i < l->n_nics; i++) {
                enum zero_card_nic_kind k = zero_card_nic_kind_from_string(l->nics[i].attach_kind);
                const struct zero_card_network *net = find_network(l, l->nics[i].network);
                size_t j = l->n_want_nics;

                if (k == ZERO_CARD_NIC_NONE || !net)
                        continue;
                l->cnics[j] = (struct zero_card_nic){
                        .size = sizeof(struct zero_card_nic),
                        .id = l->nics[i].id,
                        .mac = l->nics[i].mac,
                        .ip = l->nics[i].ip,
                        .ifname = zero_card_nic_ifname(l->nics[i].idx),
                        .network = net,
                };
                l->want_nics[j] = (struct zero_card_want_nic){
                        .nic = &l->cnics[j],
                        .kind = k,
                        .netns_path = k == ZERO_CARD_NIC_VETH ? l->nics[i].attach_target : NULL,
                };
                l->n_want_nics++;
        }
        return 0;
}

/* Static strings: the ifname of a struct zero_card_nic must outlive the calls it is passed to. */
const char *zero_card_nic_ifname(int64_t idx) {
        static const char *const names[] = {"eth0", "eth1", "eth2", "eth3", "eth4", "eth5", "eth6", "eth7"};
        _Static_assert(ELEMENTSOF(names) == ZERO_CARD_NICS_MAX, "one name per NIC");
        return idx >= 0 && idx < (int64_t) ELEMENTSOF(names) ? names[idx] : "eth0";
}

int zero_card_sync(struct zero_agent *a) {
        struct sync_lists l;
        struct zero_error err = {};
        int r, bad;

        r = sync_lists_load(a, &l);
        if (r < 0) {
                sync_lists_done(&l);
                return log_error_errno(r, "Failed to read the card's rows: %m");
        }
        bad = a->card_driver->ops.sync(a->card, l.cnets, l.n_cnets, l.exports, l.n_exports, l.want_nics,
                                       l.n_want_nics, &err);
        if (bad != 0)
                log_warning("The card is not fully in line with the store (%d item(s)): %s", bad, err.message);
        for (size_t i = 0; i < l.n_atts; i++) {
                struct zero_card_want_export *w = NULL;

                for (size_t j = 0; j < l.n_exports; j++)
                        if (l.vols[j].name && streq(l.vols[j].name, l.atts[i].volume))
                                w = &l.exports[j];
                if (!w || !w->recreated)
                        continue;
                if (w->path[0] && !streq(strempty(l.atts[i].export_path), w->path)) {
                        char *path = strdup(w->path);
                        /* Never a NULL path under a kind: the row keeps the old one instead. */
                        if (path) {
                                free(l.atts[i].export_path);
                                l.atts[i].export_path = path;
                                (void) zero_store_attachment_update(a->store, &l.atts[i]);
                        } else
                                log_error("Out of memory: the new export of %s is not recorded", l.atts[i].volume);
                }
                if (l.atts[i].released) {
                        /* Made anew with the volume open behind it: a migration had handed it to
                         * another node's card (card.h's volume_release), and it stays released
                         * until the migration's steps take it back. The card's jobs wait for this
                         * sync, and the journal's steps ask again anyway. */
                        struct zero_error e = {};
                        if (zero_card_job(a,
                                          &(struct zero_card_job_req){.kind = ZERO_CARD_JOB_RELEASE,
                                                                      .object = l.atts[i].volume,
                                                                      .how = l.atts[i].export_kind},
                                          NULL, NULL, &e) < 0)
                                log_error("Cannot release volume %s again: %s", l.atts[i].volume, e.message);
                        continue;
                }
                zero_inst_restart(a, l.atts[i].instance_id, "its volume's export was lost and made anew");
        }
        for (size_t i = 0; i < l.n_want_nics; i++)
                if (l.want_nics[i].recreated)
                        log_info("NIC %s was attached again", l.cnics[i].id);
        sync_lists_done(&l);
        return bad < 0 ? bad : 0;
}

/* The sync runs from the loop once no card job runs (card_job.h): the driver's ops never meet it. */
static void on_lost_exports(void *userdata) {
        zero_card_jobs_sync_soon(userdata);
}

/* The driver [card] driver names (the softcard by default), from the plugin directory. */
static int card_load(struct zero_agent *a) {
        const char *name = zero_config_get(a->config, "card", "driver");
        struct zero_card_lib lib = {};
        struct zero_error err = {};
        int r;

        r = zero_card_lib_load(a->config->plugin_dir, name && *name ? name : ZERO_CARD_DRIVER_DEFAULT, "zerod", &lib, &err);
        if (r < 0)
                return log_error_errno(r, "Cannot load the card driver: %s", err.message);
        a->card_handle = TAKE_PTR(lib.handle);
        a->card_driver = lib.driver;
        zero_card_lib_done(&lib);
        return 0;
}

int zero_card_start(struct zero_agent *a) {
        _cleanup_free_ char *state = zero_strdup_printf("%s/card", a->config->state_dir);
        _cleanup_free_ char *run = zero_strdup_printf("%s/card", a->config->run_dir);
        struct zero_error err = {};
        struct zero_card_env env;
        int r;

        if (!state || !run)
                return -ENOMEM;
        r = card_load(a);
        if (r < 0)
                return r;
        if ((r = zero_mkdir_p(state, 0700)) < 0 || (r = zero_mkdir_p(run, 0700)) < 0)
                return log_error_errno(r, "Failed to create the card's directories: %m");
        env = (struct zero_card_env){
                .size = sizeof(env),
                .event = a->event,
                .state_dir = state,
                .run_dir = run,
                .shim = a->config->shim_path,
                .config_get = card_config_get,
                .lost_exports = on_lost_exports,
                .userdata = a,
        };
        r = a->card_driver->ops.open(&env, &a->card, &err);
        if (r < 0)
                return log_error_errno(r, "Failed to open the card (%s): %s", a->card_driver->name, err.message);
        /* The sync first, while no job runs; then volumes left half-made or half-deleted are
         * finished (their jobs start now, their answers come once the loop runs): operations
         * resumed on them wait for the same jobs. */
        r = zero_card_sync(a);
        zero_card_jobs_resume(a);
        return r;
}

uint64_t zero_card_capabilities(const struct zero_agent *a) {
        if (!a->card || !ZERO_CARD_HAS(a->card_driver, capabilities))
                return 0;
        return a->card_driver->ops.capabilities(a->card);
}

void zero_card_stop(struct zero_agent *a) {
        if (a->card) {
                a->card_driver->ops.close(a->card); /* stops its ops under way, calling nobody */
                a->card = NULL;
        }
        zero_card_jobs_free(a);
        /* Last: the driver's code goes with it. */
        if (a->card_handle) {
                struct zero_card_lib lib = {.handle = TAKE_PTR(a->card_handle)};
                zero_card_lib_done(&lib);
        }
        a->card_driver = NULL;
}

/* What keeps the card needed: a live instance or an operation under way; logged, -EBUSY. */
static int card_needed(struct zero_agent *a) {
        struct zero_instance_row *rows = NULL;
        struct zero_operation_row *ops = NULL;
        size_t n = 0, n_ops = 0;
        int r = zero_store_instance_list(a->store, &rows, &n);

        if (r < 0)
                return log_error_errno(r, "Cannot read the instances: %m");
        for (size_t i = 0; i < n && r >= 0; i++)
                if (zero_inst_state_live(zero_inst_state_of(&rows[i])))
                        r = log_error_errno(-EBUSY, "Not stopping the card: instance %s is %s (stop it first)",
                                            rows[i].name, rows[i].state);
        zero_instance_rows_free(rows, n);
        if (r < 0)
                return r;
        r = zero_store_operation_list_unfinished(a->store, &ops, &n_ops);
        if (r < 0)
                return log_error_errno(r, "Cannot read the operations: %m");
        if (n_ops > 0)
                r = log_error_errno(-EBUSY, "Not stopping the card: operation %s (%s) is under way (start zerod to end it)",
                                    ops[0].id, ops[0].kind);
        zero_operation_rows_free(ops, n_ops);
        return r;
}

int zero_card_teardown(struct zero_agent *a) {
        _cleanup_free_ char *state = zero_strdup_printf("%s/card", a->config->state_dir);
        _cleanup_free_ char *run = zero_strdup_printf("%s/card", a->config->run_dir);
        struct zero_error err = {};
        int r;

        if (!state || !run)
                return -ENOMEM;
        r = card_needed(a);
        if (r >= 0)
                r = card_load(a);
        if (r < 0)
                return r;
        if (!ZERO_CARD_HAS(a->card_driver, stop))
                return log_error_errno(-EOPNOTSUPP, "The card (%s) cannot be stopped from this host",
                                       a->card_driver->name);
        /* Opened to adopt what runs (its daemon), not synced: nothing is exported or made. */
        r = a->card_driver->ops.open(&(struct zero_card_env){.size = sizeof(struct zero_card_env),
                                                             .event = a->event,
                                                             .state_dir = state,
                                                             .run_dir = run,
                                                             .shim = a->config->shim_path,
                                                             .config_get = card_config_get,
                                                             .userdata = a},
                                     &a->card, &err);
        if (r < 0)
                return log_error_errno(r, "Failed to open the card (%s): %s", a->card_driver->name, err.message);
        r = a->card_driver->ops.stop(a->card, &err);
        if (r < 0)
                return log_error_errno(r, "Failed to stop the card (%s): %s", a->card_driver->name, err.message);
        log_info("The card (%s) is stopped: its daemons and links are gone; the next zerod starts them again",
                 a->card_driver->name);
        return 0;
}
