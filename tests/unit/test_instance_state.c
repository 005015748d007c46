/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The instance state machine (agent/instance_state.c), the node's mode derived from it, the
 * volume and operation state names, the core's subscribers, and the refusals of the instance and
 * volume services (agent/instance_service.c, agent/volume_service.c) against a temporary store.
 * The table is written out here again, by name, so that a change to it is a change to this test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/agent.h"
#include "agent/instance_service.h"
#include "agent/instance_state.h"
#include "agent/operation.h"
#include "agent/plugin_loader.h"
#include "agent/network_service.h"
#include "agent/node_owner.h"
#include "agent/volume_service.h"
#include "common/util.h"

static const char *const all_states[] = {"creating", "starting", "running",  "paused",  "stopping",
                                         "switching", "stopped", "error", "deleting", "migrating",
                                         "incoming"};

/* "-": the state stays; "gone": the row goes. */
static const struct {
        const char *kind, *from, *accepted, *stopping, *stopped, *starting, *done, *done_exited, *failed, *failed_live;
} expected[] = {
        {"create", "", "creating", "-", "-", "creating", "running", "stopped", "error", "error"},
        {"start", "stopped error", "-", "-", "-", "starting", "running", "stopped", "error", "error"},
        {"stop", "running paused", "-", "stopping", "stopped", "-", "stopped", "stopped", "error", "running"},
        {"restart", "running paused stopped error", "-", "stopping", "stopped", "starting", "running", "stopped",
         "error", "error"},
        {"delete", "creating starting running paused stopping switching stopped error deleting migrating incoming",
         "deleting", "-", "-",
         "-", "gone", "gone", "error", "running"},
        {"switch", "running paused stopped error", "switching", "-", "-", "switching", "running", "stopped", "stopped",
         "running"},
        {"attach", "running paused stopped error", "-", "-", "-", "-", "-", "-", "-", "-"},
        {"detach", "running paused stopped error", "-", "-", "-", "-", "-", "-", "-", "-"},
        {"migrate", "running", "migrating", "-", "-", "-", "gone", "gone", "error", "running"},
        {"migrate_in", "", "incoming", "-", "-", "incoming", "running", "stopped", "gone", "gone"},
};

static const char *col(enum zero_inst_state s) {
        return s == ZERO_INST_KEEP ? "-" : s == ZERO_INST_GONE ? "gone" : zero_inst_state_name(s);
}

/* Is word one of the space-separated words of list? */
static bool listed(const char *list, const char *word) {
        size_t n = strlen(word);

        for (const char *p = list; (p = strstr(p, word)); p += n)
                if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
                        return true;
        return false;
}

static void test_names(void **state) {
        assert_int_equal(ELEMENTSOF(all_states), _ZERO_INST_STATE_MAX);
        for (int i = 0; i < _ZERO_INST_STATE_MAX; i++) {
                /* The order is the metrics' (GET /metrics lists them so). */
                assert_string_equal(zero_inst_state_name(i), all_states[i]);
                assert_int_equal(zero_inst_state_from_name(all_states[i]), i);
        }
        assert_int_equal(zero_inst_state_from_name("runing"), _ZERO_INST_STATE_INVALID);
        assert_int_equal(zero_inst_state_from_name(NULL), _ZERO_INST_STATE_INVALID);
        assert_null(zero_inst_state_name(ZERO_INST_KEEP));
        assert_null(zero_inst_state_name(_ZERO_INST_STATE_INVALID));

        assert_string_equal(zero_vol_state_name(ZERO_VOL_CREATING), "creating");
        assert_string_equal(zero_vol_state_name(ZERO_VOL_READY), "ready");
        assert_string_equal(zero_vol_state_name(ZERO_VOL_DELETING), "deleting");
        assert_int_equal(zero_vol_state_from_name("ready"), ZERO_VOL_READY);
        assert_int_equal(zero_vol_state_from_name("running"), _ZERO_VOL_STATE_INVALID);
        assert_true(zero_vol_state_has_job(ZERO_VOL_CREATING));
        assert_true(zero_vol_state_has_job(ZERO_VOL_DELETING));
        assert_false(zero_vol_state_has_job(ZERO_VOL_READY));

        assert_string_equal(zero_op_status_name(ZERO_OP_RUNNING), "running");
        assert_string_equal(zero_op_status_name(ZERO_OP_SUCCEEDED), "succeeded");
        assert_string_equal(zero_op_status_name(ZERO_OP_FAILED), "failed");
        assert_int_equal(zero_op_status_from_name("failed"), ZERO_OP_FAILED);
        assert_int_equal(zero_op_status_from_name("ready"), _ZERO_OP_STATUS_INVALID);
}

