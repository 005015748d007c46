/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The instance view (agent/instance_view.c) against a temporary store written directly: what it
 * shows is what the store says after any mix of writes between two reads (rows, attachments,
 * NICs, inserts and deletes, transactions rolled back), a read after no change reads nothing back
 * from the store, versions move exactly when what is shown moves, pages come by name with their
 * filters and their next, ETags change across a new view (a restart), and the node's figures
 * follow the instances. test_operation checks the same view after every turn of the engine's loop.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/agent.h"
#include "agent/instance_view.h"
#include "agent/plugin_loader.h"
#include "agent/services.h"
#include "common/util.h"

static char fake_status[32];

static int status_op(struct zero_plugin_ctx *ctx, char *ret, size_t size) {
        if (!fake_status[0])
                return -ENODATA;
        snprintf(ret, size, "%s", fake_status);
        return 0;
}

static const struct zero_plugin vm_plugin = {.abi_version = ZERO_PLUGIN_ABI_VERSION, .size = sizeof(struct zero_plugin),
                                             .name = "vm", .mode = "vm", .ops = {.status = status_op}};
static const struct zero_plugin ct_plugin = {.abi_version = ZERO_PLUGIN_ABI_VERSION, .size = sizeof(struct zero_plugin),
                                             .name = "container", .mode = "container"};

struct fixture {
        char *dir;
        struct zero_agent a;
        struct zero_config config;
        struct zero_loaded_plugin loaded[2];
        struct zero_plugin_set set;
};

static int setup(void **state) {
        const char *tmp = getenv("TMPDIR");
        struct fixture *f = calloc(1, sizeof(*f));
        struct zero_error err = {};
        _cleanup_free_ char *path = NULL;
        struct zero_image_row im = {.name = (char *) "img", .path = (char *) "/img", .created_at = 1};
        struct zero_network_row lan = {.name = (char *) "lan", .id = (char *) "55555555555555555555555555555555",
                                       .subnet = (char *) "10.77.0.0/24", .gateway = (char *) "10.77.0.1",
                                       .bridge = (char *) "zb-lan", .created_at = 1};

        assert_non_null(f);
        f->dir = zero_strdup_printf("%s/zero-test-view-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        assert_non_null(mkdtemp(f->dir));
        path = zero_strdup_printf("%s/zero.db", f->dir);
        assert_int_equal(zero_store_open(path, &f->a.store, &err), 0);
        f->config.node_name = (char *) "node1";
        f->config.run_dir = f->dir;
        f->config.state_dir = f->dir;
        f->a.config = &f->config;
        f->a.node_cpus = 2;
        f->a.node_memory_mib = 4096;
        f->loaded[0] = (struct zero_loaded_plugin){.plugin = &vm_plugin, .path = (char *) "/vm.so"};
        f->loaded[1] = (struct zero_loaded_plugin){.plugin = &ct_plugin, .path = (char *) "/container.so"};
        f->set = (struct zero_plugin_set){.items = f->loaded, .n = 2};
        f->a.plugins = &f->set;
        assert_int_equal(zero_store_image_insert(f->a.store, &im), 0);
        assert_int_equal(zero_store_network_insert(f->a.store, &lan), 0);
        assert_int_equal(zero_view_new(&f->a), 0);
        fake_status[0] = '\0';
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;

        zero_inst_free_all(&f->a);
        zero_view_free(&f->a);
        f->a.store = zero_store_close(f->a.store);
        assert_int_equal(zero_rm_rf(f->dir), 0);
        free(f->dir);
        free(f);
        return 0;
}

static void id_of(unsigned i, char ret[static 33]) {
        snprintf(ret, 33, "%032x", i + 1);
}

static void add(struct fixture *f, unsigned i, const char *name, const char *mode, const char *state) {
        char id[33];
        id_of(i, id);
        struct zero_instance_row r = {.id = id, .name = (char *) name, .mode = (char *) mode, .state = (char *) state,
                                      .image = (char *) "img", .cpus = 1, .memory_mib = 100,
                                      .spec = (char *) "{\"command\":[\"/bin/sh\"]}", .created_at = 1, .updated_at = 1};
        assert_int_equal(zero_store_instance_insert(f->a.store, &r), 0);
}

/* The view's JSON of name (synced), or NULL when it has none. */
static char *shown(struct fixture *f, const char *name, char etag[ZERO_ETAG_MAX]) {
        const struct zero_view_entry *e;
        char *body = NULL;
        size_t len;
        int r = zero_view_find(&f->a, name, &e);

        if (r == -ENOENT)
                return NULL;
        assert_int_equal(r, 0);
        if (etag)
                zero_view_entry_etag(&f->a, e, etag);
        assert_int_equal(zero_view_entry_json(e, &body, &len), 0);
        assert_int_equal(strlen(body), len);
        assert_int_equal(body[len - 1], '\n');
        return body;
}

/* What the view shows of each instance is what a rendering afresh from the store shows. */
static void assert_fresh(struct fixture *f) {
        struct zero_instance_row *rows = NULL;
        size_t n = 0;

        assert_int_equal(zero_store_instance_list(f->a.store, &rows, &n), 0);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *fresh = NULL, *cached = NULL;
                assert_int_equal(zero_view_render_fresh(&f->a, rows[i].id, &fresh), 0);
                assert_int_equal(zero_view_render_cached(&f->a, rows[i].id, &cached, NULL), 0);
                assert_non_null(cached);
                assert_string_equal(cached, fresh);
        }
        zero_instance_rows_free(rows, n);
}

