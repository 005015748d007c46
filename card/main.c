/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zero-card --config FILE: the card's life (card.h).
 *
 *   configuration -> the lock of its state and run directories -> the store -> the orchestrator's
 *   port (in the namespace it was started in) -> the lab's network namespace (entered) -> the
 *   fw_cfg files -> the engine (softcard.so, its storage daemon adopted or started) and its sync
 *   with the store -> the API's sockets -> the host (adopted if it runs) -> the jobs left half
 *   done -> the state volume (made and presented once) -> the host powered on (autostart) -> the
 *   loop, until SIGTERM.
 *
 * What the card started runs on when it stops (the host under its shim, the storage daemon under
 * its own): a restarted card adopts them.
 */
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "card/card.h"
#include "card/host.h"
#include "card/job.h"
#include "card/store.h"
#include "common/lock.h"
#include "common/log.h"
#include "common/util.h"
#include "io/netlink/netlink.h"

#define BODY_MAX (64 * 1024)

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct zc *zc = userdata;

        log_info("Stopping on signal %u: the host and the storage daemon run on", si->ssi_signo);
        zc->stopping = true;
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

/* The namespace the card was started in stays reachable (the orchestrator's port lives there); the
 * card's own networking, its storage daemon and the host's QEMU live in the lab's. */
static int enter_netns(struct zc *zc, struct zero_error *err) {
        _cleanup_close_ int fd = -EBADF;
        struct zero_nl *nl = NULL;
        int r;

        if (!zc->config->netns)
                return 0;
        fd = zero_netns_open_path(zc->config->netns);
        if (fd < 0)
                return zero_error_set(err, fd, ZERO_E_INVALID, "[card] netns=%s: %s", zc->config->netns, strerror(-fd));
        if (setns(fd, CLONE_NEWNET) < 0)
                return zero_error_set(err, -errno, ZERO_E_INTERNAL, "cannot enter the network namespace %s: %m",
                                      zc->config->netns);
        /* A namespace of its own starts with lo down: QEMU's hostfwd listens on it. */
        r = zero_nl_open(&nl);
        if (r >= 0)
                r = zero_nl_link_set_up(nl, "lo");
        zero_nl_close(nl);
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_INTERNAL, "cannot bring lo up in %s: %s", zc->config->netns,
                                      strerror(-r));
        log_info("In the lab's network namespace %s", zc->config->netns);
        return 0;
}

/* [host] listen, with the port picked at the first start kept ever after. */
static int orchestrator_port(struct zc *zc, struct zero_error *err) {
        struct zc_config *c = zc->config;
        json_t *kept = zc_store_host(zc->store, "orchestrator_port");
        const char *colon = strrchr(c->listen, ':');
        int port;

        if (streq(colon + 1, "0") && kept) {
                char *l = zero_strdup_printf("%.*s:%lld", (int) (colon - c->listen), c->listen,
                                             (long long) json_integer_value(kept));
                if (!l)
                        return -ENOMEM;
                free(c->listen);
                c->listen = l;
        }
        port = zc_forward_listen(zc, err);
        if (port < 0)
                return port;
        if (json_integer_value(kept) != port) {
                int r = zc_store_set_host(zc->store, "orchestrator_port", json_integer(port), err);
                if (r < 0)
                        return r;
        }
        log_info("The orchestrator's address: %s (port %d), forwarded to zerod in "
                 "the host",
                 c->listen, port);
        return 0;
}

/* ---- the host's state volume: made and presented once, then the host powered on ---- */

static void power_on_done(void *userdata, int r, json_t *result, const struct zero_error *err) {
        if (r < 0)
                log_error("The host did not power on: %s", err->message);
}

static void power_on(struct zc *zc) {
        struct zero_error err = {};
        struct zc_job *j;

        if (!zc->config->autostart)
                return;
        if (zc_host_power(zc, "on", 0, &j, &err) < 0 || zc_job_wait(j, power_on_done, zc) < 0)
                log_error("Cannot power the host on: %s", err.message);
}

static void state_presented(void *userdata, int r, json_t *result, const struct zero_error *err) {
        if (r < 0)
                return (void) log_error("Cannot present the host's state volume: %s", err->message);
        power_on(userdata);
}

static void state_made(void *userdata, int r, json_t *result, const struct zero_error *err) {
        struct zc *zc = userdata;
        const char *id = json_string_value(zc_store_host(zc->store, "state_volume"));
        struct zero_error e = {};
        struct zc_job *j;

        if (r < 0)
                return (void) log_error("Cannot make the host's state volume: %s", err->message);
        if (zc_present(zc, "volume", id, NULL, true, &j, &e) < 0 || zc_job_wait(j, state_presented, zc) < 0)
                log_error("Cannot present the host's state volume: %s", e.message);
}

