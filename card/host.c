/* SPDX-License-Identifier: Apache-2.0 */
/* The host VM: started, adopted, watched, powered (host.h). */
#include "card/host.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "card/card.h"
#include "card/job.h"
#include "card/store.h"
#include "common/argv.h"
#include "common/log.h"
#include "common/util.h"
#include "io/qemu_args.h"
#include "shim/client.h"

#define HOST_SHIM_ID "zero-host"
#define QMP_CONNECT_RETRY_USEC (50ULL * 1000ULL)
#define QMP_CONNECT_TIMEOUT_USEC (20ULL * 1000000ULL)
#define QMP_COMMAND_TIMEOUT_USEC (10ULL * 1000000ULL)
#define QUIT_GRACE_USEC (2ULL * 1000000ULL)
#define OFF_TIMEOUT_USEC (10ULL * 1000000ULL)
#define PRESS_EVERY_USEC (1ULL * 1000000ULL)
#define POWERDOWN_TIMEOUT_S_DEFAULT 60

enum power {
        POWER_OFF,
        POWER_STARTING, /* QEMU spawned, its QMP not ready yet */
        POWER_RUNNING,
        POWER_STOPPING, /* off or powerdown asked, QEMU not gone yet */
};

static const char *const power_names[] = {
        [POWER_OFF] = "off", [POWER_STARTING] = "starting", [POWER_RUNNING] = "running", [POWER_STOPPING] = "stopping"};

struct zc_host {
        struct zc *zc;
        char *dir;      /* RUN/host: the shim's */
        char *qmp_path; /* RUN/host/qmp.sock */
        enum power power;
        pid_t pid;
        struct zero_qmp *qmp;
        char status[32];          /* QEMU's run state, from query-status and its events */
        sd_event_source *report;  /* the shim's sync pipe, during a start */
        sd_event_source *watch;   /* "wait" on the shim's socket: QEMU's exit */
        sd_event_source *connect; /* the QMP connection's retries */
        uint64_t connect_deadline;
        sd_event_source *press; /* the power button, pressed again */
        struct zc_job *job;     /* the power job waiting for the host (started, exited) */
        unsigned boots;
};

static struct zc_host *H(struct zc *zc) {
        return zc->host;
}

/* The power job waiting is told (and forgotten). */
static void job_continue(struct zc_host *h, int r, const struct zero_error *err) {
        struct zc_job *j = h->job;

        h->job = NULL;
        h->press = sd_event_source_disable_unref(h->press);
        if (j) {
                j->timer = sd_event_source_disable_unref(j->timer);
                zc_job_next(j, r, err);
        }
}

/* ---- QMP ---- */

static void qmp_drop(struct zc_host *h) {
        h->connect = sd_event_source_disable_unref(h->connect);
        h->qmp = zero_qmp_free(h->qmp);
}

static void on_status(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata) {
        struct zc_host *h = userdata;
        const char *s = json_string_value(json_object_get(v, "status"));

        if (r >= 0 && s)
                snprintf(h->status, sizeof(h->status), "%s", s);
}

static void on_qmp_ready(struct zero_qmp *q, void *userdata) {
        struct zc_host *h = userdata;

        (void) zero_qmp_command(q, "query-status", NULL, on_status, h);
        if (h->power == POWER_STARTING) {
                h->power = POWER_RUNNING;
                log_info("The host runs (QEMU pid %d)", (int) h->pid);
                if (h->job && h->job->steps && streq(h->job->what, "power on"))
                        job_continue(h, 0, NULL);
        }
}

static void on_qmp_event(struct zero_qmp *q, const char *name, json_t *data, uint64_t ts, void *userdata) {
        struct zc_host *h = userdata;

        if (streq(name, "STOP"))
                snprintf(h->status, sizeof(h->status), "paused");
        else if (streq(name, "RESUME"))
                snprintf(h->status, sizeof(h->status), "running");
        else if (streq(name, "SHUTDOWN") || streq(name, "RESET"))
                log_info("The host: %s (%s)", name, strempty(json_string_value(json_object_get(data, "reason"))));
        zc_present_event(h->zc, name, data);
        zc_tenant_event(h->zc, name, data);
}

static void qmp_start(struct zc_host *h);

static void on_qmp_closed(struct zero_qmp *q, int r, const struct zero_error *err, void *userdata) {
        struct zc_host *h = userdata;

        log_info("The host's QMP connection closed: %s", err && err->message[0] ? err->message : strerror(-r));
        h->qmp = zero_qmp_free(h->qmp);
        /* QEMU is going (its exit comes through the shim and stops the retries), or it closed on
         * us: connect again. */
        if (h->power != POWER_OFF)
                qmp_start(h);
}