/* Every kind's columns, by name. */
static void test_table(void **state) {
        unsigned n;

        assert_non_null(zero_inst_transitions(&n));
        assert_int_equal(n, ELEMENTSOF(expected));
        for (size_t i = 0; i < ELEMENTSOF(expected); i++) {
                const struct zero_inst_transition *row = zero_inst_transition_find(expected[i].kind);

                print_message("%s\n", expected[i].kind);
                assert_non_null(row);
                assert_string_equal(row->kind, expected[i].kind);
                assert_string_equal(col(row->accepted), expected[i].accepted);
                assert_string_equal(col(row->stopping), expected[i].stopping);
                assert_string_equal(col(row->stopped), expected[i].stopped);
                assert_string_equal(col(row->starting), expected[i].starting);
                assert_string_equal(col(zero_inst_transition_end(row, true, true)), expected[i].done);
                assert_string_equal(col(zero_inst_transition_end(row, true, false)), expected[i].done_exited);
                assert_string_equal(col(zero_inst_transition_end(row, false, false)), expected[i].failed);
                assert_string_equal(col(zero_inst_transition_end(row, false, true)), expected[i].failed_live);
                /* The transient states are states of the table's own, never a runtime's. */
                assert_false(zero_inst_state_live(row->stopping));
        }
}

/* A verb is allowed from exactly the states it lists, and refused from every other one. */
static void test_from(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(expected); i++) {
                const struct zero_inst_transition *t = zero_inst_transition_find(expected[i].kind);

                for (int s = 0; s < _ZERO_INST_STATE_MAX; s++) {
                        print_message("%s from %s\n", expected[i].kind, all_states[s]);
                        assert_int_equal(zero_inst_transition_allows(t, s), listed(expected[i].from, all_states[s]));
                }
        }
        /* delete takes what this zerod cannot even name (a newer one's state); the rest do not. */
        assert_true(zero_inst_transition_allows(zero_inst_transition_find("delete"), _ZERO_INST_STATE_INVALID));
        assert_false(zero_inst_transition_allows(zero_inst_transition_find("start"), _ZERO_INST_STATE_INVALID));
        assert_false(zero_inst_transition_allows(NULL, ZERO_INST_STOPPED));
}

/* Every kind the engine runs on an instance has its row; the others have none. */
static void test_kinds(void **state) {
        static const char *const instance_kinds[] = {"create", "start", "stop", "restart",
                                                     "delete", "switch", "attach", "detach"};
        static const char *const other_kinds[] = {"import", "volume_create", "volume_delete"};

        for (size_t i = 0; i < ELEMENTSOF(instance_kinds); i++) {
                assert_non_null(zero_op_kind_find(instance_kinds[i]));
                assert_non_null(zero_inst_transition_find(instance_kinds[i]));
        }
        for (size_t i = 0; i < ELEMENTSOF(other_kinds); i++) {
                assert_non_null(zero_op_kind_find(other_kinds[i]));
                assert_null(zero_inst_transition_find(other_kinds[i]));
        }
        assert_null(zero_inst_transition_find("reboot"));
        assert_null(zero_inst_transition_find(NULL));
}

static void test_meanings(void **state) {
        static const struct {
                const char *set;
                bool (*fn)(enum zero_inst_state);
        } sets[] = {
                {"running paused", zero_inst_state_live},
                {"stopped error", zero_inst_state_idle},
                {"running paused stopping", zero_inst_state_ends_by_exit},
                {"running paused stopping starting creating", zero_inst_state_expects_shim},
        };

        for (size_t i = 0; i < ELEMENTSOF(sets); i++) {
                for (int s = 0; s < _ZERO_INST_STATE_MAX; s++)
                        assert_int_equal(sets[i].fn(s), listed(sets[i].set, all_states[s]));
                assert_false(sets[i].fn(_ZERO_INST_STATE_INVALID));
                assert_false(sets[i].fn(ZERO_INST_KEEP));
        }
        /* The runtime moves an instance between running and paused, nothing else. */
        for (int from = 0; from < _ZERO_INST_STATE_MAX; from++)
                for (int to = 0; to < _ZERO_INST_STATE_MAX; to++)
                        assert_int_equal(zero_inst_state_runtime_may_set(from, to),
                                         (from == ZERO_INST_RUNNING && to == ZERO_INST_PAUSED) ||
                                                 (from == ZERO_INST_PAUSED && to == ZERO_INST_RUNNING));
        assert_false(zero_inst_state_runtime_may_set(ZERO_INST_RUNNING, _ZERO_INST_STATE_INVALID));
}