static int state_volume(struct zc *zc, struct zero_error *err) {
        const char *id = json_string_value(zc_store_host(zc->store, "state_volume"));
        json_t *pres = id ? zc_store_get(zc->store, "presentations", id) : NULL;
        json_auto_t *body = NULL;
        struct zc_job *j;
        int r;

        if (pres) { /* presented, or its presentation resumed (zc_present_resume): then after it */
                char object[48];
                snprintf(object, sizeof(object), "volume:%s", id);
                j = zc_job_last(zc, object);
                return j ? zc_job_wait(j, state_presented, zc) : (power_on(zc), 0);
        }
        if (id && zc_store_get(zc->store, "volumes", id))
                return state_made(zc, 0, NULL, NULL), 0;
        body = json_pack("{s:I}", "size_bytes", (json_int_t) zc->config->state_volume_size);
        if (!body)
                return -ENOMEM;
        r = zc_volume_put(zc, id, body, &j, err);
        if (r < 0)
                return r;
        return zc_job_wait(j, state_made, zc);
}

/* Its id is chosen (and recorded) before anything is made: the fw_cfg files name its serial. */
static int state_volume_id(struct zc *zc, struct zero_error *err) {
        char id[33];

        if (zc_store_host(zc->store, "state_volume"))
                return 0;
        if (zero_random_id(id) < 0)
                return zero_error_set(err, -EIO, ZERO_E_INTERNAL, "no random bytes for the state volume's id");
        return zc_store_set_host(zc->store, "state_volume", json_string(id), err);
}

/* The orchestrator's listener (api_auth.c): TLS with zerod's certificate, made by fwcfg.c. */
static int orchestrator_listen(struct zc *zc, struct zero_error *err) {
        _cleanup_free_ char *crt_path = zero_strdup_printf("%s/host/tls.crt", zc->config->state_dir),
                            *key_path = zero_strdup_printf("%s/host/tls.key", zc->config->state_dir), *crt = NULL,
                            *key = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (!crt_path || !key_path)
                return -ENOMEM;
        if ((r = zero_read_file(crt_path, 1 << 20, &crt, NULL)) < 0 ||
            (r = zero_read_file(key_path, 1 << 20, &key, NULL)) < 0)
                return zero_error_set(err, r, ZERO_E_INTERNAL, "cannot read zerod's certificate or key in %s/host: %s",
                                      zc->config->state_dir, strerror(-r));
        r = zero_http_listen_unix(zc->orchestrator_socket, (gid_t) -1, &fd);
        if (r >= 0)
                r = zero_http_server_listen(zc->http, TAKE_FD(fd), true, zc->orchestrator_socket,
                                            &(struct zero_http_tls){.cert_pem = crt, .key_pem = key});
        if (key)
                explicit_bzero(key, strlen(key));
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_INTERNAL, "cannot listen on %s: %s", zc->orchestrator_socket,
                                      strerror(-r));
        return 0;
}

static int api_listen(struct zc *zc, struct zero_error *err) {
        _cleanup_close_ int op = -EBADF, host = -EBADF;
        int r;

        r = zero_http_server_new(&(struct zero_http_settings){.event = zc->event,
                                                              .routes = zc_api_routes,
                                                              .body_max = BODY_MAX,
                                                              .max_parked = 256,
                                                              .max_connections = 256,
                                                              .header_timeout_s = 10,
                                                              .idle_timeout_s = 60,
                                                              .authenticate = zc_authenticate,
                                                              .authorize = zc_authorize,
                                                              .userdata = zc},
                                 &zc->http);
        if (r < 0)
                return zero_error_default(err, r, "the card's API");
        /* In the order of ZC_LISTENER_*. Root's alone (0600): the host's QEMU runs as root. */
        if ((r = zero_http_listen_unix(zc->config->api_socket, (gid_t) -1, &op)) < 0 ||
            (r = zero_http_server_listen(zc->http, TAKE_FD(op), true, zc->config->api_socket, NULL)) < 0 ||
            (r = zero_http_listen_unix(zc->host_api_socket, (gid_t) -1, &host)) < 0 ||
            (r = zero_http_server_listen(zc->http, TAKE_FD(host), true, zc->host_api_socket, NULL)) < 0)
                return zero_error_set(err, r, ZERO_E_INTERNAL, "cannot listen on the card's sockets: %s", strerror(-r));
        r = orchestrator_listen(zc, err);
        if (r < 0)
                return r;
        log_info("The card's API: %s (operator), %s (the host's, as http://%s)", zc->config->api_socket,
                 zc->host_api_socket, HOST_CARD_ADDR);
        return 0;
}

