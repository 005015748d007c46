/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The card's storage and networking engine: softcard.so, loaded through card ABI 4 as zerod loads a
 * card driver (io/card_loader.c), with the card's own state and run directories (STATE/softcard,
 * RUN/softcard) and its own qemu-storage-daemon under zero-shim. Its code is not copied here: the
 * card daemon is one more user of the ABI. What the driver keeps apart from the store (its daemon,
 * exports, links) it finds again by looking, and sync() puts it in line with the store at the
 * card's start.
 */
#include <stdio.h>
#include <string.h>

#include "card/card.h"
#include "card/job.h"
#include "card/store.h"
#include "common/log.h"
#include "common/util.h"
#include "io/card_loader.h"

#define SYNC_MAX 1024

static const char *config_get(void *userdata, const char *section, const char *key) {
        struct zc *zc = userdata;
        /* The driver's own section is "card" (card.h); in the card's file it is [storage]. */
        return zc_config_get(zc->config, streq(section, "card") ? "storage" : section, key);
}

static void on_lost_exports(void *userdata) {
        struct zc *zc = userdata;
        struct zero_error err = {};

        /* The daemon was started afresh with no exports. Put them back once nothing runs on the
         * driver (card.h); the host's NBD clients reconnect (reconnect-delay, present.c). */
        if (zc->jobs) {
                log_warning("The storage daemon lost its exports while jobs run: they are "
                            "made again at the next "
                            "presentation or the card's next start");
                return;
        }
        if (zc_engine_sync(zc, &err) < 0)
                log_error("Cannot export the presented volumes again: %s", err.message);
}

int zc_engine_open(struct zc *zc, struct zero_error *err) {
        _cleanup_free_ char *state = zero_strdup_printf("%s/softcard", zc->config->state_dir);
        _cleanup_free_ char *run = zero_strdup_printf("%s/softcard", zc->config->run_dir);
        int r;

        if (!state || !run)
                return -ENOMEM;
        r = zero_card_lib_load_path(zc->config->softcard, "zero-card", &zc->lib, err);
        if (r < 0)
                return r;
        zc->driver = zc->lib.driver;
        if ((r = zero_mkdir_p(state, 0700)) < 0 || (r = zero_mkdir_p(run, 0700)) < 0)
                return zero_error_set(err, r, ZERO_E_INTERNAL, "cannot make the engine's directories: %s",
                                      strerror(-r));
        return zc->driver->ops.open(&(struct zero_card_env){.size = sizeof(struct zero_card_env),
                                                            .event = zc->event,
                                                            .state_dir = state,
                                                            .run_dir = run,
                                                            .shim = zc->config->shim,
                                                            .config_get = config_get,
                                                            .lost_exports = on_lost_exports,
                                                            .userdata = zc},
                                    &zc->card, err);
}

void zc_engine_close(struct zc *zc) {
        if (zc->card)
                zc->driver->ops.close(zc->card);
        zc->card = NULL;
        zero_card_lib_done(&zc->lib); /* after close(): its code lives there */
        zc->driver = NULL;
}

static const char *str(json_t *rec, const char *key) {
        return json_string_value(json_object_get(rec, key));
}

int zc_volume_desc(struct zc *zc, const char *id, json_t *rec, struct zc_volume_desc *ret) {
        const char *hash = str(rec, "source");

        *ret = (struct zc_volume_desc){};
        if (hash)
                snprintf(ret->source, sizeof(ret->source), "%s/%s.raw", zc->images_dir, hash);
        ret->v = (struct zero_card_volume){.size = sizeof(struct zero_card_volume),
                                           .id = id,
                                           .locator = str(rec, "locator"),
                                           .size_bytes =
                                                   (uint64_t) json_integer_value(json_object_get(rec, "size_bytes")),
                                           .source = hash ? ret->source : NULL,
                                           .qos_iops = (uint64_t) json_integer_value(json_object_get(rec, "qos_iops")),
                                           .qos_bps = (uint64_t) json_integer_value(json_object_get(rec, "qos_bps"))};
        return 0;
}