/* The names a page shows, joined by spaces, and its next ("-" for none). */
static char *page_names(struct fixture *f, const struct zero_view_filter *flt, char etag[ZERO_ETAG_MAX]) {
        struct zero_view_page p = {};
        char buf[1024] = "";

        assert_int_equal(zero_view_page(&f->a, flt, &p), 0);
        for (size_t i = 0; i < p.n; i++)
                snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", i ? " " : "", zero_view_entry_name(p.entries[i]));
        snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), " | %s", p.next ? p.next : "-");
        if (etag)
                snprintf(etag, ZERO_ETAG_MAX, "%s", p.etag);
        zero_view_page_done(&p);
        return strdup(buf);
}

static void test_writes_between_reads(void **state) {
        struct fixture *f = *state;
        struct zero_instance_row row = {};
        char id0[33], id1[33], tag0[ZERO_ETAG_MAX], tag1[ZERO_ETAG_MAX];
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;

        id_of(0, id0);
        id_of(1, id1);
        add(f, 0, "web", "container", "creating");
        add(f, 1, "db", "vm", "stopped");
        a = shown(f, "web", tag0);
        assert_non_null(strstr(a, "\"state\":\"creating\""));
        assert_non_null(strstr(a, "\"volumes\":[]"));
        assert_fresh(f);

        /* Several writes, then one read: a state, an attachment made and exported, a NIC. */
        assert_int_equal(zero_store_instance_get(f->a.store, "web", &row), 0);
        free(row.state);
        row.state = strdup("running");
        row.pid = 4242;
        assert_int_equal(zero_store_instance_update(f->a.store, &row), 0);
        struct zero_volume_row v = {.name = (char *) "web-root", .id = (char *) "11111111111111111111111111111111",
                                    .size_bytes = 1 << 20, .locator = (char *) "x", .format = (char *) "raw",
                                    .state = (char *) "ready", .created_at = 1, .updated_at = 1};
        assert_int_equal(zero_store_volume_insert(f->a.store, &v), 0);
        struct zero_attachment_row at = {.volume = (char *) "web-root", .instance_id = id0, .role = (char *) "root",
                                         .personality = (char *) "virtio-blk"};
        assert_int_equal(zero_store_attachment_insert(f->a.store, &at), 0);
        at.export_kind = (char *) "host-block";
        at.export_path = (char *) "/dev/loop3";
        assert_int_equal(zero_store_attachment_update(f->a.store, &at), 0);
        struct zero_nic_row nic = {.id = (char *) "nic0", .network = (char *) "lan", .instance_id = id0,
                                   .mac = (char *) "02:00:00:00:00:02", .ip = (char *) "10.77.0.2", .host_index = 2};
        assert_int_equal(zero_store_nic_insert(f->a.store, &nic), 0);
        b = shown(f, "web", tag1);
        assert_string_not_equal(tag0, tag1);
        assert_non_null(strstr(b, "\"state\":\"running\""));
        assert_non_null(strstr(b, "\"pid\":4242"));
        assert_non_null(strstr(b, "\"root_volume\":\"web-root\""));
        assert_non_null(strstr(b, "\"path\":\"/dev/loop3\""));
        assert_non_null(strstr(b, "\"ifname\":\"eth0\""));
        assert_fresh(f);

        /* A write that changes nothing shown (updated_at): read back, the same version. */
        uint64_t loads = zero_view_loads(&f->a);
        row.updated_at = 99;
        assert_int_equal(zero_store_instance_update(f->a.store, &row), 0);
        c = shown(f, "web", tag0);
        assert_string_equal(tag0, tag1);
        assert_string_equal(b, c);
        assert_int_equal(zero_view_loads(&f->a), loads + 1);
        /* Nothing written: nothing read back, whatever is asked. */
        free(c);
        c = shown(f, "web", NULL);
        free(c);
        c = page_names(f, &(struct zero_view_filter){.state = -1}, NULL);
        assert_string_equal(c, "db web | -");
        assert_int_equal(zero_view_loads(&f->a), loads + 1);

        /* The NIC moves to db: both change. */
        char tag_db0[ZERO_ETAG_MAX], tag_db1[ZERO_ETAG_MAX];
        free(shown(f, "db", tag_db0));
        nic.instance_id = id1;
        assert_int_equal(zero_store_nic_update(f->a.store, &nic), 0);
        free(c);
        c = shown(f, "db", tag_db1);
        assert_string_not_equal(tag_db0, tag_db1);
        assert_non_null(strstr(c, "\"nics\":[{\"id\":\"nic0\""));
        assert_fresh(f);

        /* Deleted: gone from the view and the lists. */
        assert_int_equal(zero_store_instance_delete(f->a.store, id1), 0);
        assert_null(shown(f, "db", NULL));
        free(c);
        c = page_names(f, &(struct zero_view_filter){.state = -1}, NULL);
        assert_string_equal(c, "web | -");
        zero_instance_row_done(&row);
}

