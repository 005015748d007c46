/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's joined reads (store/listing.c: an instance with its attachments and NICs, volumes
 * with their attachment and names, networks with their NIC counts, the counts by mode and state,
 * pages by name), its watcher (every write that changes what an instance shows names it; a
 * rollback says "anything"), and its statement cache (each SQL text prepared once).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/util.h"
#include "store/store.h"
#include "tests/unit/store_fixture.h"

#define ID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define ID_C "cccccccccccccccccccccccccccccccc"

static void add_instance(struct zero_store *s, char *id, char *name, char *mode, char *state, int64_t cpus) {
        const struct zero_instance_row in = {.id = id, .name = name, .mode = mode, .state = state, .image = "img",
                                             .cpus = cpus, .memory_mib = 64 * cpus, .created_at = 1};
        assert_int_equal(zero_store_instance_insert(s, &in), 0);
}

static void add_volume(struct zero_store *s, char *name, char *id, char *owner, char *state) {
        const struct zero_volume_row v = {.name = name, .id = id, .size_bytes = 1 << 20, .locator = "fake:x",
                                          .format = "raw", .state = state, .owner_instance = owner,
                                          .created_at = 2, .updated_at = 2};
        assert_int_equal(zero_store_volume_insert(s, &v), 0);
}

static void attach(struct zero_store *s, char *volume, char *instance, char *role, int64_t idx) {
        const struct zero_attachment_row at = {.volume = volume, .instance_id = instance, .role = role,
                                               .personality = "virtio-blk", .idx = idx};
        assert_int_equal(zero_store_attachment_insert(s, &at), 0);
}

static void add_nic(struct zero_store *s, char *id, char *network, char *instance, int64_t host, int64_t idx) {
        char mac[32], ip[32];
        snprintf(mac, sizeof(mac), "02:00:00:00:00:%02x", (unsigned) host);
        snprintf(ip, sizeof(ip), "10.77.0.%u", (unsigned) host);
        const struct zero_nic_row n = {.id = id, .network = network, .instance_id = instance, .mac = mac, .ip = ip,
                                       .host_index = host, .idx = idx, .created_at = 3};
        assert_int_equal(zero_store_nic_insert(s, &n), 0);
}

static void add_network(struct zero_store *s, char *name, char *id, char *bridge, char *state) {
        const struct zero_network_row n = {.name = name, .id = id, .subnet = "10.77.0.0/24", .gateway = "10.77.0.1",
                                           .bridge = bridge, .created_at = 4, .state = state};
        assert_int_equal(zero_store_network_insert(s, &n), 0);
}

/*
 * Three instances inserted out of name order: "web" (ID_A) with a root and a data volume attached
 * (inserted data first) and two NICs (inserted eth1 first), "db" (ID_B) with its root and one NIC,
 * "api" (ID_C) with nothing; a free volume, a free NIC, a second network.
 */
static void populate(struct zero_store *s) {
        const struct zero_image_row im = {.name = "img", .path = "/x", .created_at = 1};

        assert_int_equal(zero_store_image_insert(s, &im), 0);
        add_instance(s, ID_A, "web", "container", "running", 2);
        add_instance(s, ID_B, "db", "vm", "stopped", 1);
        add_instance(s, ID_C, "api", "container", "running", 1);
        add_volume(s, "web-root", "11111111111111111111111111111111", ID_A, "ready");
        add_volume(s, "web-data", "22222222222222222222222222222222", NULL, "ready");
        add_volume(s, "db-root", "33333333333333333333333333333333", ID_B, "ready");
        add_volume(s, "spare", "44444444444444444444444444444444", NULL, "creating");
        attach(s, "web-data", ID_A, "data", 1);
        attach(s, "web-root", ID_A, "root", 0);
        attach(s, "db-root", ID_B, "root", 0);
        add_network(s, "lan", "55555555555555555555555555555555", "zb-lan", NULL);
        add_network(s, "dmz", "66666666666666666666666666666666", "zb-dmz", "creating");
        add_nic(s, "n-web-1", "lan", ID_A, 3, 1);
        add_nic(s, "n-web-0", "lan", ID_A, 2, 0);
        add_nic(s, "n-db-0", "lan", ID_B, 4, 0);
        add_nic(s, "n-free", "lan", NULL, 5, 0);
}

