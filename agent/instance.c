/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The live side of instances: links to their shims (spawn report, exit wait, signals), state
 * changes, and reconciliation of the store with the shims after zerod starts.
 */
#include <signal.h>
#include <string.h>
#include <sys/socket.h>

#include "agent/agent.h"
#include "agent/card_steps.h"
#include "agent/operation.h"
#include "agent/plugin_loader.h"
#include "agent/services.h"
#include "common/log.h"
#include "common/util.h"
#include "shim/client.h"

struct zero_inst *zero_inst_find(struct zero_agent *a, const char *id) {
        return zero_hashmap_get(&a->instances, id);
}

int zero_inst_get(struct zero_agent *a, const char *id, const char *name, struct zero_inst **ret) {
        struct zero_inst *inst = zero_inst_find(a, id);
        int r;

        if (inst) {
                *ret = inst;
                return 0;
        }
        inst = calloc(1, sizeof(*inst));
        if (!inst)
                return -ENOMEM;
        inst->agent = a;
        snprintf(inst->id, sizeof(inst->id), "%s", id);
        inst->name = strdup(name);
        inst->run_dir = zero_strdup_printf("%s/instances/%s", a->config->run_dir, id);
        inst->state_dir = zero_strdup_printf("%s/instances/%s", a->config->state_dir, id);
        inst->sync_fd = inst->wait_fd = -EBADF;
        zero_services_ctx_init(inst);
        if (!inst->name || !inst->run_dir || !inst->state_dir) {
                zero_inst_free(NULL, inst);
                return -ENOMEM;
        }
        r = zero_hashmap_put(&a->instances, inst->id, inst);
        if (r < 0) {
                zero_inst_free(NULL, inst);
                return r;
        }
        a->instances_gen++;
        *ret = inst;
        return 0;
}

void zero_inst_disarm(struct zero_inst *inst) {
        inst->sync_source = sd_event_source_disable_unref(inst->sync_source);
        inst->wait_source = sd_event_source_disable_unref(inst->wait_source);
        inst->sync_fd = safe_close(inst->sync_fd);
        inst->wait_fd = safe_close(inst->wait_fd);
}

void zero_inst_free(struct zero_agent *a, struct zero_inst *inst) {
        if (!inst)
                return;
        if (a && zero_hashmap_get(&a->instances, inst->id) == inst)
                (void) zero_hashmap_remove(&a->instances, inst->id);
        if (a)
                a->instances_gen++;
        zero_inst_disarm(inst);
        /* Whatever plugin ran it may still hold the handle (a QMP connection's userdata). */
        zero_services_release(inst);
        free(inst->name);
        free(inst->run_dir);
        free(inst->state_dir);
        free(inst);
}

void zero_inst_free_all(struct zero_agent *a) {
        struct zero_hashmap all = a->instances;
        struct zero_inst *inst;
        size_t i = 0;

        /* The map is taken whole first: each free would change it under the iteration. */
        a->instances = (struct zero_hashmap){};
        while (zero_hashmap_next(&all, &i, NULL, (void **) &inst))
                zero_inst_free(a, inst);
        zero_hashmap_done(&all);
}

int zero_inst_set_state(struct zero_agent *a, struct zero_instance_row *row, enum zero_inst_state st) {
        const char *state = zero_inst_state_name(st);
        char *s = state ? strdup(state) : NULL;
        bool changed = zero_inst_state_of(row) != st;
        int r;

        if (st == ZERO_INST_KEEP)
                return 0; /* the table says nothing changes here */
        if (!state)
                return -EINVAL;
        if (!s)
                return -ENOMEM;
        free(row->state);
        row->state = s;
        row->updated_at = (int64_t) zero_now_usec();
        r = zero_store_instance_update(a->store, row);
        if (r < 0)
                return log_error_errno(r, "Failed to record state %s of %s: %m", state, row->name);
        if (changed) {
                json_t *data = json_pack("{s:s}", "state", state);
                /* Stopped by an exit: the code goes with it (137 for a SIGKILL, an OOM kill's). */
                if (data && st == ZERO_INST_STOPPED && row->has_exit_code)
                        (void) json_object_set_new(data, "exit_code", json_integer(row->exit_code));
                zero_agent_event(a, "instance.state", row->name, data);
        }
        return 0;
}

/* --- exit --- */

