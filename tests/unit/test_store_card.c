/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the store's card rows (schema v3): volumes, networks, NICs and attachments. Each
 * test gets a fresh store in a temporary directory (removed afterwards). The schema and its
 * migrations are tested in test_store.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "common/util.h"
#include "store/store.h"
#include "tests/unit/store_fixture.h"

/* Strings that may be NULL compare equal when both are NULL. */
static void assert_str(const char *got, const char *want) {
        if (!want)
                assert_null(got);
        else {
                assert_non_null(got);
                assert_string_equal(got, want);
        }
}

#define ID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define ID_C "cccccccccccccccccccccccccccccccc"
#define ID_D "dddddddddddddddddddddddddddddddd"
#define ID_E "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
#define ID_F "ffffffffffffffffffffffffffffffff"

/* --- rows used by several tests --- */

static void add_image(struct zero_store *s, char *name) {
        const struct zero_image_row im = { .name = name, .path = "/var/lib/zero/images/x", .created_at = 1 };
        assert_int_equal(zero_store_image_insert(s, &im), 0);
}

static void add_instance(struct zero_store *s, char *id, char *name) {
        const struct zero_instance_row in = { .id = id, .name = name, .state = "stopped", .created_at = 1 };
        assert_int_equal(zero_store_instance_insert(s, &in), 0);
}

static struct zero_volume_row volume_row(char *name, char *id) {
        return (struct zero_volume_row) {
                .name = name,
                .id = id,
                .size_bytes = 10737418240,
                .locator = "raw:/var/lib/zero/volumes/v.raw",
                .format = "raw",
                .state = "ready",
                .created_at = 100,
                .updated_at = 100,
        };
}

static struct zero_network_row network_row(char *name, char *id, char *bridge, char *subnet) {
        return (struct zero_network_row) {
                .name = name,
                .id = id,
                .subnet = subnet,
                .gateway = "10.77.0.1",
                .bridge = bridge,
                .created_at = 7,
        };
}

static struct zero_nic_row nic_row(char *id, char *network, char *instance_id, char *mac, char *ip,
                                   int64_t host_index, int64_t idx) {
        return (struct zero_nic_row) {
                .id = id,
                .network = network,
                .instance_id = instance_id,
                .mac = mac,
                .ip = ip,
                .host_index = host_index,
                .idx = idx,
                .created_at = 50,
        };
}

static struct zero_attachment_row attachment_row(char *volume, char *instance_id, int64_t idx) {
        return (struct zero_attachment_row) {
                .volume = volume,
                .instance_id = instance_id,
                .role = "data",
                .personality = "virtio-blk",
                .idx = idx,
        };
}

static void assert_volume(const struct zero_volume_row *got, const struct zero_volume_row *want) {
        assert_str(got->name, want->name);
        assert_str(got->id, want->id);
        assert_int_equal(got->size_bytes, want->size_bytes);
        assert_str(got->image, want->image);
        assert_str(got->locator, want->locator);
        assert_str(got->format, want->format);
        assert_str(got->state, want->state);
        assert_int_equal(got->qos_iops, want->qos_iops);
        assert_int_equal(got->qos_bps, want->qos_bps);
        assert_str(got->owner_instance, want->owner_instance);
        assert_int_equal(got->created_at, want->created_at);
        assert_int_equal(got->updated_at, want->updated_at);
}

static void assert_nic(const struct zero_nic_row *got, const struct zero_nic_row *want) {
        assert_str(got->id, want->id);
        assert_str(got->network, want->network);
        assert_str(got->instance_id, want->instance_id);
        assert_str(got->mac, want->mac);
        assert_str(got->ip, want->ip);
        assert_int_equal(got->host_index, want->host_index);
        assert_int_equal(got->idx, want->idx);
        assert_int_equal(got->created_at, want->created_at);
}

static void assert_attachment(const struct zero_attachment_row *got, const struct zero_attachment_row *want) {
        assert_str(got->volume, want->volume);
        assert_str(got->instance_id, want->instance_id);
        assert_str(got->role, want->role);
        assert_str(got->path, want->path);
        assert_str(got->personality, want->personality);
        assert_str(got->export_kind, want->export_kind);
        assert_str(got->export_path, want->export_path);
        assert_int_equal(got->idx, want->idx);
        assert_int_equal(got->released, want->released);
}

/* --- volumes --- */