static void test_instance_full(void **state) {
        struct fixture *f = *state;
        struct zero_instance_full *all = NULL, one = {};
        size_t n = 0;

        populate(f->s);
        assert_int_equal(zero_store_instance_list_full(f->s, &all, &n), 0);
        assert_int_equal(n, 3);
        /* By name, each with its children by idx. */
        assert_string_equal(all[0].inst.name, "api");
        assert_int_equal(all[0].n_atts, 0);
        assert_int_equal(all[0].n_nics, 0);
        assert_string_equal(all[1].inst.name, "db");
        assert_int_equal(all[1].n_atts, 1);
        assert_string_equal(all[1].atts[0].volume, "db-root");
        assert_int_equal(all[1].n_nics, 1);
        assert_string_equal(all[1].nics[0].id, "n-db-0");
        assert_string_equal(all[2].inst.name, "web");
        assert_string_equal(all[2].inst.mode, "container");
        assert_int_equal(all[2].inst.cpus, 2);
        assert_int_equal(all[2].n_atts, 2);
        assert_string_equal(all[2].atts[0].volume, "web-root");
        assert_string_equal(all[2].atts[0].role, "root");
        assert_string_equal(all[2].atts[0].instance_id, ID_A);
        assert_string_equal(all[2].atts[1].volume, "web-data");
        assert_int_equal(all[2].atts[1].idx, 1);
        assert_null(all[2].atts[1].export_kind);
        assert_int_equal(all[2].n_nics, 2);
        assert_string_equal(all[2].nics[0].id, "n-web-0");
        assert_string_equal(all[2].nics[0].ip, "10.77.0.2");
        assert_string_equal(all[2].nics[0].network, "lan");
        assert_string_equal(all[2].nics[1].id, "n-web-1");
        assert_int_equal(all[2].nics[1].idx, 1);
        zero_instance_fulls_free(all, n);

        /* One, the same way; an export shows once made. */
        struct zero_attachment_row at = {.volume = "web-root", .instance_id = ID_A, .role = "root",
                                         .personality = "virtio-blk", .export_kind = "host-block",
                                         .export_path = "/dev/loop7", .idx = 0};
        assert_int_equal(zero_store_attachment_update(f->s, &at), 0);
        assert_int_equal(zero_store_instance_get_full(f->s, ID_A, &one), 0);
        assert_string_equal(one.inst.name, "web");
        assert_int_equal(one.n_atts, 2);
        assert_string_equal(one.atts[0].export_kind, "host-block");
        assert_string_equal(one.atts[0].export_path, "/dev/loop7");
        assert_int_equal(one.n_nics, 2);
        zero_instance_full_done(&one);
        assert_int_equal(zero_store_instance_get_full(f->s, ID_C, &one), 0);
        assert_int_equal(one.n_atts + one.n_nics, 0);
        zero_instance_full_done(&one);
        assert_int_equal(zero_store_instance_get_full(f->s, "0123456789abcdef0123456789abcdef", &one), -ENOENT);

        /* An empty store lists nothing. */
        assert_int_equal(zero_store_instance_delete(f->s, ID_A), 0);
        assert_int_equal(zero_store_instance_delete(f->s, ID_B), 0);
        assert_int_equal(zero_store_instance_delete(f->s, ID_C), 0);
        assert_int_equal(zero_store_instance_list_full(f->s, &all, &n), 0);
        assert_int_equal(n, 0);
        assert_null(all);
}

static void test_counts(void **state) {
        struct fixture *f = *state;
        struct zero_instance_count *c = NULL;
        size_t n = 0;

        assert_int_equal(zero_store_instance_count(f->s), 0);
        populate(f->s);
        assert_int_equal(zero_store_instance_count(f->s), 3);
        assert_int_equal(zero_store_instance_counts(f->s, &c, &n), 0);
        /* (container, running) x2 with 3 cpus, (vm, stopped) x1. */
        assert_int_equal(n, 2);
        assert_string_equal(c[0].mode, "container");
        assert_string_equal(c[0].state, "running");
        assert_int_equal(c[0].count, 2);
        assert_int_equal(c[0].cpus, 3);
        assert_int_equal(c[0].memory_mib, 192);
        assert_string_equal(c[1].mode, "vm");
        assert_string_equal(c[1].state, "stopped");
        assert_int_equal(c[1].count, 1);
        zero_instance_counts_free(c, n);
}