static void test_rollbacks(void **state) {
        struct fixture *f = *state;
        struct zero_instance_row row = {};
        char id0[33], tag0[ZERO_ETAG_MAX], tag1[ZERO_ETAG_MAX];
        _cleanup_free_ char *a = NULL, *b = NULL, *names = NULL;

        id_of(0, id0);
        add(f, 0, "web", "container", "running");
        a = shown(f, "web", tag0);
        /* A change read inside its transaction, then rolled back: the view goes back too. */
        assert_int_equal(zero_store_begin(f->a.store), 0);
        assert_int_equal(zero_store_instance_get(f->a.store, "web", &row), 0);
        free(row.state);
        row.state = strdup("stopping");
        assert_int_equal(zero_store_instance_update(f->a.store, &row), 0);
        add(f, 1, "new", "vm", "creating");
        assert_int_equal(zero_store_instance_delete(f->a.store, id0), 0);
        names = page_names(f, &(struct zero_view_filter){.state = -1}, NULL);
        assert_string_equal(names, "new | -"); /* as the transaction sees it */
        assert_int_equal(zero_store_rollback(f->a.store), 0);
        b = shown(f, "web", tag1);
        assert_string_equal(a, b);
        free(names);
        names = page_names(f, &(struct zero_view_filter){.state = -1}, NULL);
        assert_string_equal(names, "web | -");
        assert_fresh(f);
        zero_instance_row_done(&row);
}

