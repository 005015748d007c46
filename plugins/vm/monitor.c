/* SPDX-License-Identifier: Apache-2.0 */
/* One QMP connection per running VM, and the boot over it (monitor.h). */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "common/util.h"
#include "plugins/vm/hotplug.h"
#include "plugins/vm/instance.h"
#include "plugins/vm/migrate.h"
#include "plugins/vm/monitor.h"

/* QEMU makes its QMP socket some tens of ms after its exec: retry often (a failed connect is two
 * syscalls), and on time (accuracy 1 µs: sd-event's default slack of 250 ms would cost the boot up
 * to that much). */
#define CONNECT_RETRY_USEC (1ULL * 1000ULL)
#define CONNECT_RETRY_ACCURACY_USEC 1
#define POWERDOWN_REPEAT_USEC (1000ULL * 1000ULL)

struct vm_mon {
        struct zero_plugin_ctx *ctx;
        /* mon_free() runs: the replies zero_qmp_free() cancels find the monitor going. After it
         * no callback has the monitor: every command was on its connection. */
        bool freeing;
        char *qmp_path;
        struct zero_qmp *qmp;
        char status[32];
        bool ready; /* the connection got past QMP's greeting and capabilities */
        /* The boot, while it runs: services->done() is owed exactly once. */
        bool booting;
        char **device_ids;
        uint64_t boot_deadline; /* CLOCK_MONOTONIC µs */
        sd_event_source *retry; /* reconnect while QEMU makes its socket */
        sd_event_source *boot_timer;
        sd_event_source *powerdown; /* the power button, pressed again until QEMU is gone */
};

static struct {
        const struct zero_plugin_services *svc;
} mon;

#define mlog(m, prio, ...) mon.svc->log((m) ? (m)->ctx : NULL, (prio), __VA_ARGS__)

void vm_mon_setup(const struct zero_plugin_services *svc) {
        mon.svc = svc;
}

const struct zero_plugin_services *vm_mon_services(void) {
        return mon.svc;
}

struct vm_mon *vm_mon_find(struct zero_plugin_ctx *ctx) {
        struct vm_inst *i = vm_inst_get(mon.svc, ctx, false);
        return i ? i->mon : NULL;
}

struct zero_plugin_ctx *vm_mon_ctx(const struct vm_mon *m) {
        return m->ctx;
}

const char *vm_mon_status(const struct vm_mon *m) {
        return m && m->status[0] ? m->status : NULL;
}

static char **strv_dup(char *const *l) {
        size_t n = 0;
        char **c;

        while (l && l[n])
                n++;
        c = calloc(n + 1, sizeof(*c));
        for (size_t i = 0; c && i < n; i++)
                if (!(c[i] = strdup(l[i]))) {
                        strv_free(c);
                        return NULL;
                }
        return c;
}

static void boot_disarm(struct vm_mon *m) {
        m->booting = false;
        m->retry = sd_event_source_disable_unref(m->retry);
        m->boot_timer = sd_event_source_disable_unref(m->boot_timer);
        strv_free(m->device_ids);
        m->device_ids = NULL;
}

static void mon_free(struct vm_mon *m) {
        struct vm_inst *i = vm_inst_get(mon.svc, m->ctx, false);

        m->freeing = true;
        vm_hotplug_release(m->ctx);
        vm_migrate_release(m->ctx);
        if (i && i->mon == m)
                i->mon = NULL;
        boot_disarm(m);
        m->powerdown = sd_event_source_disable_unref(m->powerdown);
        /* Pending commands are answered with -ECANCELED from here: their callbacks see the
         * monitor going (mon_alive) and touch nothing. */
        m->qmp = zero_qmp_free(m->qmp);
        free(m->qmp_path);
        free(m);
}

static bool mon_alive(const struct vm_mon *m) {
        return !m->freeing;
}

void vm_mon_release(struct zero_plugin_ctx *ctx) {
        struct vm_mon *m = vm_mon_find(ctx);
        if (m)
                mon_free(m);
}

/* The boot ends here, once. */
static void boot_done(struct vm_mon *m, int r, const struct zero_error *err) {
        if (!m->booting)
                return;
        boot_disarm(m);
        if (r < 0)
                mlog(m, LOG_WARNING, "vm: boot failed: %s", err ? err->message : strerror(-r));
        mon.svc->done(m->ctx, r, err);
}