static void test_volume_full(void **state) {
        struct fixture *f = *state;
        struct zero_volume_full *v = NULL, one = {};
        size_t n = 0;

        populate(f->s);
        assert_int_equal(zero_store_volume_list_full(f->s, NULL, &v, &n), 0);
        assert_int_equal(n, 4);
        assert_string_equal(v[0].vol.name, "db-root");
        assert_string_equal(v[0].attached_to, "db");
        assert_string_equal(v[0].owner, "db");
        assert_string_equal(v[0].att.role, "root");
        assert_string_equal(v[1].vol.name, "spare");
        assert_null(v[1].att.volume);
        assert_null(v[1].attached_to);
        assert_null(v[1].owner);
        assert_string_equal(v[2].vol.name, "web-data");
        assert_string_equal(v[2].attached_to, "web");
        assert_null(v[2].owner); /* given, not owned */
        assert_string_equal(v[3].vol.name, "web-root");
        zero_volume_fulls_free(v, n);

        /* Pages: after a name (that need not exist), of a state, at most limit. */
        assert_int_equal(zero_store_volume_list_full(f->s, &(struct zero_store_page){.after = "db-root", .limit = 2}, &v, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(v[0].vol.name, "spare");
        assert_string_equal(v[1].vol.name, "web-data");
        zero_volume_fulls_free(v, n);
        assert_int_equal(zero_store_volume_list_full(f->s, &(struct zero_store_page){.after = "sa"}, &v, &n), 0);
        assert_int_equal(n, 3);
        zero_volume_fulls_free(v, n);
        assert_int_equal(zero_store_volume_list_full(f->s, &(struct zero_store_page){.state = "creating"}, &v, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(v[0].vol.name, "spare");
        zero_volume_fulls_free(v, n);
        assert_int_equal(zero_store_volume_list_full(f->s, &(struct zero_store_page){.after = "web-root"}, &v, &n), 0);
        assert_int_equal(n, 0);

        assert_int_equal(zero_store_volume_get_full(f->s, "web-root", &one), 0);
        assert_string_equal(one.attached_to, "web");
        assert_string_equal(one.owner, "web");
        zero_volume_full_done(&one);
        assert_int_equal(zero_store_volume_get_full(f->s, "nope", &one), -ENOENT);
}

static void test_network_full(void **state) {
        struct fixture *f = *state;
        struct zero_network_full *nets = NULL, one = {};
        size_t n = 0;

        populate(f->s);
        assert_int_equal(zero_store_network_list_full(f->s, NULL, &nets, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(nets[0].net.name, "dmz");
        assert_int_equal(nets[0].nics, 0);
        assert_string_equal(nets[1].net.name, "lan");
        assert_int_equal(nets[1].nics, 4); /* the free one too */
        zero_network_fulls_free(nets, n);
        assert_int_equal(zero_store_network_list_full(f->s, &(struct zero_store_page){.state = "ready"}, &nets, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(nets[0].net.name, "lan");
        zero_network_fulls_free(nets, n);
        assert_int_equal(zero_store_network_list_full(f->s, &(struct zero_store_page){.limit = 1}, &nets, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(nets[0].net.name, "dmz");
        zero_network_fulls_free(nets, n);
        assert_int_equal(zero_store_network_get_full(f->s, "lan", &one), 0);
        assert_int_equal(one.nics, 4);
        zero_network_full_done(&one);
        assert_int_equal(zero_store_network_get_full(f->s, "nope", &one), -ENOENT);
}

static void test_images_page(void **state) {
        struct fixture *f = *state;
        struct zero_image_row *rows = NULL;
        size_t n = 0;
        char *names[] = {"c", "a", "b"};

        for (size_t i = 0; i < 3; i++) {
                const struct zero_image_row im = {.name = names[i], .path = "/x", .created_at = 1};
                assert_int_equal(zero_store_image_insert(f->s, &im), 0);
        }
        assert_int_equal(zero_store_image_list_page(f->s, &(struct zero_store_page){.limit = 2}, &rows, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(rows[0].name, "a");
        assert_string_equal(rows[1].name, "b");
        zero_image_rows_free(rows, n);
        assert_int_equal(zero_store_image_list_page(f->s, &(struct zero_store_page){.after = "b", .limit = 2}, &rows, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(rows[0].name, "c");
        zero_image_rows_free(rows, n);
}

/* --- the watcher --- */

static char heard[64][40];
static size_t n_heard;

static void hear(void *userdata, const char *id) {
        assert_true(n_heard < ELEMENTSOF(heard));
        snprintf(heard[n_heard++], sizeof(heard[0]), "%s", id ? id : "*");
}

/* The notices since the last call, joined by spaces. */
static char *heard_since(void) {
        char *s = calloc(1, 64 * 41 + 1);
        for (size_t i = 0; i < n_heard; i++)
                strcat(strcat(s, i ? " " : ""), heard[i]);
        n_heard = 0;
        return s;
}

#define ASSERT_HEARD(want)                                                                         \
        do {                                                                                       \
                _cleanup_free_ char *_h = heard_since();                                           \
                assert_string_equal(_h, want);                                                     \
        } while (0)

static void test_watch(void **state) {
        struct fixture *f = *state;
        struct zero_instance_row row = {};

        populate(f->s);
        zero_store_watch(f->s, hear, NULL);
        n_heard = 0;

        /* The instance's own row. */
        assert_int_equal(zero_store_instance_get(f->s, "web", &row), 0);
        free(row.state);
        row.state = strdup("stopping");
        assert_int_equal(zero_store_instance_update(f->s, &row), 0);
        ASSERT_HEARD(ID_A);
        /* Its attachments: update (the row's instance, whatever the caller says), delete, insert. */
        struct zero_attachment_row at = {.volume = "web-data", .instance_id = ID_C, .role = "data",
                                         .personality = "nvme", .idx = 1};
        assert_int_equal(zero_store_attachment_update(f->s, &at), 0);
        ASSERT_HEARD(ID_A);
        assert_int_equal(zero_store_attachment_delete(f->s, "web-data"), 0);
        ASSERT_HEARD(ID_A);
        attach(f->s, "web-data", ID_C, "data", 0);
        ASSERT_HEARD(ID_C);
        /* NICs: made free (the old instance hears), moved to another (the new one), deleted. */
        struct zero_nic_row nic = {};
        assert_int_equal(zero_store_nic_get(f->s, "n-web-1", &nic), 0);
        free(nic.instance_id);
        nic.instance_id = NULL;
        assert_int_equal(zero_store_nic_update(f->s, &nic), 0);
        ASSERT_HEARD(ID_A);
        nic.instance_id = strdup(ID_B);
        nic.idx = 1;
        assert_int_equal(zero_store_nic_update(f->s, &nic), 0);
        ASSERT_HEARD(ID_B);
        free(nic.attach_kind);
        nic.attach_kind = strdup("tap");
        assert_int_equal(zero_store_nic_update(f->s, &nic), 0);
        ASSERT_HEARD(ID_B);
        assert_int_equal(zero_store_nic_delete(f->s, "n-web-1"), 0);
        ASSERT_HEARD(ID_B);
        assert_int_equal(zero_store_nic_delete(f->s, "n-free"), 0);
        ASSERT_HEARD("");
        zero_nic_row_done(&nic);
        add_nic(f->s, "n-new", "lan", NULL, 9, 0);
        ASSERT_HEARD("");
        /* What an instance does not show: volumes, networks, events, operations. */
        struct zero_volume_row v = {};
        assert_int_equal(zero_store_volume_get(f->s, "web-root", &v), 0);
        v.qos_iops = 100;
        assert_int_equal(zero_store_volume_update(f->s, &v), 0);
        zero_volume_row_done(&v);
        assert_int_equal(zero_store_event_append(f->s, "x", "web", NULL, NULL, NULL), 0);
        ASSERT_HEARD("");
        /* A write that fails tells nothing. */
        assert_int_equal(zero_store_attachment_delete(f->s, "nope"), -ENOENT);
        ASSERT_HEARD("");
        /* A rollback: anything may be undone. */
        assert_int_equal(zero_store_begin(f->s), 0);
        assert_int_equal(zero_store_instance_update(f->s, &row), 0);
        assert_int_equal(zero_store_rollback(f->s), 0);
        ASSERT_HEARD(ID_A " *");
        /* The delete of an instance (its children go by cascade: one notice). */
        assert_int_equal(zero_store_instance_delete(f->s, ID_A), 0);
        ASSERT_HEARD(ID_A);
        zero_instance_row_done(&row);
        /* An insert. */
        add_instance(f->s, ID_A, "web2", "vm", "creating", 1);
        ASSERT_HEARD(ID_A);
        zero_store_watch(f->s, NULL, NULL);
        assert_int_equal(zero_store_instance_delete(f->s, ID_A), 0);
        ASSERT_HEARD("");
}

/* A failed COMMIT or a statement SQLite rolls back itself also says "anything": the rollback
 * hook, not only zero_store_rollback(). */
static void test_watch_failed_transaction(void **state) {
        struct fixture *f = *state;

        populate(f->s);
        zero_store_watch(f->s, hear, NULL);
        n_heard = 0;
        assert_int_equal(zero_store_begin(f->s), 0);
        add_instance(f->s, "dddddddddddddddddddddddddddddddd", "new", "vm", "creating", 1);
        /* The same name again fails (its statement only); the transaction goes on, then is rolled
         * back by the caller. */
        const struct zero_instance_row dup = {.id = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", .name = "new", .state = "x"};
        assert_int_equal(zero_store_instance_insert(f->s, &dup), -EEXIST);
        ASSERT_HEARD("dddddddddddddddddddddddddddddddd");
        assert_int_equal(zero_store_rollback(f->s), 0);
        ASSERT_HEARD("*");
        zero_store_watch(f->s, NULL, NULL);
}

/* --- the statement cache --- */

/* What a list, a GET and a write cost in statements prepared: each SQL text once, ever. */
static void once_each(struct zero_store *s, struct zero_instance_row *row) {
        struct zero_instance_full *all = NULL, one = {};
        size_t n = 0;

        assert_int_equal(zero_store_instance_list_full(s, &all, &n), 0);
        assert_int_equal(n, 3);
        zero_instance_fulls_free(all, n);
        assert_int_equal(zero_store_instance_get_full(s, ID_A, &one), 0);
        zero_instance_full_done(&one);
        assert_int_equal(zero_store_begin(s), 0);
        assert_int_equal(zero_store_instance_update(s, row), 0);
        assert_int_equal(zero_store_commit(s), 0);
}

static void test_statements_prepared_once(void **state) {
        struct fixture *f = *state;
        struct zero_instance_row row = {};
        uint64_t before;

        populate(f->s);
        assert_int_equal(zero_store_instance_get(f->s, "web", &row), 0);
        once_each(f->s, &row);
        before = zero_store_statements_prepared(f->s);
        assert_true(before > 0);
        for (int i = 0; i < 100; i++)
                once_each(f->s, &row);
        assert_int_equal(zero_store_statements_prepared(f->s), before);
        zero_instance_row_done(&row);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_instance_full, setup_open, teardown),
                cmocka_unit_test_setup_teardown(test_counts, setup_open, teardown),
                cmocka_unit_test_setup_teardown(test_volume_full, setup_open, teardown),
                cmocka_unit_test_setup_teardown(test_network_full, setup_open, teardown),
                cmocka_unit_test_setup_teardown(test_images_page, setup_open, teardown),
                cmocka_unit_test_setup_teardown(test_watch, setup_open, teardown),
                cmocka_unit_test_setup_teardown(test_watch_failed_transaction, setup_open, teardown),
                cmocka_unit_test_setup_teardown(test_statements_prepared_once, setup_open, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
