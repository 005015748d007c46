/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * zero-card: the offload card's own software, as the lab runs it on the development machine
 * (docs/architecture.md, "The lab"). One sd-event loop, no threads, nothing blocking:
 *
 *   main.c     the card's life: configuration, the lab's network namespace, the lock, the store,
 *              the card engine, the API, the host, the loop
 *   config.c   the INI file
 *   store.c    what exists and what is presented where: one JSON document, replaced atomically
 *   engine.c   the storage and networking engine: softcard.so loaded through card ABI 4, with
 *              the card's own state and run directories; its ops turned into jobs
 *   job.c      one job per object at a time, in order; requests wait for their job's end
 *   objects.c  volumes, images, networks and NICs: the jobs that make and remove them
 *   present.c  presentations: a volume (NBD export of the card's daemon, a disk with serial =
 *              the volume's id in the host) or a NIC (its tap, a virtio-net-pci with its MAC)
 *              hot-plugged into the host and withdrawn (io/hotplug.c)
 *   host.c     the host: QEMU under zero-shim with the host image, its fw_cfg files, QMP, power
 *   hostcmd.c  the host's QEMU command line (pure)
 *   fwcfg.c    what the card hands the host: zerod.conf, tokens, TLS certificate, serials
 *   forward.c  the orchestrator's address: a TCP port in the machine's namespace whose
 *              connections go to zerod's TLS port in the host, through the card
 *   api.c      the management API (docs/api/card.yaml) on common/http.h: routes and handlers
 *   auth.c     who asks: the host's token (on its management link), the operator's (its socket)
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "card/config.h"
#include "common/http.h"
#include "common/secret.h"
#include "zero/card.h"

#define ZC_API_VERSION "v1"

/* The roles of the card's API: the host manages volumes, networks, NICs and presentations; the
 * operator (the lab) also powers the host and reads its console. */
enum zc_role {
        ZC_ROLE_NONE = 0,
        ZC_ROLE_HOST,
        ZC_ROLE_OPERATOR,
};

struct zc_store;
struct zc_job;
struct zc_host;
struct zc_forward;

struct zc {
        sd_event *event;
        struct zc_config *config;
        int outer_netns; /* the namespace the card was started in: the orchestrator's */
        int lock_fd;
        struct zc_store *store;
        /* the engine (engine.c) */
        void *driver_handle;
        const struct zero_card_driver *driver;
        struct zero_card *card;
        struct zc_job *jobs;
        /* the host (host.c) */
        struct zc_host *host;
        struct zc_forward *forward;
        /* the API (api.c): the operator's socket and the host's (the guestfwd's target) */
        struct zero_http *http;
        char host_token[ZERO_SECRET_SIZE];
        char operator_token[ZERO_SECRET_SIZE];
        char *host_api_socket;
        char *images_dir;
        bool stopping;
};

/* ---- engine.c: softcard.so through card ABI 4 ---- */
int zc_engine_open(struct zc *zc, struct zero_error *err);
void zc_engine_close(struct zc *zc);
/* card.h's sync with what the store says exists and is presented, at the card's start. */
int zc_engine_sync(struct zc *zc, struct zero_error *err);
/* The descriptions the driver takes, from the store's records (valid while they are). */
struct zc_volume_desc {
        struct zero_card_volume v;
        char source[512];
};
int zc_volume_desc(struct zc *zc, const char *id, json_t *rec, struct zc_volume_desc *ret);
struct zc_nic_desc {
        struct zero_card_nic nic;
        struct zero_card_network net;
};
int zc_nic_desc(struct zc *zc, const char *id, json_t *rec, struct zc_nic_desc *ret, struct zero_error *err);
void zc_network_desc(const char *id, json_t *rec, struct zero_card_network *ret);

/* ---- objects.c and present.c: the jobs (job.h) behind the API ---- */
struct zc_answer;
int zc_volume_put(struct zc *zc, const char *id, json_t *body, struct zc_answer *a);
int zc_volume_delete(struct zc *zc, const char *id, struct zc_answer *a);
int zc_volume_resize(struct zc *zc, const char *id, json_t *body, struct zc_answer *a);
int zc_volume_qos(struct zc *zc, const char *id, json_t *body, struct zc_answer *a);
int zc_network_put(struct zc *zc, const char *id, json_t *body, struct zc_answer *a);
int zc_network_delete(struct zc *zc, const char *id, struct zc_answer *a);
int zc_nic_put(struct zc *zc, const char *id, json_t *body, struct zc_answer *a);
int zc_nic_delete(struct zc *zc, const char *id, struct zc_answer *a);
int zc_present(struct zc *zc, const char *kind, const char *id, json_t *body, struct zc_answer *a);
int zc_withdraw(struct zc *zc, const char *kind, const char *id, struct zc_answer *a);
/* At the card's start: the jobs of every object left half made or half removed. */
void zc_objects_resume(struct zc *zc);
/* A presentation's record as the API shows it. */
json_t *zc_presentation_json(const char *id, json_t *rec);
/* The serial a volume's disk carries in the host: the first 20 characters of its id. */
void zc_volume_serial(const char *id, char ret[static 21]);

/* ---- present.c, for host.c: the host's devices ---- */
/* The QEMU options of every presentation recorded as presented (the host's cold devices). */
int zc_present_cmdline(struct zc *zc, char ***argv, size_t *n, unsigned *port, struct zero_error *err);
/* The host runs again (started, or adopted): devices of presentations QEMU lacks are plugged,
 * its devices of no presentation unplugged. */
void zc_present_reconcile(struct zc *zc);
/* A QMP event of the host: hot-plug jobs wait for DEVICE_DELETED. */
void zc_present_event(struct zc *zc, const char *name, json_t *data);

/* ---- the state volume: the card's own, presented before the host runs ---- */
int zc_state_volume_ensure(struct zc *zc, struct zc_answer *a);