static const struct zero_qmp_callbacks qmp_callbacks = {
        .ready = on_qmp_ready, .event = on_qmp_event, .closed = on_qmp_closed};

static int on_connect_retry(sd_event_source *s, uint64_t usec, void *userdata);

/* Connects now or retries from a timer while QEMU makes its socket, bounded. */
static void qmp_connect(struct zc_host *h) {
        int r;

        if (h->qmp || h->power == POWER_OFF)
                return;
        r = zero_qmp_new(h->zc->event, h->qmp_path, &qmp_callbacks, h, &h->qmp);
        if (r >= 0) {
                zero_qmp_set_timeout(h->qmp, QMP_COMMAND_TIMEOUT_USEC);
                h->connect = sd_event_source_disable_unref(h->connect);
                return;
        }
        if (zero_monotonic_usec() > h->connect_deadline) {
                struct zero_error err;
                log_error("The host's QMP socket %s does not answer: %s", h->qmp_path, strerror(-r));
                zero_error_set(&err, -ETIMEDOUT, ZERO_E_TIMEOUT, "the host's QEMU does not answer on %s", h->qmp_path);
                if (h->job && streq(h->job->what, "power on"))
                        job_continue(h, -ETIMEDOUT, &err);
                return;
        }
        if (!h->connect)
                (void) sd_event_add_time_relative(h->zc->event, &h->connect, CLOCK_MONOTONIC, QMP_CONNECT_RETRY_USEC,
                                                  1000, on_connect_retry, h);
        else {
                (void) sd_event_source_set_time_relative(h->connect, QMP_CONNECT_RETRY_USEC);
                (void) sd_event_source_set_enabled(h->connect, SD_EVENT_ONESHOT);
        }
}

static int on_connect_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        qmp_connect(userdata);
        return 0;
}

static void qmp_start(struct zc_host *h) {
        h->connect_deadline = zero_monotonic_usec() + QMP_CONNECT_TIMEOUT_USEC;
        qmp_connect(h);
}

bool zc_host_qmp_up(struct zc *zc) {
        struct zc_host *h = H(zc);
        return h && h->power != POWER_OFF;
}

bool zc_host_qmp_ready(struct zc *zc) {
        struct zc_host *h = H(zc);
        return h && h->qmp && zero_qmp_is_ready(h->qmp) > 0;
}

int zc_host_qmp_send(void *userdata, const char *execute, json_t *args, zero_qmp_reply_fn cb, void *cb_userdata) {
        struct zc_host *h = H(userdata);

        if (!h || !h->qmp) {
                json_decref(args);
                return -ENOTCONN;
        }
        return zero_qmp_command(h->qmp, execute, args, cb, cb_userdata);
}

/* ---- the shim: QEMU's exit ---- */

static void host_gone(struct zc_host *h, const char *why) {
        struct zero_shim_exit e = {};
        struct zero_error err;
        enum power was = h->power;

        h->watch = sd_event_source_disable_unref(h->watch);
        h->report = sd_event_source_disable_unref(h->report);
        qmp_drop(h);
        h->power = POWER_OFF;
        h->status[0] = '\0';
        if (zero_shim_read_exit(h->dir, &e) >= 0)
                log_info("The host is off (%s): QEMU pid %d ended with %d", why, (int) e.pid, e.code);
        else
                log_info("The host is off (%s)", why);
        if (!h->job)
                return;
        if (was == POWER_STARTING && streq(h->job->what, "power on")) {
                zero_error_set(&err, -EIO, ZERO_E_RUNTIME,
                               "the host's QEMU ended during its start (exit code %d): "
                               "see the host's console",
                               e.code);
                return job_continue(h, -EIO, &err);
        }
        job_continue(h, 0, NULL);
}

static int on_watch(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct zc_host *h = userdata;
        char buf[256];
        ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        host_gone(h, "QEMU exited");
        return 0;
}