/* The plugin's cleanup of an instance that no operation is about (it ended by itself, or a
 * cleanup asked to be called again): the state follows once it is all done. A cleanup that asks
 * to be called again (ZERO_PLUGIN_PENDING, plugin.h) leaves the instance stopping until its
 * done() comes (zero_inst_cleanup_again()). */
static void inst_cleanup(struct zero_agent *a, struct zero_inst *inst, struct zero_instance_row *row, int r) {
        const struct zero_loaded_plugin *lp = zero_plugins_find(a->plugins, row->mode);
        struct zero_info_holder h = {};
        struct zero_error err = {};

        if (r >= 0 && lp && zero_info_build(a, row, inst, &h, &err) >= 0) {
                r = zero_plugin_again_answer(lp->plugin, lp->plugin->ops.cleanup(zero_services_ctx(inst, lp), &h.info,
                                                                                  &err));
                if (r < 0)
                        log_error_errno(r, "Cleanup of %s failed: %s", row->name, err.message);
        }
        zero_info_done(&h);
        /* What the engine made of the card for it goes too (card_steps.h), nobody waiting. */
        if (r >= 0 && r != ZERO_PLUGIN_PENDING)
                zero_card_down_nowait(a, row->id, NULL, NULL);
        if (r == ZERO_PLUGIN_PENDING)
                (void) zero_inst_set_state(a, row, ZERO_INST_STOPPING);
        else if (zero_inst_state_ends_by_exit(zero_inst_state_of(row)))
                (void) zero_inst_set_state(a, row, row->has_exit_code ? ZERO_INST_STOPPED : ZERO_INST_ERROR);
}

void zero_inst_cleanup_again(struct zero_inst *inst, int r, const struct zero_error *err) {
        struct zero_agent *a = inst->agent;
        struct zero_instance_row row = {};

        if (zero_op_of_instance(a, inst->id) || zero_store_instance_get_by_id(a->store, inst->id, &row) < 0)
                return; /* an operation's steps decide */
        if (r < 0)
                log_error_errno(r, "Cleanup of %s failed: %s", row.name, err ? err->message : "");
        if (!zero_inst_state_live(zero_inst_state_of(&row)) && !zero_inst_shim_alive(inst))
                inst_cleanup(a, inst, &row, r);
        zero_instance_row_done(&row);
}

static void inst_exited(struct zero_inst *inst, const struct zero_shim_exit *ex) {
        struct zero_agent *a = inst->agent;
        struct zero_instance_row row = {};
        /* A stop or delete waits for the exit; a boot or a hot-plug's plugin op ends with it. */
        struct zero_op *op = zero_op_waiting(a, inst->id, ZERO_OP_WAIT_EXIT | ZERO_OP_WAIT_PLUGIN);
        int r;

        zero_inst_disarm(inst);
        r = zero_store_instance_get_by_id(a->store, inst->id, &row);
        if (r < 0) {
                log_error_errno(r, "Instance %s exited but is not in the store: %m", inst->name);
                if (op)
                        zero_op_continue(op, 0);
                return;
        }
        row.pid = 0;
        row.stopped_at = (int64_t) zero_now_usec();
        free(row.error);
        row.error = NULL;
        if (ex) {
                row.has_exit_code = true;
                row.exit_code = ex->code;
                log_info("Instance %s exited with code %d%s", row.name, ex->code, ex->signal ? " (signal)" : "");
        } else {
                row.has_exit_code = false;
                row.error = strdup("its supervisor (zero-shim) died without an exit record");
                zero_metrics_shim_lost(a);
                log_error("Instance %s: supervisor died without an exit record", row.name);
        }
        (void) zero_store_instance_update(a->store, &row);
        if (op)
                zero_op_continue(op, 0); /* its steps decide the next state */
        else if (zero_inst_state_ends_by_exit(zero_inst_state_of(&row)))
                /* It stopped on its own: undo what the runtime set up (mounts, bundle). */
                inst_cleanup(a, inst, &row, 0);
        zero_instance_row_done(&row);
}

/* The shim closed our connection without saying "exited": read its exit record instead. */
static void inst_lost_shim(struct zero_inst *inst) {
        struct zero_shim_exit ex;
        if (zero_shim_read_exit(inst->run_dir, &ex) >= 0)
                inst_exited(inst, &ex);
        else
                inst_exited(inst, NULL);
}

static int on_wait(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct zero_inst *inst = userdata;
        char buf[256];
        struct zero_shim_exit ex;
        ssize_t n;

        n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n <= 0) {
                inst_lost_shim(inst);
                return 0;
        }
        buf[n] = '\0';
        if (zero_shim_parse_exited(buf, &ex) >= 0)
                inst_exited(inst, &ex);
        else
                inst_lost_shim(inst);
        return 0;
}

