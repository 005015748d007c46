/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zerod: the node agent. Reads as the agent's life: configure, open the store, load plugins,
 * reconnect to the instances that ran on while we were away, finish interrupted operations,
 * serve the API until SIGTERM. Instances are left running when zerod stops.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/card.h"
#include "agent/durable.h"
#include "agent/api.h"
#include "agent/http.h"
#include "agent/instance_view.h"
#include "agent/image.h"
#include "agent/operation.h"
#include "agent/peer.h"
#include "agent/plugin_loader.h"
#include "agent/services.h"
#include "agent/token_cmd.h"
#include "agent/trim.h"
#include "common/lock.h"
#include "agent/attest.h"
#include "common/log.h"
#include "common/util.h"

#ifndef ZERO_VERSION
#define ZERO_VERSION "0.0.0"
#endif

static void help(void) {
        printf("Usage: zerod [OPTIONS]\n\n"
               "The Zero node agent: runs containers, VMs and bare-metal instances behind one HTTP API.\n\n"
               "  --config FILE        INI configuration file\n"
               "  --state-dir DIR      persistent state (default /var/lib/zero)\n"
               "  --run-dir DIR        volatile state: shims, bundles, consoles (default /run/zero)\n"
               "  --listen ADDR        unix:PATH or tcp:HOST:PORT; repeatable (default unix:RUN_DIR/zerod.sock)\n"
               "  --plugin-dir DIR     runtime plugins\n"
               "  --shim PATH          the zero-shim binary\n"
               "  --log-level LEVEL    err, warning, notice, info, debug\n"
               "  --admin-token NAME=FILE\n"
               "                       before serving, the admin token NAME with the secret of FILE, or\n"
               "                       its SHA-256 (64 hex digits), replacing one of that name (zerod token\n"
               "                       create NAME --secret-file|--sha256-file FILE --replace, without a\n"
               "                       second start: the lab's host at each boot)\n"
               "  --insecure-tcp       serve TCP listeners as plain HTTP (tests on loopback only; tokens are\n"
               "                       still required)\n"
               "  --list-fault-points  print the fault injection points of this build (tests) and exit\n"
               "  --list-routes        print the API's routes (METHOD PATTERN, {} for a path segment) and exit\n"
               "  --stop-card          stop the card's daemons and links on this host (a teardown: no zerod\n"
               "                       running, no instance live), then exit; the next zerod starts them\n"
               "  --version            print the version\n\n"
               "       zerod token create|list|revoke ...   bearer tokens for the TCP API (zerod token --help)\n");
}

/* --admin-token NAME=FILE: imported by run() once the store is open. */
static const char *admin_token;

/* The admin token of --admin-token, replacing one of its name, before anything is served. */
static int import_admin_token(struct zero_store *s) {
        _cleanup_free_ char *name = strdup(admin_token);
        struct zero_error err = {};
        char *file = name ? strchr(name, '=') : NULL, by[32];
        bool hashed = false;
        int r;

        if (!file)
                return -ENOMEM;
        *file++ = '\0';
        snprintf(by, sizeof(by), "uid:%u", (unsigned) getuid()); /* as zerod token create says */
        r = zero_token_import_file(s, name, ZERO_ROLE_ADMIN, by, file, ZERO_TOKEN_EITHER, true, &hashed, &err);
        if (r < 0)
                return log_error_errno(r, "Not starting: --admin-token %s: %s", name, err.message);
        log_info("Admin token '%s' made with the %s of %s", name, hashed ? "secret's SHA-256" : "secret", file);
        return 0;
}