static int watch_start(struct zc_host *h) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        h->watch = sd_event_source_disable_unref(h->watch);
        r = zero_shim_connect(h->dir, true, &fd);
        if (r < 0)
                return r;
        if (send(fd, "wait", 4, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
                return -errno;
        r = sd_event_add_io(h->zc->event, &h->watch, fd, EPOLLIN, on_watch, h);
        if (r < 0)
                return r;
        (void) sd_event_source_set_io_fd_own(h->watch, true);
        TAKE_FD(fd);
        return 0;
}

static int on_report(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct zc_host *h = userdata;
        char line[512];
        ssize_t n = read(fd, line, sizeof(line) - 1);
        struct zero_error err = {};
        int r;

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        h->report = sd_event_source_disable_unref(h->report);
        line[n > 0 ? n : 0] = '\0';
        line[strcspn(line, "\n")] = '\0';
        r = n > 0 ? zero_shim_parse_sync(line, &h->pid, &err)
                  : zero_error_set(&err, -EIO, ZERO_E_RUNTIME, "zero-shim did not report the host's start");
        if (r >= 0)
                r = watch_start(h);
        if (r < 0) {
                (void) zero_error_default(&err, r, "the host's start");
                log_error("The host did not start: %s", err.message);
                h->power = POWER_OFF;
                return job_continue(h, r, &err), 0;
        }
        h->boots++;
        qmp_start(h);
        return 0;
}

static int shim_signal(struct zc_host *h, int sig) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *reply = NULL;
        char req[32];
        int r = zero_shim_connect(h->dir, false, &fd);

        if (r < 0)
                return r;
        snprintf(req, sizeof(req), "signal %d", sig);
        return zero_shim_request_timeout(fd, req, ZERO_SHIM_TIMEOUT_MS, &reply);
}

/* ---- power on ---- */

/* Not "token": the orchestrator's secret stays on the card (fwcfg.c). */
static const char *const fw_names[] = {"zerod.conf", "token.sha256", "card-token", "state-volume", "tls.crt",
                                       "tls.key",    "card",         "net",        NULL};

/* The host kernel's command line. cryptomgr.notests and the kdf108 self-test skipped: Debian's
 * kernel tests every crypto algorithm it instantiates at boot, and under TCG those self-tests
 * were 2.5 of the 3.8 s its initcalls took (initcall_debug; docs/benchmarks.md, "bms"), paid at
 * every power-on and every take-back. crypto_kdf108_init is nothing but a self-test of the
 * SP800-108 KDF (its functions work without it), which notests does not skip. */
#define HOST_APPEND "console=ttyS0 panic=-1 quiet cryptomgr.notests initcall_blacklist=crypto_kdf108_init"

static int spawn(struct zc_host *h, struct zero_error *err) {
        struct zc *zc = h->zc;
        struct zc_config *c = zc->config;
        _cleanup_free_ char *fw_dir = zero_strdup_printf("%s/host", c->state_dir);
        _cleanup_free_ char *append = strdup(HOST_APPEND);
        _cleanup_free_ char *maint = c->maintenance ? zero_strdup_printf("%s/maint.sock", h->dir) : NULL;
        _cleanup_(zero_argv_done) struct zero_argv argv = {};
        _cleanup_close_ int fd = -EBADF;
        unsigned port = 0;
        int r;

        if (!fw_dir || !append || (c->maintenance && !maint))
                return -ENOMEM;
        if (!c->kernel || !c->initrd)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "[host] kernel and initrd name the host image");
        r = zc_host_cmdline(&(struct zc_host_cmd){.accel = c->accel,
                                                  .kernel = c->kernel,
                                                  .initrd = c->initrd,
                                                  .append = append,
                                                  .cpus = c->cpus,
                                                  .memory_mib = c->memory_mib,
                                                  .qmp_path = h->qmp_path,
                                                  .fw_dir = fw_dir,
                                                  .fw_names = fw_names,
                                                  .card_socket = zc->host_api_socket,
                                                  .maint_socket = maint},
                            &argv, &port);
        if (r >= 0)
                r = zc_present_cmdline(zc, &argv, &port, err);
        for (unsigned i = 0; r >= 0 && i < c->hotplug_ports; i++) {
                char id[16];
                snprintf(id, sizeof(id), "hp%u", i);
                zero_qemu_args_root_port(&argv, &port, id);
        }
        if (r >= 0)
                r = argv.r;
        if (r < 0)
                return zero_error_default(err, r, "the host's command line");
        r = zero_mkdir_p(h->dir, 0700);
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_INTERNAL, "cannot make %s: %s", h->dir, strerror(-r));
        /* A shim that ended leaves its files; a new one in the directory starts clean. */
        (void) unlink(h->qmp_path);
        if (maint)
                (void) unlink(maint);
        r = zero_shim_spawn(&(struct zero_shim_spawn_args){.shim_path = c->shim,
                                                           .id = HOST_SHIM_ID,
                                                           .dir = h->dir,
                                                           .log_max = c->console_log_max,
                                                           .argv = (const char *const *) argv.v},
                            &fd, err);
        if (r < 0)
                return r;
        r = sd_event_add_io(zc->event, &h->report, fd, EPOLLIN, on_report, h);
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_INTERNAL, "cannot watch zero-shim's report: %s", strerror(-r));
        (void) sd_event_source_set_io_fd_own(h->report, true);
        TAKE_FD(fd);
        h->power = POWER_STARTING;
        h->status[0] = '\0';
        log_info("Powering the host on: %s", argv.v[0]);
        return 0;
}