static void boot_fail(struct vm_mon *m, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void boot_fail(struct vm_mon *m, int r, const char *fmt, ...) {
        struct zero_error err = {};
        va_list ap;

        va_start(ap, fmt);
        (void) zero_error_setv(&err, r, ZERO_E_RUNTIME, fmt, ap);
        va_end(ap);
        boot_done(m, r, &err);
}

/* --- events --- */

static void on_event(struct zero_qmp *q, const char *name, json_t *data, uint64_t ts, void *userdata) {
        struct vm_mon *m = userdata;
        const char *reason = json_string_value(json_object_get(data, "reason"));
        const char *status = json_string_value(json_object_get(data, "status"));

        /* QEMU's own time of it: where a migration's paused window goes (docs/benchmarks.md). */
        mlog(m, LOG_DEBUG, "vm: QMP event %s%s%s at %llu.%06llu", name, status ? " " : "", strempty(status),
             (unsigned long long) (ts / 1000000), (unsigned long long) (ts % 1000000));
        vm_hotplug_event(m->ctx, name, data);
        vm_migrate_event(m->ctx, name, data);
        if (streq(name, "SHUTDOWN"))
                mon.svc->notify(m->ctx, "guest_shutdown", NULL, reason);
        else if (streq(name, "RESET"))
                mon.svc->notify(m->ctx, "guest_reset", NULL, reason);
        else if (streq(name, "STOP")) {
                snprintf(m->status, sizeof(m->status), "paused");
                if (!m->booting)
                        mon.svc->notify(m->ctx, "paused", "paused", reason);
        } else if (streq(name, "RESUME")) {
                snprintf(m->status, sizeof(m->status), "running");
                if (!m->booting)
                        mon.svc->notify(m->ctx, "resumed", "running", reason);
        }
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata);

static void on_closed(struct zero_qmp *q, int r, const struct zero_error *err, void *userdata) {
        struct vm_mon *m = userdata;

        /* QEMU exited (the shim tells the agent) or broke the protocol: the next command
         * connects again. */
        mlog(m, r == -ECONNRESET ? LOG_DEBUG : LOG_WARNING, "vm: QMP connection closed: %s",
             err ? err->message : strerror(-r));
        m->qmp = zero_qmp_free(m->qmp);
        if (!m->booting)
                return;
        /* A connect in the instant between QEMU's listening socket and its monitor is accepted
         * and closed before any greeting: connect again (the boot's deadline still bounds it). */
        if (!m->ready && !m->retry &&
            sd_event_add_time_relative(mon.svc->event, &m->retry, CLOCK_MONOTONIC, CONNECT_RETRY_USEC,
                                       CONNECT_RETRY_ACCURACY_USEC, on_retry, m) >= 0)
                return;
        boot_fail(m, r, "QEMU closed its QMP connection during the boot: %s", err ? err->message : strerror(-r));
}

static void on_status(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata) {
        struct vm_mon *m = userdata;
        const char *s = json_string_value(json_object_get(v, "status"));

        if (r >= 0 && s && mon_alive(m))
                snprintf(m->status, sizeof(m->status), "%s", s);
}

static void on_ready(struct zero_qmp *q, void *userdata) {
        struct vm_mon *m = userdata;
        m->ready = true;
}

static const struct zero_qmp_callbacks callbacks = {.ready = on_ready, .event = on_event, .closed = on_closed};

static int mon_connect(struct vm_mon *m) {
        int r;

        if (m->qmp)
                return 0;
        m->ready = false;
        r = zero_qmp_new(mon.svc->event, m->qmp_path, &callbacks, m, &m->qmp);
        if (r < 0)
                return r;
        zero_qmp_set_timeout(m->qmp, VM_MON_COMMAND_TIMEOUT_USEC);
        /* Know the status from the first moment (ops.status, adopt after a restart). */
        return zero_qmp_command(m->qmp, "query-status", NULL, on_status, m);
}

int vm_mon_get(struct zero_plugin_ctx *ctx, const char *qmp_path, struct vm_mon **ret) {
        struct vm_inst *i = vm_inst_get(mon.svc, ctx, true);
        struct vm_mon *m = i ? i->mon : NULL;
        int r;

        if (!i)
                return -ENOMEM;
        if (!m) {
                m = calloc(1, sizeof(*m));
                if (!m)
                        return -ENOMEM;
                m->ctx = ctx;
                m->qmp_path = strdup(qmp_path);
                if (!m->qmp_path) {
                        free(m);
                        return -ENOMEM;
                }
                i->mon = m;
        } else if (!streq(m->qmp_path, qmp_path)) {
                char *p = strdup(qmp_path);
                if (!p)
                        return -ENOMEM;
                free(m->qmp_path);
                m->qmp_path = p;
                m->qmp = zero_qmp_free(m->qmp);
        }
        r = mon_connect(m);
        if (r < 0)
                return r;
        *ret = m;
        return 0;
}

int vm_mon_command(struct vm_mon *m, const char *execute, json_t *arguments, zero_qmp_reply_fn cb,
                   void *userdata) {
        int r = mon_connect(m);
        if (r < 0) {
                json_decref(arguments);
                return r;
        }
        return zero_qmp_command(m->qmp, execute, arguments, cb, userdata);
}

/* --- boot --- */

static void on_cont(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata) {
        struct vm_mon *m = userdata;

        if (!mon_alive(m))
                return;
        if (r < 0)
                return boot_fail(m, r, "QEMU refused to run the VM (cont): %s", err->message);
        snprintf(m->status, sizeof(m->status), "running");
        boot_done(m, 0, NULL);
}

/* Every device the command line asked for is in QEMU's /machine/peripheral. */
static void on_devices(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata) {
        struct vm_mon *m = userdata;

        if (!mon_alive(m))
                return;
        if (r < 0)
                return boot_fail(m, r, "cannot list the VM's devices: %s", err->message);
        for (char **id = m->device_ids; id && *id; id++) {
                size_t i;
                json_t *e;
                bool found = false;

                json_array_foreach(v, i, e) {
                        if (streq(strempty(json_string_value(json_object_get(e, "name"))), *id))
                                found = true;
                }
                if (!found)
                        return boot_fail(m, -ENODEV, "QEMU has no device %s: the VM is not started", *id);
        }
        r = zero_qmp_command(m->qmp, "cont", NULL, on_cont, m);
        if (r < 0)
                boot_fail(m, r, "cannot send cont: %s", strerror(-r));
}

static void on_boot_status(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata) {
        struct vm_mon *m = userdata;
        const char *s = json_string_value(json_object_get(v, "status"));

        if (!mon_alive(m))
                return;
        if (r < 0 && !m->ready)
                return; /* closed before the greeting: on_closed connects again */
        if (r < 0 || !s)
                return boot_fail(m, r < 0 ? r : -EPROTO, "query-status failed: %s", r < 0 ? err->message : "no status");
        snprintf(m->status, sizeof(m->status), "%s", s);
        if (streq(s, "running"))
                return boot_done(m, 0, NULL); /* booted before zerod's crash */
        if (!streq(s, "prelaunch") && !streq(s, "paused"))
                return boot_fail(m, -EIO, "QEMU is %s, not waiting to run", s);
        r = zero_qmp_command(m->qmp, "qom-list", json_pack("{s:s}", "path", "/machine/peripheral"), on_devices, m);
        if (r < 0)
                boot_fail(m, r, "cannot send qom-list: %s", strerror(-r));
}

static int boot_try(struct vm_mon *m);

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        struct vm_mon *m = userdata;
        m->retry = sd_event_source_disable_unref(m->retry);
        (void) boot_try(m);
        return 0;
}