int zero_inst_watch(struct zero_inst *inst) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (inst->wait_source)
                return 0;
        /* Bounded (shim/client.h): a shim answers whatever it is doing, and one that does not
         * must not stall the loop. The fresh socket's buffer has room for the request. */
        r = zero_shim_connect_timeout(inst->run_dir, ZERO_SHIM_TIMEOUT_MS, &fd);
        if (r < 0)
                return r;
        if (send(fd, "wait", 4, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
                return -errno;
        r = sd_event_add_io(inst->agent->event, &inst->wait_source, fd, EPOLLIN, on_wait, inst);
        if (r < 0)
                return r;
        inst->wait_fd = TAKE_FD(fd);
        return 0;
}

int zero_inst_record_pid(struct zero_inst *inst, struct zero_instance_row *row) {
        pid_t pid;
        int r = zero_shim_read_pid(inst->run_dir, &pid);

        if (r < 0)
                return log_warning_errno(r, "Cannot read the pid of %s from its shim: %m", row->name);
        if (row->pid == pid)
                return 0;
        row->pid = pid;
        row->has_exit_code = false;
        row->updated_at = (int64_t) zero_now_usec();
        r = zero_store_instance_update(inst->agent->store, row);
        if (r < 0)
                return log_error_errno(r, "Failed to record the pid of %s: %m", row->name);
        log_info("Instance %s has pid %d (from its shim)", row->name, (int) pid);
        return 0;
}

bool zero_inst_shim_alive(struct zero_inst *inst) {
        _cleanup_close_ int fd = -EBADF;
        int r = zero_shim_connect_timeout(inst->run_dir, 0, &fd);

        return r >= 0 || r == -EAGAIN; /* a full backlog has a listener */
}

/* --- spawn --- */

static int on_sync(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct zero_inst *inst = userdata;
        struct zero_agent *a = inst->agent;
        struct zero_op *op = zero_op_waiting(a, inst->id, ZERO_OP_WAIT_REPORT);
        struct zero_error err = {};
        struct zero_instance_row row = {};
        char buf[1024];
        ssize_t n;
        pid_t pid = 0;
        int r;

        n = read(fd, buf, sizeof(buf) - 1);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        zero_op_fault_point_answer(op); /* e.g. create.spawn.reported: the report is lost */
        inst->sync_source = sd_event_source_disable_unref(inst->sync_source);
        inst->sync_fd = safe_close(inst->sync_fd);
        if (n <= 0)
                r = zero_error_set(&err, -EIO, ZERO_E_RUNTIME, "zero-shim exited without reporting");
        else {
                buf[n] = '\0';
                r = zero_shim_parse_sync(buf, &pid, &err);
        }
        /* The pid and the step it ends: one commit (operation.c). */
        zero_store_batch_begin(a->store);
        if (r >= 0 && zero_store_instance_get_by_id(a->store, inst->id, &row) >= 0) {
                row.pid = pid;
                row.has_exit_code = false;
                (void) zero_store_instance_update(a->store, &row);
                zero_instance_row_done(&row);
                r = zero_inst_watch(inst);
                if (r < 0) {
                        /* The shim may already be gone (a command that exits at once): its exit
                         * record tells the rest, and the start itself succeeded (step_running
                         * finds the instance stopped). */
                        inst_lost_shim(inst);
                        r = 0;
                }
        }
        if (op) {
                if (r < 0)
                        op->err = err;
                zero_op_continue(op, r < 0 ? r : 0);
        }
        if ((r = zero_store_batch_end(a->store)) < 0)
                log_error_errno(r, "Failed to record the pid of %s: %m", inst->name);
        return 0;
}

int zero_inst_spawn_shim(struct zero_inst *inst, const struct zero_shim_args *args, struct zero_error *err) {
        struct zero_agent *a = inst->agent;
        struct zero_shim_spawn_args sa = {
                .shim_path = a->config->shim_path,
                .id = inst->id,
                .dir = inst->run_dir,
                .log_max = a->config->console_log_max,
                .argv = args->argv,
                .pid_file = args->pid_file,
                .start_argv = args->start_argv,
                .cleanup_argv = args->cleanup_argv,
                .private_cgroup2 = args->private_cgroup2,
        };
        int fd = -EBADF, r;

        if (ZERO_ABI_HAS(args, struct zero_shim_args, exec_target)) {
                sa.exec_argv = args->exec_argv;
                sa.exec_target = args->exec_target;
        }
        if (ZERO_ABI_HAS(args, struct zero_shim_args, stdin_pipe))
                sa.stdin_pipe = args->stdin_pipe;
        if (ZERO_ABI_HAS(args, struct zero_shim_args, sidecar_ready)) {
                sa.sidecar_argv = args->sidecar_argv;
                sa.sidecar_ready = args->sidecar_ready;
        }
        if (ZERO_ABI_HAS(args, struct zero_shim_args, prepare_argv))
                sa.prepare_argv = args->prepare_argv;

        if (inst->sync_source)
                return zero_error_set(err, -EBUSY, ZERO_E_CONFLICT, "a shim is already starting for %s", inst->name);
        r = zero_mkdir_p(inst->run_dir, 0700);
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_INTERNAL, "cannot create %s: %s", inst->run_dir, strerror(-r));
        /* A new life: the previous exit record must not be mistaken for this one's. */
        _cleanup_free_ char *exitp = zero_strdup_printf("%s/exit", inst->run_dir);
        if (exitp)
                (void) unlink(exitp);
        r = zero_shim_spawn(&sa, &fd, err);
        if (r < 0)
                return zero_error_default(err, r, "spawning zero-shim");
        r = sd_event_add_io(a->event, &inst->sync_source, fd, EPOLLIN, on_sync, inst);
        if (r < 0) {
                safe_close(fd);
                return zero_error_default(err, r, "watching zero-shim");
        }
        inst->sync_fd = fd;
        return 0;
}