static int on_check(struct zc_job *j) {
        struct zc_host *h = H(j->zc);

        if (h->power == POWER_RUNNING || h->power == POWER_STARTING)
                return zc_job_skip_rest(j);
        if (h->power == POWER_STOPPING)
                return zero_error_set(&j->err, -EBUSY, ZERO_E_WRONG_STATE, "the host is powering off");
        return 1;
}

static int on_state_volume(struct zc_job *j) {
        const char *id = json_string_value(zc_store_host(j->zc->store, "state_volume"));
        json_t *pres = zc_store_get(j->zc->store, "presentations", id);

        if (!pres || !streq(strempty(json_string_value(json_object_get(pres, "state"))), "presented"))
                return zero_error_set(&j->err, -EAGAIN, ZERO_E_UNAVAILABLE,
                                      "the host's state volume is not presented yet");
        return 1;
}

static int on_spawn(struct zc_job *j) {
        struct zc_host *h = H(j->zc);
        int r = spawn(h, &j->err);

        if (r < 0)
                return r;
        h->job = j;
        return 0;
}

static int host_result(struct zc_job *j) {
        zc_job_result(j, zc_host_json(j->zc));
        return 1;
}

static const zc_step_fn power_on_steps[] = {on_check, on_state_volume, on_spawn, host_result, NULL};

/* ---- off, powerdown, reset ---- */

static int off_check(struct zc_job *j) {
        return H(j->zc)->power == POWER_OFF ? zc_job_skip_rest(j) : 1;
}

static int on_off_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        struct zc_host *h = userdata;
        struct zero_error err;

        zero_error_set(&err, -ETIMEDOUT, ZERO_E_TIMEOUT, "the host's QEMU did not end");
        job_continue(h, -ETIMEDOUT, &err);
        return 0;
}

static int on_quit_grace(sd_event_source *s, uint64_t usec, void *userdata) {
        struct zc_host *h = userdata;

        h->press = sd_event_source_disable_unref(h->press);
        log_warning("The host's QEMU did not quit within %llu s: SIGKILL", QUIT_GRACE_USEC / USEC_PER_SEC);
        (void) shim_signal(h, SIGKILL);
        return 0;
}

static int off_quit(struct zc_job *j) {
        struct zc_host *h = H(j->zc);
        int r;

        h->power = POWER_STOPPING;
        h->job = j;
        if (h->qmp)
                (void) zero_qmp_command(h->qmp, "quit", NULL, NULL, NULL);
        else
                (void) shim_signal(h, SIGKILL);
        r = sd_event_add_time_relative(j->zc->event, &h->press, CLOCK_MONOTONIC, QUIT_GRACE_USEC, 10000, on_quit_grace,
                                       h);
        if (r >= 0)
                r = sd_event_add_time_relative(j->zc->event, &j->timer, CLOCK_MONOTONIC, OFF_TIMEOUT_USEC, 10000,
                                               on_off_timeout, h);
        if (r < 0) {
                h->job = NULL;
                return r;
        }
        return 0;
}

static const zc_step_fn power_off_steps[] = {off_check, off_quit, host_result, NULL};

static int on_press(sd_event_source *s, uint64_t usec, void *userdata) {
        struct zc_host *h = userdata;

        if (h->qmp)
                (void) zero_qmp_command(h->qmp, "system_powerdown", NULL, NULL, NULL);
        (void) sd_event_source_set_time_relative(s, PRESS_EVERY_USEC);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ON);
        return 0;
}

static int on_powerdown_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        struct zc_host *h = userdata;
        struct zero_error err;

        zero_error_set(&err, -ETIMEDOUT, ZERO_E_TIMEOUT,
                       "the host did not power off after its power button: it runs "
                       "on (power it off)");
        if (h->power == POWER_STOPPING)
                h->power = POWER_RUNNING;
        job_continue(h, -ETIMEDOUT, &err);
        return 0;
}