static int on_boot_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        struct vm_mon *m = userdata;
        boot_fail(m, -ETIMEDOUT, "QEMU did not become ready over QMP within %llu s (%s)",
                  VM_MON_BOOT_TIMEOUT_USEC / 1000000ULL, m->status[0] ? m->status : "no answer");
        return 0;
}

/* Connects (retrying from a timer while QEMU makes its socket) and asks for the status. */
static int boot_try(struct vm_mon *m) {
        int r = mon_connect(m);

        if (r == -ENOENT || r == -ECONNREFUSED || r == -EAGAIN) {
                r = sd_event_add_time_relative(mon.svc->event, &m->retry, CLOCK_MONOTONIC, CONNECT_RETRY_USEC,
                                               CONNECT_RETRY_ACCURACY_USEC, on_retry, m);
                if (r >= 0)
                        return 0;
        }
        if (r >= 0)
                r = zero_qmp_command(m->qmp, "query-status", NULL, on_boot_status, m);
        if (r < 0)
                boot_fail(m, r, "cannot connect to QEMU's QMP socket %s: %s", m->qmp_path, strerror(-r));
        return r;
}

int vm_mon_boot(struct zero_plugin_ctx *ctx, const char *qmp_path, char *const *device_ids,
                struct zero_error *err) {
        struct vm_mon *m = NULL;
        int r;

        r = vm_mon_get(ctx, qmp_path, &m);
        if (r < 0 && r != -ENOENT && r != -ECONNREFUSED && r != -EAGAIN)
                return zero_error_set(err, r, ZERO_E_RUNTIME, "cannot reach QEMU's QMP socket %s: %s", qmp_path,
                                      strerror(-r));
        if (!m && !(m = vm_mon_find(ctx)))
                return -ENOMEM;
        if (m->booting)
                return zero_error_set(err, -EBUSY, ZERO_E_CONFLICT, "the VM is booting already");
        boot_disarm(m);
        m->device_ids = strv_dup(device_ids);
        if (!m->device_ids)
                return -ENOMEM;
        m->booting = true;
        r = sd_event_add_time_relative(mon.svc->event, &m->boot_timer, CLOCK_MONOTONIC, VM_MON_BOOT_TIMEOUT_USEC, 0,
                                       on_boot_timeout, m);
        if (r < 0) {
                boot_disarm(m);
                return zero_error_set(err, r, ZERO_E_INTERNAL, "cannot arm the boot timer");
        }
        /* From here on the end is reported through services->done(), even a failure, and only
         * from the loop: the agent waits for it once this returns. */
        if (m->qmp)
                r = zero_qmp_command(m->qmp, "query-status", NULL, on_boot_status, m);
        else
                r = sd_event_add_time_relative(mon.svc->event, &m->retry, CLOCK_MONOTONIC, CONNECT_RETRY_USEC,
                                               CONNECT_RETRY_ACCURACY_USEC, on_retry, m);
        if (r < 0) {
                boot_disarm(m);
                return zero_error_set(err, r, ZERO_E_RUNTIME, "cannot talk to QEMU over QMP: %s", strerror(-r));
        }
        return ZERO_PLUGIN_PENDING;
}