/* The node's plugins: the mode a row names counts only when a loaded plugin serves it. */
static const struct zero_plugin node_plugins[] = {
        {.name = "container", .mode = "container"},
        {.name = "vm", .mode = "vm"},
        {.name = "bms", .mode = "bms"},
};
/* bms is exclusive (zero_probe.exclusive): it has the node to itself (agent/node_owner.h). */
static struct zero_loaded_plugin node_loaded[] = {
        {.plugin = &node_plugins[0], .probe = {.available = true}},
        {.plugin = &node_plugins[1], .probe = {.available = true}},
        {.plugin = &node_plugins[2], .probe = {.available = true, .exclusive = true}},
};
static const struct zero_plugin_set plugins = {.items = node_loaded, .n = 3};

/* One instance in mode and state, as zero_store_instance_counts() counts them. */
static struct zero_instance_count row_of(const char *mode, const char *state) {
        return (struct zero_instance_count){.mode = (char *) mode, .state = (char *) state, .count = 1};
}

static void test_node_mode(void **state) {
        struct zero_instance_count rows[4];

        assert_string_equal(zero_node_mode_of(&plugins, NULL, 0), "idle");
        /* Stopped and failed instances hold nothing. */
        rows[0] = row_of("container", "stopped");
        rows[1] = row_of("vm", "error");
        assert_string_equal(zero_node_mode_of(&plugins, rows, 2), "idle");
        rows[0] = row_of("container", "running");
        assert_string_equal(zero_node_mode_of(&plugins, rows, 2), "container");
        /* A VM that is starting, paused or being deleted holds its resources. */
        for (size_t i = 0; i < 3; i++) {
                static const char *const holding[] = {"starting", "paused", "deleting"};
                rows[1] = row_of("vm", holding[i]);
                assert_string_equal(zero_node_mode_of(&plugins, rows, 2), "mixed");
                assert_string_equal(zero_node_mode_of(&plugins, &rows[1], 1), "ecs");
        }
        rows[2] = row_of("bms", "creating");
        assert_string_equal(zero_node_mode_of(&plugins, rows, 3), "bms");
        rows[2] = row_of("bms", "stopped");
        rows[3] = row_of("container", "switching");
        assert_string_equal(zero_node_mode_of(&plugins, rows, 4), "mixed");
        /* A group counted empty holds nothing: the deleting VM and the switching container gone. */
        rows[1].count = rows[3].count = 0;
        assert_string_equal(zero_node_mode_of(&plugins, rows, 4), "container");
}

/* --- subscribers --- */

static char heard[256];

static void hear(void *userdata, const char *subject) {
        size_t l = strlen(heard);
        snprintf(heard + l, sizeof(heard) - l, "%s:%s ", (const char *) userdata, subject);
}