static int parse_args(int argc, char *argv[], struct zero_config *c, struct zero_error *err) {
        enum { ARG_CONFIG = 0x100, ARG_STATE, ARG_RUN, ARG_LISTEN, ARG_PLUGINS, ARG_SHIM, ARG_LOG, ARG_VERSION,
               ARG_FAULTS, ARG_ROUTES, ARG_INSECURE_TCP, ARG_STOP_CARD, ARG_ADMIN_TOKEN };
        static const struct option options[] = {
                {"config", required_argument, NULL, ARG_CONFIG},   {"state-dir", required_argument, NULL, ARG_STATE},
                {"run-dir", required_argument, NULL, ARG_RUN},     {"listen", required_argument, NULL, ARG_LISTEN},
                {"plugin-dir", required_argument, NULL, ARG_PLUGINS}, {"shim", required_argument, NULL, ARG_SHIM},
                {"log-level", required_argument, NULL, ARG_LOG},   {"version", no_argument, NULL, ARG_VERSION},
                {"list-fault-points", no_argument, NULL, ARG_FAULTS},
                {"list-routes", no_argument, NULL, ARG_ROUTES},
                {"insecure-tcp", no_argument, NULL, ARG_INSECURE_TCP},
                {"stop-card", no_argument, NULL, ARG_STOP_CARD},
                {"admin-token", required_argument, NULL, ARG_ADMIN_TOKEN},
                {"help", no_argument, NULL, 'h'},                  {},
        };
        /* The file is read first so the command line can override it. */
        for (int i = 1; i < argc - 1; i++)
                if (streq(argv[i], "--config")) {
                        int r = zero_config_load_file(c, argv[i + 1], err);
                        if (r < 0)
                                return r;
                }
        for (int o; (o = getopt_long(argc, argv, "h", options, NULL)) >= 0;) {
                static const char *const keys[] = {[ARG_STATE - ARG_CONFIG] = "state_dir",
                                                   [ARG_RUN - ARG_CONFIG] = "run_dir",
                                                   [ARG_LISTEN - ARG_CONFIG] = "listen",
                                                   [ARG_PLUGINS - ARG_CONFIG] = "plugin_dir",
                                                   [ARG_SHIM - ARG_CONFIG] = "shim",
                                                   [ARG_LOG - ARG_CONFIG] = "log_level"};
                int r;
                switch (o) {
                case 'h':
                        help();
                        return 1;
                case ARG_VERSION:
                        printf("zerod %s\n", ZERO_VERSION);
                        return 1;
                case ARG_FAULTS:
                        if (zero_op_fault_points_print(stdout) < 0)
                                return zero_error_set(err, -EOPNOTSUPP, ZERO_E_USAGE,
                                                      "this zerod has no fault points (build with -DZERO_FAULT_INJECTION=ON)");
                        return 1;
                case ARG_ROUTES:
                        /* The router's table as it is built in (tests/integration/routes_openapi.sh
                         * holds docs/api/openapi.yaml to it). */
                        for (const struct zero_route *rt = zero_api_routes; rt->pattern; rt++)
                                printf("%s %s\n", rt->method, rt->pattern);
                        return 1;
                case ARG_CONFIG:
                        break;
                case ARG_INSECURE_TCP:
                        c->insecure_tcp = true;
                        break;
                case ARG_STOP_CARD:
                        c->stop_card = true;
                        break;
                case ARG_ADMIN_TOKEN:
                        if (!strchr(optarg, '=') || optarg[0] == '=' || !strchr(optarg, '=')[1])
                                return zero_error_set(err, -EINVAL, ZERO_E_USAGE, "--admin-token: NAME=FILE");
                        admin_token = optarg;
                        break;
                case ARG_STATE:
                case ARG_RUN:
                case ARG_LISTEN:
                case ARG_PLUGINS:
                case ARG_SHIM:
                case ARG_LOG:
                        r = zero_config_set(c, "agent", keys[o - ARG_CONFIG], optarg, err);
                        if (r < 0)
                                return r;
                        break;
                default:
                        return zero_error_set(err, -EINVAL, ZERO_E_USAGE, "unknown option; see zerod --help");
                }
        }
        if (optind < argc)
                return zero_error_set(err, -EINVAL, ZERO_E_USAGE, "unexpected argument '%s'", argv[optind]);
        return 0;
}

static int on_watchdog(sd_event_source *s, uint64_t usec, void *userdata) {
        uint64_t *interval = userdata;
        (void) sd_notify(0, "WATCHDOG=1");
        (void) sd_event_source_set_time_relative(s, *interval);
        return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct zero_agent *a = userdata;
        log_info("Received %s: stopping the agent, instances keep running", strsignal((int) si->ssi_signo));
        (void) sd_notify(0, "STOPPING=1");
        return sd_event_exit(a->event, 0);
}

static void node_facts(struct zero_agent *a) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
        a->node_cpus = cpus > 0 ? (unsigned) cpus : 1;
        a->node_memory_mib = pages > 0 && page > 0 ? (uint64_t) pages * (uint64_t) page / (1024 * 1024) : 1024;
}