static int run(struct zc *zc, struct zero_error *err) {
        _cleanup_free_ char *store = zero_strdup_printf("%s/card.json", zc->config->state_dir);
        int locks[2] = {-EBADF, -EBADF}, r;

        if (!store)
                return -ENOMEM;
        zc->host_api_socket = zero_strdup_printf("%s/host-api.sock", zc->config->run_dir);
        zc->orchestrator_socket = zero_strdup_printf("%s/orchestrator.sock", zc->config->run_dir);
        zc->images_dir = zero_strdup_printf("%s/images", zc->config->state_dir);
        if (!zc->host_api_socket || !zc->orchestrator_socket || !zc->images_dir)
                return -ENOMEM;
        if ((r = zero_mkdir_p(zc->config->state_dir, 0700)) < 0 || (r = zero_mkdir_p(zc->config->run_dir, 0700)) < 0 ||
            (r = zero_mkdir_p(zc->images_dir, 0700)) < 0)
                return zero_error_set(err, r, ZERO_E_INTERNAL, "cannot make the card's directories: %s", strerror(-r));
        r = zero_lock_dirs(zc->config->state_dir, zc->config->run_dir, "zero-card", locks, err);
        if (r < 0)
                return r;
        zc->lock_fd[0] = locks[0];
        zc->lock_fd[1] = locks[1];
        if ((r = zc_store_open(store, &zc->store, err)) < 0 || (r = orchestrator_port(zc, err)) < 0 ||
            (r = enter_netns(zc, err)) < 0 || (r = state_volume_id(zc, err)) < 0 || (r = zc_fwcfg_prepare(zc, err)) < 0)
                return r;
        r = sd_event_default(&zc->event);
        if (r < 0)
                return zero_error_default(err, r, "the event loop");
        if ((r = zc_engine_open(zc, err)) < 0 || (r = zc_engine_sync(zc, err)) < 0 || (r = api_listen(zc, err)) < 0 ||
            (r = zc_forward_start(zc)) < 0 || (r = zc_host_open(zc, err)) < 0)
                return zero_error_default(err, r, "the card's start");
        zc_objects_resume(zc);
        zc_tenant_resume(zc);
        r = state_volume(zc, err);
        if (r < 0)
                return r;
        r = sd_event_add_signal(zc->event, NULL, SIGTERM, on_signal, zc);
        if (r >= 0)
                r = sd_event_add_signal(zc->event, NULL, SIGINT, on_signal, zc);
        if (r < 0)
                return zero_error_default(err, r, "the signals");
        log_info("zero-card ready: state %s, run %s", zc->config->state_dir, zc->config->run_dir);
        return sd_event_loop(zc->event);
}

static void zc_stop(struct zc *zc) {
        zc->stopping = true;
        zc_host_close(zc); /* before the jobs: it forgets the one it waits for */
        zc_jobs_free(zc);  /* their requests answered 503 while the server is there */
        zc->http = zero_http_server_free(zc->http);
        zc_forward_free(zc);
        zc_engine_close(zc);
        zc->store = zc_store_free(zc->store);
        zc->config = zc_config_free(zc->config);
        zc->event = sd_event_unref(zc->event);
        safe_close(zc->lock_fd[0]);
        safe_close(zc->lock_fd[1]);
        free(zc->host_api_socket);
        free(zc->orchestrator_socket);
        free(zc->images_dir);
        explicit_bzero(zc->host_token, sizeof(zc->host_token));
        explicit_bzero(zc->operator_token, sizeof(zc->operator_token));
}

static void usage(FILE *f) {
        fprintf(f, "usage: zero-card --config FILE\n"
                   "The lab's offload card: volumes, networks and the host VM, and "
                   "their management API\n"
                   "(docs/architecture.md, \"The lab\"; docs/api/card.yaml).\n");
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                {"config", required_argument, NULL, 'c'}, {"help", no_argument, NULL, 'h'}, {}};
        struct zc zc = {.lock_fd = {-EBADF, -EBADF}};
        struct zero_error err = {};
        const char *config = NULL;
        sigset_t mask;
        int c, r;

        zero_log_set_ident("zero-card");
        while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) >= 0)
                switch (c) {
                case 'c':
                        config = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        if (!config || optind < argc) {
                usage(stderr);
                return 2;
        }
        r = zc_config_load(config, &zc.config, &err);
        if (r < 0) {
                log_error("%s", err.message);
                return 1;
        }
        zero_log_set_max_priority(zc.config->log_level);
        /* sd_event_add_signal wants them blocked; children unblock what they inherit. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);
        r = run(&zc, &err);
        if (r < 0)
                log_error("zero-card: %s", err.message[0] ? err.message : strerror(-r));
        zc_stop(&zc);
        return r < 0 ? 1 : 0;
}
