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
 *              the card's own state and run directories
 *   job.c      one job per object at a time, in order; requests wait for their job's end
 *   objects.c  volumes, networks and NICs: the jobs that make, change and remove them
 *   api_images.c  images, uploaded once by their SHA-256: what volumes are cloned from
 *   present.c  presentations: a volume (NBD export of the card's daemon, a disk with serial =
 *              the volume's id in the host) or a NIC (its tap, a virtio-net-pci with its MAC)
 *              hot-plugged into the host and withdrawn (io/hotplug.c)
 *   host.c     the host: QEMU under zero-shim with the host image, QMP, power
 *   hostcmd.c  the host's QEMU command line (pure)
 *   fwcfg.c    what the card hands the host: zerod.conf, tokens, TLS certificate, serials
 *   forward.c  the orchestrator's address: a TCP port in the machine's namespace whose
 *              connections go to zerod's TLS port in the host, through the card
 *   api.c      the management API (docs/api/card.yaml) on common/http.h: routes and handlers
 *   api_auth.c    who asks: the host's token (on its management link), the operator's (its socket)
 *   tenant.c   the host handed to a bms tenant (its state volume and link cut) and taken back
 *   api_node.c the hand-over's API, and the node as the card answers for it while a tenant runs
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "card/config.h"
#include "common/http.h"
#include "common/secret.h"
#include "io/card_loader.h"
#include "zero/card.h"

#define ZC_API_VERSION "v1"

/* The roles of the card's API: the host manages volumes, networks, NICs and presentations; the
 * operator (the lab) also powers the host and reads its console. */
enum zc_role {
        ZC_ROLE_NONE = 0,
        ZC_ROLE_HOST,
        ZC_ROLE_OPERATOR,
};

/* The API's listeners, in the order they are made (api_auth.c). */
#define ZC_LISTENER_OPERATOR 0
#define ZC_LISTENER_HOST 1
#define ZC_LISTENER_ORCHESTRATOR 2

struct zc_store;
struct zc_job;
struct zc_host;
struct zc_forward;

struct zc {
        sd_event *event;
        struct zc_config *config;
        int outer_netns; /* the namespace the card was started in: the orchestrator's */
        int lock_fd[2];  /* the state and run directories' (common/lock.h) */
        struct zc_store *store;
        /* the engine (engine.c) */
        struct zero_card_lib lib; /* softcard.so */
        const struct zero_card_driver *driver;
        struct zero_card *card;
        struct zc_job *jobs;
        struct zc_job *hotplugging; /* the one job hot-plugging into the host; then the queue */
        /* the host (host.c) */
        struct zc_host *host;
        struct zc_forward *forward;
        /* the API (api.c): the operator's socket and the host's (the guestfwd's target) */
        struct zero_http *http;
        char host_token[ZERO_SECRET_SIZE];
        char operator_token[ZERO_SECRET_SIZE];
        char orchestrator_token[ZERO_SECRET_SIZE]; /* zerod's "card" token, which the card made */
        char *host_api_socket;
        char *orchestrator_socket; /* TLS with zerod's certificate: the forward's target under a tenant */
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

/* ---- objects.c and present.c: the jobs (job.h) behind the API ---- Each checks the request
 * (-errno with err: nothing asked) and asks for its job (*ret, to wait for: its result is the
 * object as the API shows it). */
int zc_volume_put(struct zc *zc, const char *id, json_t *body, struct zc_job **ret, struct zero_error *err);
int zc_volume_delete(struct zc *zc, const char *id, struct zc_job **ret, struct zero_error *err);
int zc_volume_resize(struct zc *zc, const char *id, json_t *body, struct zc_job **ret, struct zero_error *err);
int zc_volume_qos(struct zc *zc, const char *id, json_t *body, struct zc_job **ret, struct zero_error *err);
int zc_network_put(struct zc *zc, const char *id, json_t *body, struct zc_job **ret, struct zero_error *err);
int zc_network_delete(struct zc *zc, const char *id, struct zc_job **ret, struct zero_error *err);
int zc_nic_put(struct zc *zc, const char *id, json_t *body, struct zc_job **ret, struct zero_error *err);
int zc_nic_delete(struct zc *zc, const char *id, struct zc_job **ret, struct zero_error *err);
/* kind: "volume" or "nic"; system: the card's own (the state volume), never withdrawn by the API. */
int zc_present(struct zc *zc, const char *kind, const char *id, json_t *body, bool system, struct zc_job **ret,
               struct zero_error *err);
int zc_withdraw(struct zc *zc, const char *kind, const char *id, struct zc_job **ret, struct zero_error *err);
/* At the card's start: the jobs of every object left half made or half removed, and of every
 * presentation (a presented one is looked at again: its export and device made if missing). */
void zc_objects_resume(struct zc *zc);
void zc_present_resume(struct zc *zc);
/* As the API shows them. */
json_t *zc_volume_json(struct zc *zc, const char *id, json_t *rec);
json_t *zc_network_json(const char *id, json_t *rec);
json_t *zc_nic_json(struct zc *zc, const char *id, json_t *rec);
json_t *zc_presentation_json(const char *id, json_t *rec);
/* The serial a volume's disk carries in the host: the first 20 characters of its id. */
void zc_volume_serial(const char *id, char ret[static 21]);
/* The withdraw steps, which a volume's or NIC's delete runs first (present.c).
 */
struct zc_job;
int zc_pres_withdraw_begin(struct zc_job *j);
int zc_pres_unplug(struct zc_job *j);
int zc_pres_unexport(struct zc_job *j);
int zc_pres_forget(struct zc_job *j);

/* ---- present.c, for host.c: the host's devices ---- */
/* Appends the QEMU options of every presentation recorded as presented (the host's cold devices) to
 * *argv (n options so far; port: the next pcie-root-port's number). */
struct zero_argv;
int zc_present_cmdline(struct zc *zc, struct zero_argv *b, unsigned *port, struct zero_error *err);
/* The state volume (id)'s disk is a raw node over its NBD node on the host's command line; these
 * are the QMP arguments that switch what lies under it (present.c): blockdev-add's of the node
 * that fails every I/O at once (the cut) and of a new NBD node, blockdev-reopen's of the raw node
 * onto one of them (cut or not: {"driver": "raw", ...}, also the -blockdev itself), and
 * blockdev-del's of one. */
json_t *zc_state_volume_cut(struct zc *zc, const char *id);
json_t *zc_state_volume_nbd(struct zc *zc, const char *id);
json_t *zc_state_volume_reopen(const char *id, bool cut);
json_t *zc_state_volume_node(const char *id, bool cut);
/* A QMP event of the host: hot-plug jobs wait for DEVICE_DELETED. */
void zc_present_event(struct zc *zc, const char *name, json_t *data);

/* ---- api_images.c: an image's root filesystem, uploaded once by its SHA-256 ----
 */
extern const struct zero_upload_ops zc_image_upload;
void zc_api_put_image(struct zero_request *req);
json_t *zc_image_json(const char *sha256, json_t *rec);

/* ---- fwcfg.c, forward.c, api_auth.c ---- */
int zc_fwcfg_prepare(struct zc *zc, struct zero_error *err);
/* Listens on [host] listen (in the namespace the card runs in when called): the port, or -errno. */
int zc_forward_listen(struct zc *zc, struct zero_error *err);
int zc_forward_start(struct zc *zc);
void zc_forward_free(struct zc *zc);
bool zc_authenticate(struct zero_request *req, void *userdata);
bool zc_authorize(struct zero_request *req, void *userdata);
/* Whether a route is one the card answers the orchestrator while a tenant holds the host. */
bool zc_api_is_tenant_route(const struct zero_route *route);

/* ---- tenant.c: the host handed to a tenant and taken back ---- */
/* The tenant holding the host (the store's record, borrowed), NULL for none. */
json_t *zc_tenant(struct zc *zc);
/* Whether volume_id's export is the tenant's to lack (the host's state volume, cut meanwhile). */
bool zc_tenant_cuts(struct zc *zc, const char *volume_id);
/* {"tenant": the record or null, "last": how the last one ended, or null} */
json_t *zc_tenant_json(struct zc *zc);
int zc_tenant_handover(struct zc *zc, json_t *body, struct zc_job **ret, struct zero_error *err);
/* A stop (mode NULL) or a switch to mode (the record's "switch", which zerod reads with the rest
 * of "last" once it is back) asked of the card by actor: body {"timeout_s", "force"}. The
 * operation it is (an id in zerod's form, recorded with the tenant as "take_back" and carried by
 * "last" to zerod, which keeps it: docs/architecture.md) in *ret_op, as GET /v1/operations/ID
 * shows it; *ret_job the take-back's job (ending once the host boots its image). */
int zc_tenant_stop(struct zc *zc, json_t *body, const char *mode, const char *actor, json_t **ret_op,
                   struct zc_job **ret_job, struct zero_error *err);
/* The power button asked of the card under a tenant (POST /v1/host/power "powerdown"): the
 * stop's steps as a job of the host, no operation (body stolen). */
int zc_tenant_powerdown(struct zc *zc, json_t *body, struct zc_job **ret, struct zero_error *err);
/* The operation id as the card answers for it while it holds the host (a stop's or switch's, or
 * the hand-over's own), or after the take-back until zerod is back (a stop's): NULL when it is
 * none of those. */
json_t *zc_tenant_operation_json(struct zc *zc, const char *id);
/* The host reset while a tenant holds it: taken back, forced. */
int zc_tenant_reset(struct zc *zc, struct zc_job **ret);
/* At the card's start: a hand-over, take-back, stop or switch that its last run left half done
 * (the tenant's record says which) is run again to its end, each step finding its work done. */
void zc_tenant_resume(struct zc *zc);
/* A QMP event of the host (SHUTDOWN: the tenant powered off). */
void zc_tenant_event(struct zc *zc, const char *name, json_t *data);

/* ---- api_node.c ---- */
void zc_api_handover(struct zero_request *req);
void zc_api_get_tenant(struct zero_request *req);
void zc_api_node(struct zero_request *req);
void zc_api_instance(struct zero_request *req);
void zc_api_instance_console(struct zero_request *req);
void zc_api_instance_stop(struct zero_request *req);
void zc_api_instance_switch(struct zero_request *req);
void zc_api_operation(struct zero_request *req);

/* ---- api.c ---- */
extern const struct zero_route zc_api_routes[];
/* A request answered once its work ended: parked now (NULL when it could not be: replied), then
 * zc_answer_done() answers ok_status with result (borrowed; no body when empty or NULL: 204 for
 * a 200), or err's status; past 300 s it is answered 504 and the work goes on. */
struct zc_answer;
struct zc_answer *zc_api_park(struct zero_request *req, unsigned ok_status, bool empty);
void zc_answer_done(struct zc_answer *a, int r, json_t *result, const struct zero_error *err);
/* Answers req once j ended: ok_status with its result (or no body), or its error's status. */
void zc_api_answer_job(struct zero_request *req, int r, struct zc_job *j, const struct zero_error *err,
                       unsigned ok_status, bool empty);
struct zc *zc_request_card(struct zero_request *req);
/* The host's console (the last ?bytes=, 64 KiB by default) as text. */
void zc_api_reply_console(struct zero_request *req);