/* --- power button --- */

static int on_powerdown(sd_event_source *s, uint64_t usec, void *userdata) {
        struct vm_mon *m = userdata;
        int r;

        r = vm_mon_command(m, "system_powerdown", NULL, NULL, NULL);
        if (r < 0)
                mlog(m, LOG_DEBUG, "vm: system_powerdown again: %s", strerror(-r));
        (void) sd_event_source_set_time_relative(s, POWERDOWN_REPEAT_USEC);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ON);
        return 0;
}

int vm_mon_powerdown(struct vm_mon *m) {
        int r = vm_mon_command(m, "system_powerdown", NULL, NULL, NULL);

        if (r < 0 || m->powerdown)
                return r;
        /* A guest drops a press that comes before it listens (early in its boot): press again
         * every second until QEMU exits (the release of this monitor) or is told to quit. */
        r = sd_event_add_time_relative(mon.svc->event, &m->powerdown, CLOCK_MONOTONIC, POWERDOWN_REPEAT_USEC,
                                       10 * 1000, on_powerdown, m);
        if (r >= 0)
                (void) sd_event_source_set_enabled(m->powerdown, SD_EVENT_ON);
        return 0;
}

/* --- quit --- */

static void on_quit(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata) {
        struct vm_mon *m = userdata;

        if (r >= 0 || !mon_alive(m) || r == -ECONNRESET)
                return; /* QEMU exits (ECONNRESET: it has) */
        mlog(m, LOG_WARNING, "vm: quit failed (%s): killing QEMU", err->message);
        (void) mon.svc->shim_signal(m->ctx, SIGKILL, NULL);
}

int vm_mon_quit(struct vm_mon *m) {
        int r = mon_connect(m);

        m->powerdown = sd_event_source_disable_unref(m->powerdown);
        if (r >= 0)
                r = zero_qmp_command_timeout(m->qmp, "quit", NULL, VM_MON_QUIT_TIMEOUT_USEC, on_quit, m);
        return r;
}