static int powerdown_press(struct zc_job *j) {
        struct zc_host *h = H(j->zc);
        json_int_t t = json_integer_value(json_object_get(j->args, "timeout_s"));
        int r;

        if (h->power == POWER_STARTING)
                return zero_error_set(&j->err, -EBUSY, ZERO_E_WRONG_STATE, "the host is starting");
        h->power = POWER_STOPPING;
        h->job = j;
        /* A guest drops a press that comes before it listens: pressed again every second. */
        r = sd_event_add_time_relative(j->zc->event, &h->press, CLOCK_MONOTONIC, 0, 10000, on_press, h);
        if (r >= 0)
                r = sd_event_add_time_relative(j->zc->event, &j->timer, CLOCK_MONOTONIC,
                                               (uint64_t) (t > 0 ? t : POWERDOWN_TIMEOUT_S_DEFAULT) * USEC_PER_SEC,
                                               10000, on_powerdown_timeout, h);
        if (r < 0) {
                h->job = NULL;
                h->press = sd_event_source_disable_unref(h->press);
                return r;
        }
        return 0;
}

static const zc_step_fn powerdown_steps[] = {off_check, powerdown_press, host_result, NULL};

static void on_reset_reply(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata) {
        struct zc_host *h = userdata;

        if (r >= 0)
                log_info("The host was reset");
        job_continue(h, r, err);
}

static int reset(struct zc_job *j) {
        struct zc_host *h = H(j->zc);
        int r;

        if (h->power != POWER_RUNNING || !h->qmp)
                return zero_error_set(&j->err, -EBUSY, ZERO_E_WRONG_STATE, "the host is %s", power_names[h->power]);
        r = zero_qmp_command(h->qmp, "system_reset", NULL, on_reset_reply, h);
        if (r < 0)
                return r;
        h->job = j;
        return 0;
}

static const zc_step_fn reset_steps[] = {reset, host_result, NULL};

int zc_host_power(struct zc *zc, const char *action, unsigned timeout_s, struct zc_job **ret, struct zero_error *err) {
        static const struct {
                const char *action, *what;
                const zc_step_fn *steps;
        } actions[] = {
                {"on", "power on", power_on_steps},
                {"off", "power off", power_off_steps},
                {"powerdown", "power button", powerdown_steps},
                {"reset", "reset", reset_steps},
        };

        /* A tenant holds the host: the button is its stop, a reset takes the host back by force,
         * and nothing powers it off under the tenant (stop it first). */
        if (zc_tenant(zc) && action && streq(action, "powerdown"))
                return zc_tenant_powerdown(zc, json_pack("{s:I}", "timeout_s", (json_int_t) (timeout_s ? timeout_s : 60)),
                                           ret, err);
        if (zc_tenant(zc) && action && streq(action, "reset"))
                return zc_tenant_reset(zc, ret);
        if (zc_tenant(zc) && action && (streq(action, "off") || streq(action, "on")))
                return zero_error_set(err, -EBUSY, ZERO_E_WRONG_STATE,
                                      "the host is bms instance %s's: stop it first (POST /v1/instances/%s/stop)",
                                      strempty(json_string_value(json_object_get(zc_tenant(zc), "name"))),
                                      strempty(json_string_value(json_object_get(zc_tenant(zc), "name"))));
        for (size_t i = 0; action && i < ELEMENTSOF(actions); i++)
                if (streq(action, actions[i].action))
                        return zc_job_submit(zc, "host", "host", actions[i].what, actions[i].steps,
                                             json_pack("{s:I}", "timeout_s", (json_int_t) timeout_s), ret);
        return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "action '%s': expected on, off, powerdown or reset",
                              strempty(action));
}

/* ---- the host's devices, as QEMU has them ---- */

struct devices_ask {
        zc_host_devices_fn fn;
        void *userdata;
};

static void on_devices(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata) {
        struct devices_ask a = *(struct devices_ask *) userdata;
        json_auto_t *ids = json_array();
        size_t i;
        json_t *e;

        free(userdata);
        json_array_foreach(r >= 0 ? v : NULL, i, e) {
                const char *type = json_string_value(json_object_get(e, "type"));
                if (type && strncmp(type, "child<", 6) == 0)
                        json_array_append_new(ids, json_string(json_string_value(json_object_get(e, "name"))));
        }
        a.fn(a.userdata, r, r >= 0 ? ids : NULL, err);
}