static void test_pages(void **state) {
        struct fixture *f = *state;
        static const char *const names[] = {"e", "c", "a", "d", "b", "f"};
        char tag0[ZERO_ETAG_MAX], tag1[ZERO_ETAG_MAX];
        struct zero_instance_row row = {};
        char *s;

        for (unsigned i = 0; i < ELEMENTSOF(names); i++)
                add(f, i, names[i], i % 2 ? "vm" : "container", i % 3 ? "running" : "stopped");
        /* By name, whatever the order of creation; the next is the last name shown. */
        s = page_names(f, &(struct zero_view_filter){.state = -1, .limit = 4}, tag0);
        assert_string_equal(s, "a b c d | d");
        free(s);
        s = page_names(f, &(struct zero_view_filter){.after = "d", .state = -1, .limit = 4}, NULL);
        assert_string_equal(s, "e f | -");
        free(s);
        /* A page that ends exactly at the last: no next. */
        s = page_names(f, &(struct zero_view_filter){.after = "b", .state = -1, .limit = 4}, NULL);
        assert_string_equal(s, "c d e f | -");
        free(s);
        /* after= need not exist (the instance was deleted meanwhile). */
        s = page_names(f, &(struct zero_view_filter){.after = "bb", .state = -1, .limit = 1}, NULL);
        assert_string_equal(s, "c | c");
        free(s);
        /* Filters: e container stopped, c vm running, a container running, d vm stopped, b container
         * running, f vm running. */
        s = page_names(f, &(struct zero_view_filter){.state = ZERO_INST_RUNNING}, NULL);
        assert_string_equal(s, "a b c f | -");
        free(s);
        s = page_names(f, &(struct zero_view_filter){.state = ZERO_INST_RUNNING, .mode = "vm", .limit = 1}, NULL);
        assert_string_equal(s, "c | c");
        free(s);
        s = page_names(f, &(struct zero_view_filter){.after = "c", .state = ZERO_INST_RUNNING, .mode = "vm", .limit = 1}, NULL);
        assert_string_equal(s, "f | -");
        free(s);
        s = page_names(f, &(struct zero_view_filter){.state = -1, .mode = "bms"}, NULL);
        assert_string_equal(s, " | -");
        free(s);
        /* The body: the entries and the next. */
        struct zero_view_page p = {};
        char *body = NULL;
        size_t len;
        assert_int_equal(zero_view_page(&f->a, &(struct zero_view_filter){.state = -1, .limit = 2}, &p), 0);
        assert_int_equal(zero_view_page_json(&p, &body, &len), 0);
        json_error_t je;
        json_t *j = json_loads(body, 0, &je);
        assert_non_null(j);
        assert_int_equal(json_array_size(json_object_get(j, "instances")), 2);
        assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(j, "instances"), 1), "name")), "b");
        assert_string_equal(json_string_value(json_object_get(j, "next")), "b");
        json_decref(j);
        free(body);
        zero_view_page_done(&p);
        /* The lists' ETag moves with any change; stays otherwise. */
        s = page_names(f, &(struct zero_view_filter){.state = -1, .limit = 4}, tag1);
        free(s);
        assert_string_equal(tag0, tag1);
        assert_int_equal(zero_store_instance_get(f->a.store, "f", &row), 0);
        free(row.state);
        row.state = strdup("paused");
        assert_int_equal(zero_store_instance_update(f->a.store, &row), 0);
        zero_instance_row_done(&row);
        s = page_names(f, &(struct zero_view_filter){.state = -1, .limit = 4}, tag1);
        free(s);
        assert_string_not_equal(tag0, tag1);
}