static void test_subscribers(void **state) {
        struct zero_agent a = {};

        heard[0] = '\0';
        zero_publish(&a, ZERO_TOPIC_OPERATION_ENDED, "nobody");
        assert_string_equal(heard, "");
        assert_int_equal(zero_subscribe(&a, ZERO_TOPIC_OPERATION_ENDED, hear, "one"), 0);
        assert_int_equal(zero_subscribe(&a, ZERO_TOPIC_OPERATION_ENDED, hear, "two"), 0);
        assert_int_equal(zero_subscribe(&a, ZERO_TOPIC_EVENT_APPENDED, hear, "ev"), 0);
        zero_publish(&a, ZERO_TOPIC_OPERATION_ENDED, "op1");
        assert_string_equal(heard, "one:op1 two:op1 ");
        heard[0] = '\0';
        zero_unsubscribe(&a, ZERO_TOPIC_OPERATION_ENDED, hear, "one");
        zero_unsubscribe(&a, ZERO_TOPIC_OPERATION_ENDED, hear, "never"); /* not there: nothing */
        zero_publish(&a, ZERO_TOPIC_OPERATION_ENDED, "op2");
        zero_publish(&a, ZERO_TOPIC_EVENT_APPENDED, "instance.state");
        assert_string_equal(heard, "two:op2 ev:instance.state ");
        for (int i = 0; i < ZERO_SUBSCRIBERS_MAX - 1; i++)
                assert_int_equal(zero_subscribe(&a, ZERO_TOPIC_OPERATION_ENDED, hear, "more"), 0);
        assert_int_equal(zero_subscribe(&a, ZERO_TOPIC_OPERATION_ENDED, hear, "full"), -ENOSPC);
        assert_int_equal(zero_subscribe(&a, _ZERO_TOPIC_MAX, hear, "bad"), -EINVAL);
}

/* --- the services' refusals, against a temporary store --- */

#define ID_WEB "0123456789abcdef0123456789abcdef"
#define ID_OP "fedcba9876543210fedcba9876543210"
#define ID_VOL "00112233445566778899aabbccddeeff"
#define ID_NIC "ffeeddccbbaa99887766554433221100"

struct fixture {
        char *dir;
        struct zero_agent a;
        struct zero_config config;
};