void zc_network_desc(const char *id, json_t *rec, struct zero_card_network *ret) {
        *ret = (struct zero_card_network){.size = sizeof(struct zero_card_network),
                                          .id = id,
                                          .name = str(rec, "name"),
                                          .subnet = str(rec, "subnet"),
                                          .gateway = str(rec, "gateway")};
}

int zc_nic_desc(struct zc *zc, const char *id, json_t *rec, struct zc_nic_desc *ret, struct zero_error *err) {
        const char *net = str(rec, "network");
        json_t *nrec = zc_store_get(zc->store, "networks", net);

        if (!nrec)
                return zero_error_set(err, -ENOENT, ZERO_E_NOT_FOUND, "NIC %s: no network %s on the card", id,
                                      strempty(net));
        zc_network_desc(net, nrec, &ret->net);
        ret->nic = (struct zero_card_nic){.size = sizeof(struct zero_card_nic),
                                          .id = id,
                                          .mac = str(rec, "mac"),
                                          .ip = str(rec, "ip"),
                                          .ifname = "eth0",
                                          .network = &ret->net};
        return 0;
}

/* What should exist: every network, every NIC's tap, every presented volume's NBD export. */
int zc_engine_sync(struct zc *zc, struct zero_error *err) {
        json_t *nets = zc_store_section(zc->store, "networks"), *nics = zc_store_section(zc->store, "nics");
        json_t *pres = zc_store_section(zc->store, "presentations"), *rec;
        size_t n_n = 0, n_e = 0, n_c = 0;
        const char *id;
        int r;
        _cleanup_free_ struct zero_card_network *networks = calloc(SYNC_MAX, sizeof(*networks));
        _cleanup_free_ struct zc_volume_desc *vols = calloc(SYNC_MAX, sizeof(*vols));
        _cleanup_free_ struct zero_card_want_export *exports = calloc(SYNC_MAX, sizeof(*exports));
        _cleanup_free_ struct zc_nic_desc *nicd = calloc(SYNC_MAX, sizeof(*nicd));
        _cleanup_free_ struct zero_card_want_nic *want_nics = calloc(SYNC_MAX, sizeof(*want_nics));

        if (!networks || !vols || !exports || !nicd || !want_nics)
                return -ENOMEM;
        json_object_foreach(nets, id, rec) {
                if (n_n < SYNC_MAX && !streq(strempty(str(rec, "state")), "deleting"))
                        zc_network_desc(id, rec, &networks[n_n++]);
        }
        json_object_foreach(nics, id, rec) {
                struct zero_error e = {};
                if (n_c >= SYNC_MAX || zc_nic_desc(zc, id, rec, &nicd[n_c], &e) < 0)
                        continue;
                want_nics[n_c] = (struct zero_card_want_nic){.nic = &nicd[n_c].nic, .kind = ZERO_CARD_NIC_TAP};
                n_c++;
        }
        json_object_foreach(pres, id, rec) {
                json_t *vrec = zc_store_get(zc->store, "volumes", id);
                if (n_e >= SYNC_MAX || !streq(strempty(str(rec, "kind")), "volume") || !vrec ||
                    streq(strempty(str(rec, "state")), "withdrawing") || zc_tenant_cuts(zc, id))
                        continue;
                zc_volume_desc(zc, id, vrec, &vols[n_e]);
                exports[n_e] = (struct zero_card_want_export){.volume = &vols[n_e].v, .kind = ZERO_CARD_EXPORT_NBD};
                n_e++;
        }
        r = zc->driver->ops.sync(zc->card, networks, n_n, exports, n_e, want_nics, n_c, err);
        if (r < 0)
                return r;
        if (r > 0)
                log_warning("The engine could not put %d item(s) right: %s", r, err->message);
        log_info("Engine in line with the store: %zu network(s), %zu export(s), %zu "
                 "NIC tap(s)",
                 n_n, n_e, n_c);
        return 0;
}