/* The runtime's status: asked of the plugin for a live instance, a change is a new version. */
static void test_runtime_status(void **state) {
        struct fixture *f = *state;
        char id0[33], tag0[ZERO_ETAG_MAX], tag1[ZERO_ETAG_MAX];
        struct zero_inst *inst;
        char *s;

        id_of(0, id0);
        add(f, 0, "vm1", "vm", "running");
        snprintf(fake_status, sizeof(fake_status), "running");
        s = shown(f, "vm1", tag0);
        assert_null(strstr(s, "runtime_status")); /* not live here: the plugin is not asked */
        free(s);
        assert_int_equal(zero_inst_get(&f->a, id0, "vm1", &inst), 0);
        s = shown(f, "vm1", tag1);
        assert_non_null(strstr(s, ",\"runtime_status\":\"running\"}\n"));
        assert_string_not_equal(tag0, tag1);
        free(s);
        snprintf(fake_status, sizeof(fake_status), "a \"quoted\" status");
        s = shown(f, "vm1", tag0);
        assert_non_null(strstr(s, "\"runtime_status\":\"a \\\"quoted\\\" status\"}"));
        assert_string_not_equal(tag0, tag1);
        free(s);
        assert_fresh(f);
        fake_status[0] = '\0';
        s = shown(f, "vm1", tag1);
        assert_null(strstr(s, "runtime_status"));
        free(s);
        assert_string_not_equal(tag0, tag1);
}

/* A new view (zerod restarted) never gives an ETag of the old one, even for the same content. */
static void test_restart(void **state) {
        struct fixture *f = *state;
        char tag0[ZERO_ETAG_MAX], tag1[ZERO_ETAG_MAX], ltag0[ZERO_ETAG_MAX], ltag1[ZERO_ETAG_MAX];
        char *a, *b, *names;

        add(f, 0, "web", "container", "running");
        a = shown(f, "web", tag0);
        free(page_names(f, &(struct zero_view_filter){.state = -1}, ltag0));
        zero_view_free(&f->a);
        assert_int_equal(zero_view_new(&f->a), 0);
        b = shown(f, "web", tag1);
        names = page_names(f, &(struct zero_view_filter){.state = -1}, ltag1);
        assert_string_equal(a, b);
        assert_string_not_equal(tag0, tag1);
        assert_string_not_equal(ltag0, ltag1);
        assert_string_equal(names, "web | -");
        free(a);
        free(b);
        free(names);
}

static void test_node(void **state) {
        struct fixture *f = *state;
        char tag0[ZERO_ETAG_MAX], tag1[ZERO_ETAG_MAX];
        char *body;
        size_t len;
        json_t *j;

        add(f, 0, "web", "container", "running");
        add(f, 1, "db", "vm", "stopped");
        assert_int_equal(zero_view_node(&f->a, &body, &len, tag0), 0);
        j = json_loads(body, 0, NULL);
        assert_non_null(j);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "allocated"), "instances")), 2);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "allocated"), "cpus")), 1);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "allocated"), "memory_mib")), 100);
        assert_string_equal(json_string_value(json_object_get(j, "mode")), "container");
        json_decref(j);
        free(body);
        assert_int_equal(zero_view_node(&f->a, &body, &len, tag1), 0);
        assert_string_equal(tag0, tag1);
        free(body);
        add(f, 2, "vm2", "vm", "running");
        assert_int_equal(zero_view_node(&f->a, &body, &len, tag1), 0);
        assert_string_not_equal(tag0, tag1);
        j = json_loads(body, 0, NULL);
        assert_string_equal(json_string_value(json_object_get(j, "mode")), "mixed");
        assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "allocated"), "instances")), 3);
        json_decref(j);
        free(body);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_writes_between_reads, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rollbacks, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pages, setup, teardown),
                cmocka_unit_test_setup_teardown(test_runtime_status, setup, teardown),
                cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
                cmocka_unit_test_setup_teardown(test_node, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