static int setup(void **state) {
        const char *tmp = getenv("TMPDIR");
        struct fixture *f = calloc(1, sizeof(*f));
        struct zero_error err = {};
        _cleanup_free_ char *path = NULL;
        struct zero_image_row im = {.name = (char *) "debian", .source = (char *) "/src", .path = (char *) "/img",
                                    .created_at = 1};

        assert_non_null(f);
        f->dir = zero_strdup_printf("%s/zero-test-state-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        assert_non_null(f->dir);
        assert_non_null(mkdtemp(f->dir));
        path = zero_strdup_printf("%s/zero.db", f->dir);
        assert_int_equal(zero_store_open(path, &f->a.store, &err), 0);
        assert_int_equal(sd_event_new(&f->a.event), 0);
        f->a.config = &f->config;
        assert_int_equal(zero_store_image_insert(f->a.store, &im), 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;

        zero_op_free_all(&f->a);
        f->a.store = zero_store_close(f->a.store);
        f->a.event = sd_event_unref(f->a.event);
        assert_int_equal(zero_rm_rf(f->dir), 0);
        free(f->dir);
        free(f);
        return 0;
}

static void add_row(struct fixture *f, const char *id, const char *name, const char *mode, const char *state) {
        struct zero_instance_row in = {.id = (char *) id, .name = (char *) name, .mode = (char *) mode,
                                       .state = (char *) state, .image = (char *) "debian", .cpus = 1,
                                       .memory_mib = 64, .spec = (char *) "{}", .created_at = 1, .updated_at = 1};
        assert_int_equal(zero_store_instance_insert(f->a.store, &in), 0);
}

static void add_instance(struct fixture *f, const char *state) {
        add_row(f, ID_WEB, "web", "container", state);
}

static const char *state_now(struct fixture *f) {
        static char buf[32];
        struct zero_instance_row row = {};

        assert_int_equal(zero_store_instance_get(f->a.store, "web", &row), 0);
        snprintf(buf, sizeof(buf), "%s", row.state);
        zero_instance_row_done(&row);
        return buf;
}

static size_t unfinished(struct fixture *f) {
        struct zero_operation_row *rows = NULL;
        size_t n = 0;

        assert_int_equal(zero_store_operation_list_unfinished(f->a.store, &rows, &n), 0);
        zero_operation_rows_free(rows, n);
        return n;
}

static void test_act_refused(void **state) {
        struct fixture *f = *state;
        struct zero_error err = {};
        struct zero_op *op = NULL;
        struct zero_operation_row running = {.id = (char *) ID_OP, .kind = (char *) "restart",
                                             .instance_id = (char *) ID_WEB, .instance_name = (char *) "web",
                                             .status = (char *) "running", .step_name = (char *) "stop",
                                             .params = (char *) "{}", .created_at = 1, .updated_at = 1};

        assert_int_equal(zero_instance_act(&f->a, "nope", "start", NULL, &op, &err), -ENOENT);
        assert_int_equal(err.code, ZERO_E_NOT_FOUND);
        assert_string_equal(err.message, "no instance named 'nope'");

        add_instance(f, "running");
        /* From each state start does not take, with the API's words. */
        assert_true(zero_instance_act(&f->a, "web", "start", NULL, &op, &err) < 0);
        assert_int_equal(err.code, ZERO_E_WRONG_STATE);
        assert_string_equal(err.message, "cannot start 'web' while it is running");
        assert_true(zero_instance_act(&f->a, "web", "import", json_object(), &op, &err) < 0);
        assert_int_equal(err.code, ZERO_E_INTERNAL);

        /* One operation at a time, whatever the state allows. */
        assert_int_equal(zero_store_operation_insert(f->a.store, &running), 0);
        assert_int_equal(zero_instance_act(&f->a, "web", "stop", json_object(), &op, &err), -EBUSY);
        assert_int_equal(err.code, ZERO_E_BUSY);
        assert_string_equal(err.message, "operation " ID_OP " (restart) is in progress on 'web'");
        assert_int_equal(zero_instance_detach(&f->a, "web", true, "data", &op, &err), -ENOENT);
        assert_int_equal(err.code, ZERO_E_NOT_FOUND);

        /* Nothing changed. */
        assert_string_equal(state_now(f), "running");
        assert_int_equal(unfinished(f), 1);
}

static void test_attach_refused(void **state) {
        struct fixture *f = *state;
        struct zero_error err = {};
        struct zero_op *op = NULL;
        json_t *body = json_pack("{s:s}", "name", "data");

        add_instance(f, "creating");
        assert_true(zero_instance_attach(&f->a, "web", true, body, &op, &err) < 0);
        assert_int_equal(err.code, ZERO_E_WRONG_STATE);
        assert_string_equal(err.message, "cannot attach a volume while 'web' is creating");
        json_decref(body);
}

/* delete records its state (deleting) with its operation, in one transaction; stop keeps the
 * state until its step; both are announced by the event "operation". */
static void test_act_records(void **state) {
        struct fixture *f = *state;
        struct zero_error err = {};
        struct zero_op *op = NULL;
        struct zero_operation_row row = {};

        heard[0] = '\0';
        assert_int_equal(zero_subscribe(&f->a, ZERO_TOPIC_EVENT_APPENDED, hear, "ev"), 0);
        add_instance(f, "running");
        assert_int_equal(zero_instance_act(&f->a, "web", "stop", json_object(), &op, &err), 0);
        assert_string_equal(op->row.kind, "stop");
        assert_string_equal(state_now(f), "running");
        assert_int_equal(zero_store_operation_get(f->a.store, op->row.id, &row), 0);
        assert_string_equal(row.status, "running");
        zero_operation_row_done(&row);
        assert_string_equal(heard, "ev:operation ");
        /* The next verb waits for this one. */
        assert_int_equal(zero_instance_act(&f->a, "web", "delete", json_object(), &op, &err), -EBUSY);
        assert_int_equal(err.code, ZERO_E_BUSY);
        assert_int_equal(unfinished(f), 1);
}

static void test_delete_records_state(void **state) {
        struct fixture *f = *state;
        struct zero_error err = {};
        struct zero_op *op = NULL;

        add_instance(f, "error");
        assert_int_equal(zero_instance_act(&f->a, "web", "delete", json_object(), &op, &err), 0);
        assert_string_equal(op->row.kind, "delete");
        assert_string_equal(state_now(f), "deleting");
        assert_int_equal(unfinished(f), 1);
}

static void test_volume_refused(void **state) {
        struct fixture *f = *state;
        struct zero_error err = {};
        struct zero_op *op = NULL;
        struct zero_volume_row vol = {.name = (char *) "data", .id = (char *) ID_VOL, .size_bytes = 1 << 20,
                                      .locator = (char *) "/v", .format = (char *) "raw", .state = (char *) "creating",
                                      .created_at = 1, .updated_at = 1};
        struct zero_attachment_row at = {.volume = (char *) "data", .instance_id = (char *) ID_WEB,
                                         .role = (char *) "data", .personality = (char *) "virtio-blk", .idx = 1};

        assert_int_equal(zero_volume_delete(&f->a, "nope", &op, &err), -ENOENT);
        assert_int_equal(err.code, ZERO_E_NOT_FOUND);
        assert_string_equal(err.message, "no volume named 'nope'");
        assert_int_equal(zero_store_volume_insert(f->a.store, &vol), 0);
        assert_true(zero_volume_delete(&f->a, "data", &op, &err) < 0);
        assert_int_equal(err.code, ZERO_E_WRONG_STATE);
        assert_string_equal(err.message, "volume 'data' is creating");
        assert_true(zero_volume_resize(&f->a, "data", 2 << 20, &op, &err) < 0);
        assert_int_equal(err.code, ZERO_E_WRONG_STATE);
        err = (struct zero_error){};
        assert_true(zero_volume_set_qos(&f->a, "data", 100, -1, &op, &err) < 0);
        assert_int_equal(err.code, ZERO_E_WRONG_STATE);
        assert_int_equal(zero_volume_resize(&f->a, "nope", 2 << 20, &op, &err), -ENOENT);
        assert_int_equal(err.code, ZERO_E_NOT_FOUND);

        add_instance(f, "stopped");
        assert_int_equal(zero_store_attachment_insert(f->a.store, &at), 0);
        assert_true(zero_volume_delete(&f->a, "data", &op, &err) < 0);
        assert_int_equal(err.code, ZERO_E_IN_USE);
        assert_string_equal(err.message, "volume 'data' is attached to an instance");
        assert_int_equal(unfinished(f), 0);
}

/* The network service's refusals: nothing recorded, no card asked (the fixture has none). */
static void test_network_refused(void **state) {
        struct fixture *f = *state;
        struct zero_error err = {};
        struct zero_op *op = NULL;
        struct zero_network_row net = {.name = (char *) "lan", .id = (char *) ID_VOL, .subnet = (char *) "10.77.0.0/24",
                                       .gateway = (char *) "10.77.0.1", .bridge = (char *) ID_VOL,
                                       .state = (char *) "creating", .created_at = 1};
        struct zero_nic_row nic = {.id = (char *) ID_NIC, .network = (char *) "lan", .instance_id = (char *) ID_WEB,
                                   .mac = (char *) "02:00:00:00:00:01", .ip = (char *) "10.77.0.2", .host_index = 2,
                                   .created_at = 1};

        assert_int_equal(zero_network_delete(&f->a, "nope", &op, &err), -ENOENT);
        assert_int_equal(err.code, ZERO_E_NOT_FOUND);
        assert_string_equal(err.message, "no network named 'nope'");
        assert_int_equal(zero_store_network_insert(f->a.store, &net), 0);
        assert_true(zero_network_delete(&f->a, "lan", &op, &err) < 0);
        assert_int_equal(err.code, ZERO_E_WRONG_STATE);
        assert_string_equal(err.message, "network 'lan' is creating");
        /* Taken: its name, its subnet (while it is being made too). */
        json_auto_t *same_name = json_pack("{s:s,s:s}", "name", "lan", "subnet", "10.78.0.0/24");
        json_auto_t *same_subnet = json_pack("{s:s,s:s}", "name", "lan2", "subnet", "10.77.0.0/16");
        assert_true(zero_network_create(&f->a, same_name, &op, &err) < 0);
        assert_int_equal(err.code, ZERO_E_CONFLICT);
        assert_true(zero_network_create(&f->a, same_subnet, &op, &err) < 0);
        assert_int_equal(err.code, ZERO_E_CONFLICT);
        add_instance(f, "stopped");
        assert_int_equal(zero_store_nic_insert(f->a.store, &nic), 0);
        assert_true(zero_network_delete(&f->a, "lan", &op, &err) < 0);
        assert_int_equal(err.code, ZERO_E_IN_USE);
        assert_string_equal(err.message, "network 'lan' has 1 NIC(s)");
        assert_int_equal(unfinished(f), 0);
}

/* --- who owns the node: a bms instance has it to itself (agent/node_owner.c) --- */

#define ID_METAL "11111111111111111111111111111111"
#define ID_DB "22222222222222222222222222222222"

/* Refused with 409's code and the message expected; nothing recorded. */
static void refused(struct fixture *f, int r, const struct zero_error *err, const char *message) {
        assert_int_equal(r, -EBUSY);
        assert_int_equal(err->code, ZERO_E_CONFLICT);
        assert_string_equal(err->message, message);
        assert_int_equal(unfinished(f), 0);
}

static void test_owner_bms_needs_the_node(void **state) {
        struct fixture *f = *state;
        struct zero_error err = {};
        struct zero_op *op = NULL;

        f->a.plugins = (struct zero_plugin_set *) &plugins;
        add_instance(f, "running");
        add_row(f, ID_DB, "db", "vm", "paused");
        add_row(f, ID_METAL, "metal", "bms", "stopped");
        /* Every instance that holds the node is named, with its mode and state (by name). */
        refused(f, zero_instance_act(&f->a, "metal", "start", NULL, &op, &err), &err,
                "the node is held by 'db' (vm, paused), 'web' (container, running): bms instance 'metal' needs the "
                "node to itself (\"evict\": \"stop\" stops the others first)");
        refused(f, zero_instance_act(&f->a, "metal", "restart", json_object(), &op, &err), &err,
                "the node is held by 'db' (vm, paused), 'web' (container, running): bms instance 'metal' needs the "
                "node to itself (\"evict\": \"stop\" stops the others first)");
        refused(f, zero_node_owner_check(&f->a, NULL, "new", "bms", false, &err), &err,
                "the node is held by 'db' (vm, paused), 'web' (container, running): bms instance 'new' needs the "
                "node to itself (\"evict\": \"stop\" stops the others first)");
        /* A running container that would run on as a bms instance: the others hold the node. */
        refused(f, zero_instance_switch(&f->a, "web", "bms", json_object(), &op, &err), &err,
                "the node is held by 'db' (vm, paused): bms instance 'web' needs the node to itself (\"evict\": "
                "\"stop\" stops the others first)");
        assert_string_equal(state_now(f), "running");
        /* Others beside each other are no matter of this rule. */
        assert_int_equal(zero_node_owner_check(&f->a, NULL, "new", "container", false, &err), 0);
        assert_int_equal(zero_node_owner_check(&f->a, ID_DB, "db", "vm", false, &err), 0);
}

/* Idle instances (stopped, error) hold nothing: the bms instance gets the node. */
static void test_owner_idle_hold_nothing(void **state) {
        struct fixture *f = *state;
        struct zero_error err = {};
        struct zero_op *op = NULL;
        struct zero_instance_row row = {};

        f->a.plugins = (struct zero_plugin_set *) &plugins;
        add_instance(f, "stopped");
        add_row(f, ID_DB, "db", "vm", "error");
        add_row(f, ID_METAL, "metal", "bms", "stopped");
        assert_int_equal(zero_instance_act(&f->a, "metal", "start", NULL, &op, &err), 0);
        assert_string_equal(op->row.kind, "start");
        assert_int_equal(unfinished(f), 1);
        /* A stopped instance that switches to bms only changes its mode: it takes nothing. */
        assert_int_equal(zero_instance_switch_check(&f->a, "web", "bms", &err), 0);
        assert_int_equal(zero_store_instance_get(f->a.store, "web", &row), 0);
        assert_string_equal(row.mode, "container");
        zero_instance_row_done(&row);
}

/* While a bms instance holds the node (in any state but stopped and error), nothing else runs. */
static void test_owner_bms_holds_the_node(void **state) {
        static const char *const holding[] = {"creating", "starting", "running", "paused", "stopping", "switching"};
        struct fixture *f = *state;

        f->a.plugins = (struct zero_plugin_set *) &plugins;
        add_instance(f, "stopped");
        add_row(f, ID_METAL, "metal", "bms", "running");
        add_row(f, ID_DB, "db", "vm", "running"); /* a row as an older zerod may have left it */
        for (size_t i = 0; i < ELEMENTSOF(holding); i++) {
                struct zero_instance_row row = {};
                struct zero_error err = {};
                struct zero_op *op = NULL;
                char want[256];

                assert_int_equal(zero_store_instance_get(f->a.store, "metal", &row), 0);
                free(row.state);
                row.state = strdup(holding[i]);
                assert_int_equal(zero_store_instance_update(f->a.store, &row), 0);
                zero_instance_row_done(&row);
                snprintf(want, sizeof(want),
                         "the node is held by bms instance 'metal' (%s): it has the node to itself, so 'web' cannot "
                         "run beside it",
                         holding[i]);
                refused(f, zero_instance_act(&f->a, "web", "start", NULL, &op, &err), &err, want);
                refused(f, zero_instance_act(&f->a, "web", "restart", json_object(), &op, &err), &err, want);
                snprintf(want, sizeof(want),
                         "the node is held by bms instance 'metal' (%s): it has the node to itself, so 'new' cannot "
                         "run beside it",
                         holding[i]);
                refused(f, zero_node_owner_check(&f->a, NULL, "new", "container", false, &err), &err, want);
                /* nor a second bms instance */
                refused(f, zero_node_owner_check(&f->a, NULL, "new", "bms", false, &err), &err, want);
                /* the bms instance is not in its own way; the VM beside it is */
                refused(f, zero_node_owner_check(&f->a, ID_METAL, "metal", "bms", false, &err), &err,
                        "the node is held by 'db' (vm, running): bms instance 'metal' needs the node to itself "
                        "(\"evict\": \"stop\" stops the others first)");
        }
        assert_string_equal(state_now(f), "stopped");
}

/* "evict": "stop" lets a bms instance's start past the others (its evict step stops them: see
 * test_operation); a bad value, another mode, or a bms owner are still refused. */
static void test_owner_evict(void **state) {
        struct fixture *f = *state;
        struct zero_error err = {};
        struct zero_op *op = NULL;

        f->a.plugins = (struct zero_plugin_set *) &plugins;
        add_instance(f, "running");
        add_row(f, ID_METAL, "metal", "bms", "stopped");
        assert_int_equal(zero_instance_act(&f->a, "metal", "start", json_pack("{s:s}", "evict", "kill"), &op, &err),
                         -EINVAL);
        assert_int_equal(err.code, ZERO_E_INVALID);
        assert_string_equal(err.message, "evict: \"stop\" is the one way to clear the node (the others are stopped first)");
        assert_int_equal(zero_instance_act(&f->a, "metal", "start", json_pack("{s:b}", "evict", 1), &op, &err), -EINVAL);
        assert_int_equal(zero_instance_act(&f->a, "db", "start", NULL, &op, &err), -ENOENT);
        add_row(f, ID_DB, "db", "vm", "stopped");
        assert_int_equal(zero_instance_act(&f->a, "db", "start", json_pack("{s:s}", "evict", "stop"), &op, &err),
                         -EINVAL);
        assert_string_equal(err.message,
                            "evict: only an instance of a mode that needs the node to itself evicts others ('vm' does not)");
        assert_int_equal(unfinished(f), 0);
        assert_int_equal(zero_node_owner_check(&f->a, NULL, "new", "bms", true, &err), 0);
        assert_int_equal(zero_instance_act(&f->a, "metal", "start", json_pack("{s:s}", "evict", "stop"), &op, &err), 0);
        assert_string_equal(json_string_value(json_object_get(op->params, "evict")), "stop");
        assert_int_equal(unfinished(f), 1);
        /* metal holds the node now (its start is under way): evicting does not pass an owner */
        assert_int_equal(zero_node_owner_check(&f->a, NULL, "new", "bms", true, &err), -EBUSY);
        assert_int_equal(err.code, ZERO_E_CONFLICT);
        assert_string_equal(err.message, "the node is held by bms instance 'metal' (stopped, start in progress): it has "
                                         "the node to itself, so 'new' cannot run beside it");
        /* ... nor another instance's start while metal's start is under way */
        assert_int_equal(zero_node_owner_check(&f->a, ID_WEB, "web", "container", false, &err), -EBUSY);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_table),
                cmocka_unit_test(test_from),
                cmocka_unit_test(test_kinds),
                cmocka_unit_test(test_meanings),
                cmocka_unit_test(test_node_mode),
                cmocka_unit_test(test_subscribers),
                cmocka_unit_test_setup_teardown(test_act_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_attach_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_act_records, setup, teardown),
                cmocka_unit_test_setup_teardown(test_delete_records_state, setup, teardown),
                cmocka_unit_test_setup_teardown(test_volume_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_network_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_owner_bms_needs_the_node, setup, teardown),
                cmocka_unit_test_setup_teardown(test_owner_idle_hold_nothing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_owner_bms_holds_the_node, setup, teardown),
                cmocka_unit_test_setup_teardown(test_owner_evict, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