/* The HTTP front is main's, not the agent's: the core knows no HTTP (it publishes, subscribe.h). */
static int run(struct zero_agent *a, struct zero_front **http) {
        _cleanup_free_ char *db = NULL;
        struct zero_error err = {};
        uint64_t watchdog_usec = 0;
        sd_event_source *wd = NULL;
        int r;

        r = zero_mkdir_p(a->config->state_dir, 0700);
        if (r >= 0)
                r = zero_mkdir_p(a->config->run_dir, 0700);
        if (r < 0)
                return log_error_errno(r, "Failed to create the state and run directories: %m");
        /* Before anything is touched (lock.h). The fds stay open until zerod exits, so the locks
         * outlive the teardown of the card and the store in main(). */
        int locks[2];
        r = zero_lock_dirs(a->config->state_dir, a->config->run_dir, "zerod", locks, &err);
        if (r < 0)
                return log_error_errno(r, "Not starting: %s", err.message);
        db = zero_strdup_printf("%s/zero.db", a->config->state_dir);
        if (!db)
                return -ENOMEM;
        r = zero_store_open(db, &a->store, &err);
        if (r < 0)
                return log_error_errno(r, "Failed to open the store %s: %s", db, err.message);
        if (admin_token && (r = import_admin_token(a->store)) < 0)
                return r;

        r = sd_event_default(&a->event);
        if (r < 0)
                return log_error_errno(r, "Failed to create the event loop: %m");
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        /* sd_event_add_child() needs SIGCHLD blocked (children reset their mask before exec). */
        sigaddset(&mask, SIGCHLD);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);
        if ((r = sd_event_add_signal(a->event, NULL, SIGTERM, on_signal, a)) < 0 ||
            (r = sd_event_add_signal(a->event, NULL, SIGINT, on_signal, a)) < 0)
                return log_error_errno(r, "Failed to watch signals: %m");
        if (a->config->stop_card)
                return zero_card_teardown(a);
        /* Forked while zerod is small: the fsyncs before each 202 (durable.h). Without it they
         * run on the loop, which works, only slower under write load. */
        _cleanup_free_ char *wal = zero_strdup_printf("%s-wal", db);
        r = wal ? zero_durable_new(a, wal, &a->durable) : -ENOMEM;
        if (r < 0)
                log_warning_errno(r, "Cannot fork the store's sync child, syncing on the loop: %m");

        /* The node's attestation key, made at the first start (attest.h). */
        r = zero_attest_open(a, &err);
        if (r < 0)
                return log_error_errno(r, "Failed to open the attestation key: %s", err.message[0] ? err.message : strerror(-r));

        node_facts(a);
        zero_services_init(a);
        r = zero_plugins_load(a->config->plugin_dir, &a->services, &a->plugins);
        if (r < 0)
                return r;
        /* What the API shows of instances, kept from here on (read at the first GET). */
        r = zero_view_new(a);
        if (r < 0)
                return log_error_errno(r, "Failed to make the instance view: %m");

        /* The listeners before the card and the instances: one that cannot be made stops zerod
         * before it has started a daemon or touched an instance. Requests wait in the sockets'
         * backlogs until the loop runs, after the reconciliation. */
        r = zero_front_new(a, zero_api_routes, http);
        if (r < 0)
                return log_error_errno(r, "Failed to start the API: %m");

        /* The card before the instances: reconciling an instance may clean up after it, which
         * gives its exports back to the card. */
        r = zero_card_start(a);
        if (r < 0)
                return r;
        /* What a mode can do may depend on the card (the bms mode: a card that outlives the host). */
        zero_plugins_probe_again(a->plugins);
        r = zero_inst_reconcile_all(a);
        if (r < 0)
                return r;
        r = zero_op_resume_all(a);
        if (r < 0)
                return r;
        zero_image_sweep(a); /* after the resume: running imports keep their work */
        /* What the start alone needed back to the system (trim.h), as after operations
         * (operation.c): its heap (the card's sync read the daemon's whole state once per
         * export: 5 MiB with 200 volumes), the code and the store's pages it ran through. */
        zero_trim(a);

        if (sd_watchdog_enabled(0, &watchdog_usec) > 0) {
                watchdog_usec /= 2;
                r = sd_event_add_time_relative(a->event, &wd, CLOCK_MONOTONIC, watchdog_usec, 0, on_watchdog,
                                               &watchdog_usec);
                if (r >= 0)
                        (void) sd_event_source_set_enabled(wd, SD_EVENT_ON);
        }
        (void) sd_notifyf(0, "READY=1\nSTATUS=Serving the API; %u cpus, %llu MiB", a->node_cpus,
                          (unsigned long long) a->node_memory_mib);
        log_info("zerod %s ready (state %s, run %s)", ZERO_VERSION, a->config->state_dir, a->config->run_dir);

        r = sd_event_loop(a->event);
        wd = sd_event_source_disable_unref(wd);
        return r;
}

int main(int argc, char *argv[]) {
        struct zero_agent agent = {};
        struct zero_front *http = NULL;
        struct zero_error err = {};
        int r;

        zero_log_set_ident("zerod");
        if (argc > 1 && streq(argv[1], "token"))
                return zero_token_cmd(argc - 1, argv + 1);
        agent.config = zero_config_new();
        if (!agent.config)
                return EXIT_FAILURE;
        r = parse_args(argc, argv, agent.config, &err);
        if (r > 0) {
                zero_config_free(agent.config);
                return EXIT_SUCCESS;
        }
        if (r >= 0)
                r = zero_config_finish(agent.config, &err);
        if (r < 0) {
                log_error("%s", err.message[0] ? err.message : strerror(-r));
                zero_config_free(agent.config);
                return EXIT_FAILURE;
        }
        zero_log_set_max_priority(agent.config->log_level);

        r = run(&agent, &http);

        http = zero_front_free(http);
        zero_op_free_all(&agent);
        zero_peers_free(&agent); /* after the operations, whose calls it holds */
        zero_inst_free_all(&agent);
        zero_view_free(&agent);
        zero_metrics_done(&agent.metrics);
        agent.plugins = zero_plugins_free(agent.plugins);
        zero_attest_close(&agent);
        zero_card_stop(&agent);
        agent.durable = zero_durable_free(agent.durable); /* after the operations, which wait on it */
        agent.store = zero_store_close(agent.store);
        agent.event = sd_event_unref(agent.event);
        zero_config_free(agent.config);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