int zc_host_devices(struct zc *zc, zc_host_devices_fn fn, void *userdata, struct zero_error *err) {
        struct zc_host *h = H(zc);
        struct devices_ask *a;
        int r;

        if (!h->qmp)
                return zero_error_set(err, -ENOTCONN, ZERO_E_WRONG_STATE, "the host is %s", power_names[h->power]);
        a = malloc(sizeof(*a));
        if (!a)
                return -ENOMEM;
        *a = (struct devices_ask){fn, userdata};
        r = zero_qmp_command(h->qmp, "qom-list", json_pack("{s:s}", "path", "/machine/peripheral"), on_devices, a);
        if (r < 0) {
                free(a);
                return zero_error_set(err, r, ZERO_E_RUNTIME, "cannot ask the host's QEMU: %s", strerror(-r));
        }
        return 0;
}

/* ---- what it is ---- */

json_t *zc_host_json(struct zc *zc) {
        struct zc_host *h = H(zc);
        json_t *port = zc_store_host(zc->store, "orchestrator_port");
        _cleanup_free_ char *url = NULL, *host = strdup(zc->config->listen);
        char *colon = host ? strrchr(host, ':') : NULL;

        if (colon)
                *colon = '\0';
        url = zero_strdup_printf("https://%s:%lld", host ? host : "", (long long) json_integer_value(port));
        return json_pack("{s:s,s:s?,s:I,s:I,s:s?,s:s?,s:s}", "power", power_names[h->power], "status",
                         h->status[0] ? h->status : NULL, "pid", (json_int_t) (h->power == POWER_OFF ? 0 : h->pid),
                         "boots", (json_int_t) h->boots, "orchestrator_url", url, "state_volume",
                         json_string_value(zc_store_host(zc->store, "state_volume")), "accel", zc->config->accel);
}

int zc_host_console(struct zc *zc, size_t max, char **ret, size_t *ret_len) {
        _cleanup_free_ char *path = zero_strdup_printf("%s/%s", H(zc)->dir, ZERO_SHIM_FILE_CONSOLE);
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        ssize_t n;

        if (!path)
                return -ENOMEM;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT) {
                *ret = strdup("");
                *ret_len = 0;
                return *ret ? 0 : -ENOMEM;
        }
        if (fd < 0 || fstat(fd, &st) < 0)
                return -errno;
        if ((size_t) st.st_size < max)
                max = (size_t) st.st_size;
        buf = malloc(max + 1);
        if (!buf)
                return -ENOMEM;
        n = pread(fd, buf, max, st.st_size - (off_t) max);
        if (n < 0)
                return -errno;
        buf[n] = '\0';
        *ret_len = (size_t) n;
        *ret = TAKE_PTR(buf);
        return 0;
}

int zc_host_open(struct zc *zc, struct zero_error *err) {
        struct zc_host *h = calloc(1, sizeof(*h));
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *reply = NULL;

        if (!h)
                return -ENOMEM;
        zc->host = h;
        h->zc = zc;
        h->dir = zero_strdup_printf("%s/host", zc->config->run_dir);
        h->qmp_path = zero_strdup_printf("%s/host/qmp.sock", zc->config->run_dir);
        if (!h->dir || !h->qmp_path)
                return -ENOMEM;
        /* A host that ran on while the card was away: its shim answers. */
        if (zero_shim_connect(h->dir, false, &fd) >= 0 &&
            zero_shim_request_timeout(fd, "status", ZERO_SHIM_TIMEOUT_MS, &reply) >= 0 &&
            strncmp(reply, "running pid=", 12) == 0) {
                h->pid = (pid_t) atoi(reply + 12);
                h->power = POWER_RUNNING;
                if (watch_start(h) < 0)
                        log_warning("Cannot watch the host's shim: its end will not be noticed");
                qmp_start(h);
                log_info("Adopted the host that runs (QEMU pid %d)", (int) h->pid);
        }
        return 0;
}

void zc_host_close(struct zc *zc) {
        struct zc_host *h = H(zc);

        if (!h)
                return;
        h->job = NULL; /* the jobs go with the card (zc_jobs_free) */
        h->press = sd_event_source_disable_unref(h->press);
        h->watch = sd_event_source_disable_unref(h->watch);
        h->report = sd_event_source_disable_unref(h->report);
        qmp_drop(h);
        free(h->dir);
        free(h->qmp_path);
        free(h);
        zc->host = NULL;
}