static void test_volume_roundtrip(void **state) {
        struct fixture *f = *state;
        struct zero_volume_row full = {
                .name = "web-root",
                .id = ID_A,
                .size_bytes = 21474836480,
                .image = "debian",
                .locator = "qcow2:/var/lib/zero/volumes/web-root.qcow2",
                .format = "qcow2",
                .state = "creating",
                .qos_iops = 5000,
                .qos_bps = 104857600,
                .owner_instance = ID_E,
                .created_at = 1700000000000001,
                .updated_at = 1700000000000002,
        };
        struct zero_volume_row bare = volume_row("scratch", ID_B), got = {}, upd, *list = NULL;
        struct zero_volume_row no_state = volume_row("x", ID_C), dangling = volume_row("y", ID_D);
        size_t n = 0;

        add_image(f->s, "debian");
        add_instance(f->s, ID_E, "web");
        assert_int_equal(zero_store_volume_insert(f->s, &full), 0);
        assert_int_equal(zero_store_volume_insert(f->s, &bare), 0);

        assert_int_equal(zero_store_volume_get(f->s, "web-root", &got), 0);
        assert_volume(&got, &full);
        zero_volume_row_done(&got);
        assert_null(got.name);
        assert_int_equal(zero_store_volume_get_by_id(f->s, ID_A, &got), 0);
        assert_volume(&got, &full);
        zero_volume_row_done(&got);

        /* No image, no owner, no QoS: NULLs and zeros come back as such. */
        assert_int_equal(zero_store_volume_get(f->s, "scratch", &got), 0);
        assert_volume(&got, &bare);
        zero_volume_row_done(&got);

        /* Constraints: taken name, taken id, missing required string, dangling references. */
        assert_int_equal(zero_store_volume_insert(f->s, &full), -EEXIST);
        bare.name = "other";
        assert_int_equal(zero_store_volume_insert(f->s, &bare), -EEXIST); /* same id */
        no_state.state = NULL;
        assert_int_equal(zero_store_volume_insert(f->s, &no_state), -EINVAL);
        dangling.image = "no-such-image";
        assert_int_equal(zero_store_volume_insert(f->s, &dangling), -ENOENT);
        dangling.image = NULL;
        dangling.owner_instance = ID_F;
        assert_int_equal(zero_store_volume_insert(f->s, &dangling), -ENOENT);

        /* Update every mutable column (owner to NULL); the fixed ones are left alone. */
        upd = full;
        upd.size_bytes = 42949672960;
        upd.state = "ready";
        upd.qos_iops = 0;
        upd.qos_bps = 1;
        upd.owner_instance = NULL;
        upd.updated_at = 99;
        assert_int_equal(zero_store_volume_update(f->s, &upd), 0);
        upd.id = ID_F;
        upd.image = NULL;
        upd.locator = "raw:/elsewhere";
        upd.format = "raw";
        upd.created_at = 3;
        assert_int_equal(zero_store_volume_update(f->s, &upd), 0);
        assert_int_equal(zero_store_volume_get(f->s, "web-root", &got), 0);
        upd.id = full.id;
        upd.image = full.image;
        upd.locator = full.locator;
        upd.format = full.format;
        upd.created_at = full.created_at;
        assert_volume(&got, &upd);
        zero_volume_row_done(&got);

        /* Owner back; a missing owner is a dangling reference; a missing volume is -ENOENT. */
        upd.owner_instance = ID_E;
        assert_int_equal(zero_store_volume_update(f->s, &upd), 0);
        upd.owner_instance = ID_F;
        assert_int_equal(zero_store_volume_update(f->s, &upd), -ENOENT);
        upd.owner_instance = ID_E;
        upd.name = "missing";
        assert_int_equal(zero_store_volume_update(f->s, &upd), -ENOENT);

        assert_int_equal(zero_store_volume_list_owned_by(f->s, ID_E, &list, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(list[0].name, "web-root");
        zero_volume_rows_free(list, n);

        /* By name. */
        assert_int_equal(zero_store_volume_list(f->s, &list, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(list[0].name, "scratch");
        assert_string_equal(list[1].name, "web-root");
        assert_null(list[0].image);
        zero_volume_rows_free(list, n);

        /* A volume's base image cannot go while the volume exists. */
        assert_int_equal(zero_store_image_delete(f->s, "debian"), -ENOTEMPTY);

        assert_int_equal(zero_store_volume_delete(f->s, "web-root"), 0);
        assert_int_equal(zero_store_volume_delete(f->s, "web-root"), -ENOENT);
        assert_int_equal(zero_store_volume_get(f->s, "web-root", &got), -ENOENT);
        assert_int_equal(zero_store_image_delete(f->s, "debian"), 0);
        assert_int_equal(zero_store_volume_get(f->s, NULL, &got), -EINVAL);
}

/* --- attachments --- */

static void test_attachment_roundtrip(void **state) {
        struct fixture *f = *state;
        struct zero_volume_row v1 = volume_row("root", ID_A), v2 = volume_row("data", ID_B);
        struct zero_volume_row v3 = volume_row("logs", ID_C);
        struct zero_attachment_row full = {
                .volume = "root",
                .instance_id = ID_E,
                .role = "root",
                .path = "/",
                .personality = "virtio-scsi",
                .export_kind = "nbd",
                .export_path = "/run/zero/card/root.sock",
                .idx = 0,
                .released = 1, /* a live migration's hand-over (schema v9) */
        };
        struct zero_attachment_row bare = attachment_row("data", ID_E, 1), got = {}, upd, *list = NULL;
        struct zero_attachment_row again = attachment_row("root", ID_F, 0);
        struct zero_attachment_row same_idx = attachment_row("logs", ID_E, 1);
        char *owner = (char *) "untouched";
        size_t n = 0;

        add_instance(f->s, ID_E, "web");
        add_instance(f->s, ID_F, "db");
        assert_int_equal(zero_store_volume_insert(f->s, &v1), 0);
        assert_int_equal(zero_store_volume_insert(f->s, &v2), 0);
        assert_int_equal(zero_store_volume_insert(f->s, &v3), 0);

        assert_int_equal(zero_store_volume_attached_to(f->s, "root", &owner), -ENOENT);
        assert_string_equal(owner, "untouched");

        assert_int_equal(zero_store_attachment_insert(f->s, &bare), 0);
        assert_int_equal(zero_store_attachment_insert(f->s, &full), 0);

        /* Attached at most once, to any instance; an idx once per instance; references exist. */
        assert_int_equal(zero_store_attachment_insert(f->s, &full), -EEXIST);
        assert_int_equal(zero_store_attachment_insert(f->s, &again), -EEXIST);
        assert_int_equal(zero_store_attachment_insert(f->s, &same_idx), -EEXIST);
        same_idx.idx = 2;
        same_idx.instance_id = "no-such-instance";
        assert_int_equal(zero_store_attachment_insert(f->s, &same_idx), -ENOENT);
        same_idx.instance_id = ID_E;
        same_idx.volume = "no-such-volume";
        assert_int_equal(zero_store_attachment_insert(f->s, &same_idx), -ENOENT);
        same_idx.volume = "logs";
        same_idx.personality = NULL;
        assert_int_equal(zero_store_attachment_insert(f->s, &same_idx), -EINVAL);

        assert_int_equal(zero_store_attachment_get(f->s, "root", &got), 0);
        assert_attachment(&got, &full);
        zero_attachment_row_done(&got);
        assert_int_equal(zero_store_attachment_get(f->s, "data", &got), 0);
        assert_attachment(&got, &bare); /* path and export NULL */
        zero_attachment_row_done(&got);
        assert_int_equal(zero_store_attachment_get(f->s, "logs", &got), -ENOENT);

        assert_int_equal(zero_store_volume_attached_to(f->s, "root", &owner), 0);
        assert_string_equal(owner, ID_E);
        free(owner);
        assert_int_equal(zero_store_volume_attached_to(f->s, "logs", &owner), -ENOENT);
        assert_int_equal(zero_store_volume_attached_to(f->s, "missing", &owner), -ENOENT);

        /* An attached volume cannot be deleted, and nothing changes. */
        assert_int_equal(zero_store_volume_delete(f->s, "root"), -ENOTEMPTY);
        assert_int_equal(zero_store_attachment_get(f->s, "root", &got), 0);
        assert_attachment(&got, &full);
        zero_attachment_row_done(&got);
        {
                struct zero_volume_row gv = {};
                assert_int_equal(zero_store_volume_get(f->s, "root", &gv), 0);
                assert_volume(&gv, &v1);
                zero_volume_row_done(&gv);
        }

        /* A mode switch re-exports: every mutable column, strings to NULL; instance_id fixed. */
        upd = full;
        upd.role = "data";
        upd.path = NULL;
        upd.personality = "virtio-blk";
        upd.export_kind = NULL;
        upd.export_path = NULL;
        upd.idx = 5;
        upd.instance_id = ID_F;
        assert_int_equal(zero_store_attachment_update(f->s, &upd), 0);
        assert_int_equal(zero_store_attachment_get(f->s, "root", &got), 0);
        upd.instance_id = ID_E;
        assert_attachment(&got, &upd);
        zero_attachment_row_done(&got);
        upd.export_kind = "host-block";
        upd.export_path = "/dev/loop7";
        upd.idx = 1; /* taken by "data" */
        assert_int_equal(zero_store_attachment_update(f->s, &upd), -EEXIST);
        upd.idx = 0;
        assert_int_equal(zero_store_attachment_update(f->s, &upd), 0);
        upd.volume = "logs";
        assert_int_equal(zero_store_attachment_update(f->s, &upd), -ENOENT);

        /* Lists: the instance's by idx; all by instance, then idx. */
        same_idx = attachment_row("logs", ID_F, 0);
        assert_int_equal(zero_store_attachment_insert(f->s, &same_idx), 0);
        assert_int_equal(zero_store_attachment_list_for_instance(f->s, ID_E, &list, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(list[0].volume, "root");
        assert_string_equal(list[0].export_path, "/dev/loop7");
        assert_string_equal(list[1].volume, "data");
        zero_attachment_rows_free(list, n);
        assert_int_equal(zero_store_attachment_list(f->s, &list, &n), 0);
        assert_int_equal(n, 3);
        assert_string_equal(list[2].volume, "logs");
        zero_attachment_rows_free(list, n);
        assert_int_equal(zero_store_attachment_list_for_instance(f->s, "nobody", &list, &n), 0);
        assert_int_equal(n, 0);
        assert_null(list);

        /* Detach, then the volume can go. */
        assert_int_equal(zero_store_attachment_delete(f->s, "root"), 0);
        assert_int_equal(zero_store_attachment_delete(f->s, "root"), -ENOENT);
        assert_int_equal(zero_store_volume_attached_to(f->s, "root", &owner), -ENOENT);
        assert_int_equal(zero_store_volume_delete(f->s, "root"), 0);
}

/* --- networks and NICs --- */

static void test_network_roundtrip(void **state) {
        struct fixture *f = *state;
        struct zero_network_row a = network_row("default", ID_A, "zbr0", "10.77.0.0/24");
        struct zero_network_row b = network_row("backend", ID_B, "zbr1", "10.78.0.0/16");
        struct zero_network_row got = {}, *list = NULL, dup;
        size_t n = 0;

        assert_int_equal(zero_store_network_insert(f->s, &a), 0);
        assert_int_equal(zero_store_network_insert(f->s, &b), 0);
        dup = network_row("default", ID_C, "zbr2", "10.79.0.0/24");
        assert_int_equal(zero_store_network_insert(f->s, &dup), -EEXIST); /* name */
        dup = network_row("x", ID_A, "zbr2", "10.79.0.0/24");
        assert_int_equal(zero_store_network_insert(f->s, &dup), -EEXIST); /* id */
        dup = network_row("x", ID_C, "zbr0", "10.79.0.0/24");
        assert_int_equal(zero_store_network_insert(f->s, &dup), -EEXIST); /* bridge */
        dup.gateway = NULL;
        assert_int_equal(zero_store_network_insert(f->s, &dup), -EINVAL);

        assert_int_equal(zero_store_network_get(f->s, "default", &got), 0);
        assert_string_equal(got.name, "default");
        assert_string_equal(got.id, ID_A);
        assert_string_equal(got.subnet, "10.77.0.0/24");
        assert_string_equal(got.gateway, "10.77.0.1");
        assert_string_equal(got.bridge, "zbr0");
        assert_int_equal(got.created_at, 7);
        assert_string_equal(got.state, "ready"); /* none given: ready */
        zero_network_row_done(&got);

        /* The card names what it made, and the state follows (schema v8); names stay unique. */
        struct zero_network_row upd = network_row("default", ID_A, "zbr9", "10.77.0.0/24");
        upd.state = (char *) "deleting";
        assert_int_equal(zero_store_network_update(f->s, &upd), 0);
        assert_int_equal(zero_store_network_get(f->s, "default", &got), 0);
        assert_string_equal(got.bridge, "zbr9");
        assert_string_equal(got.state, "deleting");
        zero_network_row_done(&got);
        upd.bridge = (char *) "zbr1";
        assert_int_equal(zero_store_network_update(f->s, &upd), -EEXIST);
        upd.name = (char *) "nope";
        upd.bridge = (char *) "zbr8";
        assert_int_equal(zero_store_network_update(f->s, &upd), -ENOENT);

        assert_int_equal(zero_store_network_list(f->s, &list, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(list[0].name, "backend");
        assert_string_equal(list[1].name, "default");
        zero_network_rows_free(list, n);

        assert_int_equal(zero_store_network_in_use(f->s, "default"), 0);
        assert_int_equal(zero_store_network_delete(f->s, "backend"), 0);
        assert_int_equal(zero_store_network_delete(f->s, "backend"), -ENOENT);
        assert_int_equal(zero_store_network_get(f->s, "backend", &got), -ENOENT);
}

static void test_nic_roundtrip(void **state) {
        struct fixture *f = *state;
        struct zero_network_row net = network_row("default", ID_A, "zbr0", "10.77.0.0/24");
        struct zero_nic_row full = nic_row(ID_B, "default", ID_E, "52:54:00:00:00:01", "10.77.0.2", 2, 0);
        struct zero_nic_row free_nic = nic_row(ID_C, "default", NULL, "52:54:00:00:00:02", "10.77.0.3", 3, 0);
        struct zero_nic_row dup, got = {}, upd, *list = NULL;
        size_t n = 0;

        add_instance(f->s, ID_E, "web");
        assert_int_equal(zero_store_network_insert(f->s, &net), 0);
        assert_int_equal(zero_store_nic_insert(f->s, &full), 0);
        assert_int_equal(zero_store_nic_insert(f->s, &free_nic), 0);

        assert_int_equal(zero_store_nic_get(f->s, ID_B, &got), 0);
        assert_nic(&got, &full);
        zero_nic_row_done(&got);
        assert_int_equal(zero_store_nic_get(f->s, ID_C, &got), 0);
        assert_nic(&got, &free_nic); /* instance_id NULL */
        zero_nic_row_done(&got);

        /* An address is never held twice on a network, by ip or by host index. */
        dup = nic_row(ID_D, "default", NULL, "52:54:00:00:00:03", "10.77.0.2", 9, 0);
        assert_int_equal(zero_store_nic_insert(f->s, &dup), -EEXIST);
        dup = nic_row(ID_D, "default", NULL, "52:54:00:00:00:03", "10.77.0.9", 2, 0);
        assert_int_equal(zero_store_nic_insert(f->s, &dup), -EEXIST);
        /* Nor a MAC anywhere, nor an idx within an instance, nor an id. */
        dup = nic_row(ID_D, "default", NULL, "52:54:00:00:00:01", "10.77.0.9", 9, 0);
        assert_int_equal(zero_store_nic_insert(f->s, &dup), -EEXIST);
        dup = nic_row(ID_D, "default", ID_E, "52:54:00:00:00:03", "10.77.0.9", 9, 0);
        assert_int_equal(zero_store_nic_insert(f->s, &dup), -EEXIST);
        dup = nic_row(ID_B, "default", NULL, "52:54:00:00:00:03", "10.77.0.9", 9, 0);
        assert_int_equal(zero_store_nic_insert(f->s, &dup), -EEXIST);
        /* References exist; required strings are there. */
        dup = nic_row(ID_D, "nowhere", NULL, "52:54:00:00:00:03", "10.77.0.9", 9, 0);
        assert_int_equal(zero_store_nic_insert(f->s, &dup), -ENOENT);
        dup = nic_row(ID_D, "default", ID_F, "52:54:00:00:00:03", "10.77.0.9", 9, 0);
        assert_int_equal(zero_store_nic_insert(f->s, &dup), -ENOENT);
        dup = nic_row(ID_D, "default", NULL, NULL, "10.77.0.9", 9, 0);
        assert_int_equal(zero_store_nic_insert(f->s, &dup), -EINVAL);

        /* Joining an instance writes instance_id and idx; MAC and address stay. */
        upd = free_nic;
        upd.instance_id = ID_E;
        upd.idx = 1;
        upd.mac = "52:54:00:ff:ff:ff";
        upd.ip = "10.77.0.200";
        upd.host_index = 200;
        assert_int_equal(zero_store_nic_update(f->s, &upd), 0);
        assert_int_equal(zero_store_nic_get(f->s, ID_C, &got), 0);
        upd.mac = free_nic.mac;
        upd.ip = free_nic.ip;
        upd.host_index = free_nic.host_index;
        assert_nic(&got, &upd);
        zero_nic_row_done(&got);
        /* Attaching writes attach_kind and attach_target (schema v4); detaching clears them. */
        upd.attach_kind = "veth";
        upd.attach_target = "/run/zero/netns/x";
        assert_int_equal(zero_store_nic_update(f->s, &upd), 0);
        assert_int_equal(zero_store_nic_get(f->s, ID_C, &got), 0);
        assert_string_equal(got.attach_kind, "veth");
        assert_string_equal(got.attach_target, "/run/zero/netns/x");
        zero_nic_row_done(&got);
        upd.attach_kind = upd.attach_target = NULL;
        assert_int_equal(zero_store_nic_update(f->s, &upd), 0);
        assert_int_equal(zero_store_nic_get(f->s, ID_C, &got), 0);
        assert_null(got.attach_kind);
        assert_null(got.attach_target);
        zero_nic_row_done(&got);
        upd.idx = 0; /* taken by full */
        assert_int_equal(zero_store_nic_update(f->s, &upd), -EEXIST);
        upd.id = ID_D;
        assert_int_equal(zero_store_nic_update(f->s, &upd), -ENOENT);

        assert_int_equal(zero_store_nic_list_for_instance(f->s, ID_E, &list, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(list[0].id, ID_B);
        assert_string_equal(list[1].id, ID_C);
        zero_nic_rows_free(list, n);
        assert_int_equal(zero_store_nic_list(f->s, &list, &n), 0);
        assert_int_equal(n, 2);
        assert_int_equal(list[0].host_index, 2);
        assert_int_equal(list[1].host_index, 3);
        zero_nic_rows_free(list, n);

        /* A network with NICs stays, unchanged. */
        assert_int_equal(zero_store_network_in_use(f->s, "default"), 2);
        assert_int_equal(zero_store_network_delete(f->s, "default"), -ENOTEMPTY);
        {
                struct zero_network_row gn = {};
                assert_int_equal(zero_store_network_get(f->s, "default", &gn), 0);
                assert_string_equal(gn.bridge, "zbr0");
                zero_network_row_done(&gn);
        }
        assert_int_equal(zero_store_nic_delete(f->s, ID_B), 0);
        assert_int_equal(zero_store_nic_delete(f->s, ID_B), -ENOENT);
        assert_int_equal(zero_store_nic_delete(f->s, ID_C), 0);
        assert_int_equal(zero_store_network_in_use(f->s, "default"), 0);
        assert_int_equal(zero_store_network_delete(f->s, "default"), 0);
}

/* Allocates the lowest free index and inserts a NIC with it, in one transaction, as the agent
 * does; returns the index or -errno. */
static int64_t allocate(struct zero_store *s, char *network, int64_t n_hosts, int nic) {
        char id[33], mac[18], ip[32];
        struct zero_nic_row row;
        int64_t idx = -1;
        int r;

        snprintf(id, sizeof(id), "%032x", nic);
        snprintf(mac, sizeof(mac), "52:54:00:00:01:%02x", nic & 0xff);
        assert_int_equal(zero_store_begin(s), 0);
        r = zero_store_nic_allocate_ip(s, network, n_hosts, 2, &idx);
        if (r < 0) {
                assert_int_equal(zero_store_rollback(s), 0);
                assert_int_equal(idx, -1); /* untouched */
                return r;
        }
        snprintf(ip, sizeof(ip), "10.77.0.%" PRId64, idx);
        row = nic_row(id, network, NULL, mac, ip, idx, 0);
        assert_int_equal(zero_store_nic_insert(s, &row), 0);
        assert_int_equal(zero_store_commit(s), 0);
        return idx;
}

static void test_nic_allocate_ip(void **state) {
        struct fixture *f = *state;
        struct zero_network_row net = network_row("default", ID_A, "zbr0", "10.77.0.0/24");
        struct zero_network_row tiny = network_row("tiny", ID_B, "zbr1", "10.78.0.0/30");
        int64_t idx = -1;

        assert_int_equal(zero_store_network_insert(f->s, &net), 0);
        assert_int_equal(zero_store_network_insert(f->s, &tiny), 0);

        /* Lowest first, the gateway (index 1) skipped. */
        assert_int_equal(allocate(f->s, "default", 254, 1), 2);
        assert_int_equal(allocate(f->s, "default", 254, 2), 3);
        assert_int_equal(allocate(f->s, "default", 254, 3), 4);
        assert_int_equal(allocate(f->s, "default", 254, 4), 5);

        /* A freed index is handed out again, lowest hole first. */
        assert_int_equal(zero_store_nic_delete(f->s, "00000000000000000000000000000003"), 0);
        assert_int_equal(zero_store_nic_delete(f->s, "00000000000000000000000000000002"), 0);
        assert_int_equal(allocate(f->s, "default", 254, 5), 3);
        assert_int_equal(allocate(f->s, "default", 254, 6), 4);
        assert_int_equal(allocate(f->s, "default", 254, 7), 6);

        /* A /30 has two hosts; with the gateway at 1 there is room for one NIC. */
        assert_int_equal(allocate(f->s, "tiny", 2, 8), 2);
        assert_int_equal(allocate(f->s, "tiny", 2, 9), -ENOSPC);
        assert_int_equal(zero_store_network_in_use(f->s, "tiny"), 1);
        assert_int_equal(zero_store_nic_delete(f->s, "00000000000000000000000000000008"), 0);
        assert_int_equal(allocate(f->s, "tiny", 2, 9), 2);

        /* Outside a caller's transaction it runs in its own, and leaves none open. */
        assert_int_equal(zero_store_nic_allocate_ip(f->s, "default", 254, 2, &idx), 0);
        assert_int_equal(idx, 7); /* 2..6 are held */
        assert_int_equal(zero_store_commit(f->s), -EINVAL);
        idx = -1;
        assert_int_equal(zero_store_nic_allocate_ip(f->s, "nowhere", 254, 2, &idx), -ENOENT);
        assert_int_equal(zero_store_nic_allocate_ip(f->s, "default", 254, 0, &idx), -EINVAL);
        assert_int_equal(zero_store_nic_allocate_ip(f->s, "default", 1, 2, &idx), -ENOSPC);
        assert_int_equal(idx, -1);
}

/* --- an instance's delete --- */

static void test_instance_delete_cascades(void **state) {
        struct fixture *f = *state;
        struct zero_network_row net = network_row("default", ID_A, "zbr0", "10.77.0.0/24");
        struct zero_volume_row root = volume_row("web-root", ID_B), data = volume_row("web-data", ID_C);
        struct zero_volume_row other = volume_row("db-root", ID_D);
        struct zero_attachment_row a_root = attachment_row("web-root", ID_E, 0);
        struct zero_attachment_row a_data = attachment_row("web-data", ID_E, 1);
        struct zero_attachment_row a_other = attachment_row("db-root", ID_F, 0);
        struct zero_nic_row n1 = nic_row(ID_B, "default", ID_E, "52:54:00:00:00:01", "10.77.0.2", 2, 0);
        struct zero_nic_row n2 = nic_row(ID_C, "default", ID_F, "52:54:00:00:00:02", "10.77.0.3", 3, 0);
        struct zero_volume_row got = {}, *vols = NULL;
        struct zero_attachment_row *atts = NULL;
        struct zero_nic_row *nics = NULL;
        char *owner = NULL;
        size_t n = 0;

        add_instance(f->s, ID_E, "web");
        add_instance(f->s, ID_F, "db");
        root.owner_instance = ID_E;
        other.owner_instance = ID_F;
        assert_int_equal(zero_store_network_insert(f->s, &net), 0);
        assert_int_equal(zero_store_volume_insert(f->s, &root), 0);
        assert_int_equal(zero_store_volume_insert(f->s, &data), 0);
        assert_int_equal(zero_store_volume_insert(f->s, &other), 0);
        assert_int_equal(zero_store_attachment_insert(f->s, &a_root), 0);
        assert_int_equal(zero_store_attachment_insert(f->s, &a_data), 0);
        assert_int_equal(zero_store_attachment_insert(f->s, &a_other), 0);
        assert_int_equal(zero_store_nic_insert(f->s, &n1), 0);
        assert_int_equal(zero_store_nic_insert(f->s, &n2), 0);

        assert_int_equal(zero_store_instance_delete(f->s, ID_E), 0);

        /* Its attachments and NICs are gone, the other instance's stay. */
        assert_int_equal(zero_store_attachment_list_for_instance(f->s, ID_E, &atts, &n), 0);
        assert_int_equal(n, 0);
        assert_int_equal(zero_store_volume_attached_to(f->s, "web-root", &owner), -ENOENT);
        assert_int_equal(zero_store_attachment_list(f->s, &atts, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(atts[0].volume, "db-root");
        zero_attachment_rows_free(atts, n);
        assert_int_equal(zero_store_nic_list_for_instance(f->s, ID_E, &nics, &n), 0);
        assert_int_equal(n, 0);
        assert_int_equal(zero_store_nic_list(f->s, &nics, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(nics[0].id, ID_C);
        zero_nic_rows_free(nics, n);
        assert_int_equal(zero_store_network_in_use(f->s, "default"), 1);

        /* Its volumes stay, free and unowned; the other's keep their owner. */
        assert_int_equal(zero_store_volume_get(f->s, "web-root", &got), 0);
        assert_null(got.owner_instance);
        zero_volume_row_done(&got);
        assert_int_equal(zero_store_volume_list_owned_by(f->s, ID_E, &vols, &n), 0);
        assert_int_equal(n, 0);
        assert_int_equal(zero_store_volume_get(f->s, "db-root", &got), 0);
        assert_string_equal(got.owner_instance, ID_F);
        zero_volume_row_done(&got);
        assert_int_equal(zero_store_volume_delete(f->s, "web-root"), 0);
        assert_int_equal(zero_store_volume_delete(f->s, "web-data"), 0);
        assert_int_equal(zero_store_volume_delete(f->s, "db-root"), -ENOTEMPTY);
}

/* Schema 7 (card ABI 3): a volume row of version 6 names its file by path and format, which
 * the agent chose; afterwards its locator is what the softcard reads as the same file
 * ("<format>:<path>", io/softcard/storage.h), and its format stays for display. Schema 8: a
 * network made before has no state, and is ready. The v6 tables are made from the new ones by
 * undoing migrations 7 and 8 (their only changes to volumes and networks). */
static void test_migrate_volume_locator(void **state) {
        struct fixture *f = *state;
        _cleanup_free_ char *path = zero_strdup_printf("%s/zero.db", f->dir);
        struct zero_volume_row got = {};
        struct zero_error err = {};
        sqlite3 *db;

        assert_non_null(path);
        f->s = zero_store_close(f->s);
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db,
                                      "ALTER TABLE volumes ADD COLUMN path TEXT NOT NULL DEFAULT '';"
                                      "ALTER TABLE volumes DROP COLUMN locator;"
                                      "ALTER TABLE networks DROP COLUMN state;"
                                      "ALTER TABLE attachments DROP COLUMN released;"
                                      "PRAGMA user_version = 6;"
                                      "INSERT INTO volumes (name, id, size_bytes, path, format, state, created_at,"
                                      " updated_at) VALUES ('old', '" ID_A "', 1073741824,"
                                      " '/var/lib/zero/card/volumes/" ID_A ".raw', 'raw', 'ready', 1, 2);"
                                      "INSERT INTO networks (name, id, subnet, gateway, bridge, created_at)"
                                      " VALUES ('lan', '" ID_A "', '10.77.0.0/24', '10.77.0.1', 'zb-lan', 1);",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
        sqlite3_close(db);

        assert_int_equal(zero_store_open(path, &f->s, &err), 0);
        assert_int_equal(zero_store_schema_version(f->s), ZERO_STORE_SCHEMA_VERSION);
        assert_int_equal(zero_store_volume_get(f->s, "old", &got), 0);
        assert_string_equal(got.locator, "raw:/var/lib/zero/card/volumes/" ID_A ".raw");
        assert_string_equal(got.format, "raw");
        assert_string_equal(got.state, "ready");
        assert_int_equal(got.size_bytes, 1073741824);
        assert_int_equal(got.updated_at, 2);
        zero_volume_row_done(&got);
        struct zero_network_row net = {};
        assert_int_equal(zero_store_network_get(f->s, "lan", &net), 0);
        assert_string_equal(net.state, "ready");
        assert_string_equal(net.bridge, "zb-lan");
        zero_network_row_done(&net);
        /* And new rows carry the driver's locator. */
        const struct zero_volume_row v = volume_row("new", ID_B);
        assert_int_equal(zero_store_volume_insert(f->s, &v), 0);
        assert_int_equal(zero_store_volume_get(f->s, "new", &got), 0);
        assert_string_equal(got.locator, v.locator);
        zero_volume_row_done(&got);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_volume_roundtrip, setup_open, teardown),
                cmocka_unit_test_setup_teardown(test_attachment_roundtrip, setup_open, teardown),
                cmocka_unit_test_setup_teardown(test_network_roundtrip, setup_open, teardown),
                cmocka_unit_test_setup_teardown(test_nic_roundtrip, setup_open, teardown),
                cmocka_unit_test_setup_teardown(test_nic_allocate_ip, setup_open, teardown),
                cmocka_unit_test_setup_teardown(test_instance_delete_cascades, setup_open, teardown),
                cmocka_unit_test_setup_teardown(test_migrate_volume_locator, setup_open, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