int zero_inst_signal(struct zero_inst *inst, int sig, struct zero_error *err) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *reply = NULL;
        char req[32];
        int r;

        r = zero_shim_connect_timeout(inst->run_dir, ZERO_SHIM_TIMEOUT_MS, &fd);
        if (r == -ETIMEDOUT)
                return zero_error_set(err, r, ZERO_E_TIMEOUT, "the supervisor of %s does not accept connections",
                                      inst->name);
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_WRONG_STATE, "%s has no live supervisor", inst->name);
        snprintf(req, sizeof(req), "signal %d", sig);
        r = zero_shim_request_timeout(fd, req, ZERO_SHIM_TIMEOUT_MS, &reply);
        if (r == -ETIMEDOUT)
                return zero_error_set(err, r, ZERO_E_TIMEOUT, "the supervisor of %s did not answer in %d ms",
                                      inst->name, ZERO_SHIM_TIMEOUT_MS);
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_RUNTIME, "signal to %s failed: %s", inst->name, strerror(-r));
        if (strncmp(reply, "ok", 2) != 0)
                return zero_error_set(err, -EIO, ZERO_E_RUNTIME, "signal to %s failed: %s", inst->name, reply);
        return 0;
}

/* --- reconcile after start --- */

/* Lets the instance's plugin reconnect to its runtime (the vm plugin's QMP). */
static void inst_adopt(struct zero_agent *a, const struct zero_instance_row *row, struct zero_inst *inst) {
        const struct zero_loaded_plugin *lp = zero_plugins_find(a->plugins, row->mode);
        struct zero_info_holder h = {};
        struct zero_error err = {};
        int r;

        if (!lp || !ZERO_PLUGIN_HAS(lp->plugin, adopt))
                return;
        r = zero_info_build(a, row, inst, &h, &err);
        if (r >= 0)
                r = lp->plugin->ops.adopt(zero_services_ctx(inst, lp), &h.info, &err);
        if (r < 0)
                log_warning_errno(r, "Cannot reconnect to the runtime of %s: %s", row->name, err.message);
        zero_info_done(&h);
}

void zero_inst_restart(struct zero_agent *a, const char *instance_id, const char *why) {
        struct zero_instance_row row = {};
        struct zero_operation_row running = {};
        struct zero_op *op = NULL;

        if (zero_store_instance_get_by_id(a->store, instance_id, &row) < 0)
                return;
        if (!zero_inst_state_live(zero_inst_state_of(&row)) ||
            zero_store_operation_running_for(a->store, row.id, &running) >= 0) {
                zero_operation_row_done(&running);
                zero_instance_row_done(&row);
                return;
        }
        log_warning("Restarting %s: %s", row.name, why);
        if (zero_op_new(a, "restart", &row, json_pack("{s:b}", "force", true), &op) >= 0) {
                if (zero_store_operation_insert(a->store, &op->row) >= 0 && zero_op_launch(op) >= 0)
                        zero_agent_event(a, "operation", row.name,
                                         json_pack("{s:s,s:s,s:s}", "id", op->row.id, "kind", "restart", "status",
                                                   zero_op_status_name(ZERO_OP_RUNNING)));
                else
                        zero_op_free(op);
        }
        zero_instance_row_done(&row);
}

/* STATE/boot_id: the kernel's boot id when zerod last reconciled its instances. A different one
 * now means that the machine booted since: an instance without its shim and without an exit record
 * died with the machine (its run directory, tmpfs, went too), not on its own. */
static bool machine_booted_since(struct zero_agent *a, char now[static 37]) {
        _cleanup_free_ char *path = zero_strdup_printf("%s/boot_id", a->config->state_dir), *was = NULL;
        _cleanup_free_ char *cur = NULL;
        size_t n = 0;

        now[0] = '\0';
        if (zero_read_file("/proc/sys/kernel/random/boot_id", 64, &cur, &n) < 0 || n < 36)
                return false; /* no boot id: nothing is known, nothing is restarted */
        memcpy(now, cur, 36);
        now[36] = '\0';
        if (!path || zero_read_file(path, 64, &was, &n) < 0)
                return false; /* the first run of this store */
        return n < 36 || memcmp(was, now, 36) != 0;
}

static void record_boot_id(struct zero_agent *a, const char *now) {
        _cleanup_free_ char *path = zero_strdup_printf("%s/boot_id", a->config->state_dir);
        int r;

        if (!now[0] || !path)
                return;
        r = zero_write_file_atomic(path, now, strlen(now), 0600);
        if (r < 0)
                log_warning_errno(r, "Cannot record the boot id in %s: %m", path);
}

/* Brings one instance's stored state in line with its shim: alive and watched, or exited with
 * the exit record collected. Operations still in flight are resumed afterwards. */
static int reconcile_one(struct zero_agent *a, struct zero_instance_row *row, bool has_op, bool booted) {
        struct zero_shim_exit ex;
        struct zero_inst *inst;
        int r;

        r = zero_inst_get(a, row->id, row->name, &inst);
        if (r < 0)
                return r;
        if (zero_inst_watch(inst) >= 0) {
                log_info("Reconnected to the shim of %s", row->name);
                (void) zero_inst_record_pid(inst, row);
                inst_adopt(a, row, inst);
                if (!has_op && !zero_inst_state_live(zero_inst_state_of(row)))
                        (void) zero_inst_set_state(a, row, ZERO_INST_RUNNING);
                return 0;
        }
        if (has_op)
                return 0; /* the operation's step will look for itself */
        if (!zero_inst_state_expects_shim(zero_inst_state_of(row)))
                return 0;
        /* It ran when the machine went down (a power cut, a reset): its shim and run directory
         * went with the machine's memory, and nothing exited on its own. It is started again, as
         * it would have been had its card's exports been lost (card.c): running is what the
         * orchestrator asked for and was answered. */
        if (booted && zero_inst_state_live(zero_inst_state_of(row)) && zero_shim_read_exit(inst->run_dir, &ex) < 0) {
                zero_inst_restart(a, row->id, "the machine restarted under it");
                return 0;
        }
        log_info("Instance %s is no longer running: collecting its exit record", row->name);
        inst_lost_shim(inst);
        return 0;
}

int zero_inst_reconcile_all(struct zero_agent *a) {
        struct zero_instance_row *rows = NULL;
        char boot_id[37];
        bool booted = machine_booted_since(a, boot_id);
        size_t n = 0;
        int r;

        r = zero_store_instance_list(a->store, &rows, &n);
        if (r < 0)
                return log_error_errno(r, "Failed to list instances: %m");
        a->machine_restarted = booted;
        if (booted)
                log_info("The machine booted since zerod last ran: its running instances are started again");
        for (size_t i = 0; i < n; i++) {
                struct zero_operation_row op = {};
                bool has_op = zero_store_operation_running_for(a->store, rows[i].id, &op) >= 0;
                zero_operation_row_done(&op);
                r = reconcile_one(a, &rows[i], has_op, booted);
                if (r < 0)
                        log_error_errno(r, "Failed to reconcile %s: %m", rows[i].name);
        }
        zero_instance_rows_free(rows, n);
        record_boot_id(a, boot_id);
        return 0;
}
