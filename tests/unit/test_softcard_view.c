/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The softcard's memories of the daemon and the kernel, without either: the view (view.c) as the
 * card's commands change it, and the loop index (loop_index.c) as its work puts and drops
 * devices. What the ops make of them runs against a real daemon in test_softcard_async.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "common/util.h"
#include "io/softcard/volume_op.h"

static json_t *list(struct softcard_view *v, const char *query) {
        return softcard_view_get(v, query); /* a copy, or NULL */
}

static size_t count(struct softcard_view *v, const char *query) {
        json_auto_t *l = list(v, query);

        return l ? json_array_size(l) : (size_t) -1;
}

static bool has(struct softcard_view *v, const char *query, const char *key, const char *name) {
        json_auto_t *l = list(v, query);

        return softcard_find(l, key, name) != NULL;
}

static void apply(struct softcard_view *v, const char *execute, const char *args_json, int r) {
        json_auto_t *args = json_loads(args_json, 0, NULL);

        assert_non_null(args);
        softcard_view_apply(v, execute, args, r);
}

static void test_view(void **state) {
        struct softcard_view v = {};
        json_auto_t *empty = json_array(), *snapshot = NULL, *going = NULL;

        /* Nothing read yet: nothing to answer, and commands change nothing. */
        assert_null(list(&v, "query-block-exports"));
        apply(&v, "object-add", "{\"qom-type\": \"throttle-group\", \"id\": \"g1\"}", 0);
        assert_null(list(&v, "qom-list"));

        softcard_view_set(&v, "query-block-exports", empty);
        softcard_view_set(&v, "query-named-block-nodes", empty);
        softcard_view_set(&v, "qom-list", empty);
        assert_int_equal(count(&v, "query-named-block-nodes"), 0);

        /* An export's making, command by command. */
        apply(&v, "object-add", "{\"qom-type\": \"throttle-group\", \"id\": \"g1\"}", 0);
        snapshot = list(&v, "query-named-block-nodes"); /* what an op started now holds */
        apply(&v, "blockdev-add", "{\"driver\": \"file\", \"node-name\": \"f1\", \"filename\": \"/v/1.raw\"}", 0);
        apply(&v, "blockdev-add", "{\"driver\": \"raw\", \"node-name\": \"q1\", \"file\": \"f1\"}", 0);
        apply(&v, "block-export-add", "{\"type\": \"nbd\", \"id\": \"e1\", \"node-name\": \"t1\"}", 0);
        assert_true(has(&v, "qom-list", "name", "g1"));
        assert_true(has(&v, "query-named-block-nodes", "file", "/v/1.raw")); /* the file node's file */
        assert_true(has(&v, "query-block-exports", "type", "nbd"));
        assert_int_equal(count(&v, "query-named-block-nodes"), 2);
        assert_int_equal(json_array_size(snapshot), 0); /* replaced, not changed under the op */

        /* Commands that change no name change nothing; queries are no commands. */
        apply(&v, "qom-set", "{\"path\": \"/objects/g1\"}", -EIO);
        apply(&v, "query-block-exports", "{}", -ETIMEDOUT);
        assert_int_equal(count(&v, "qom-list"), 1);
        assert_int_equal(count(&v, "query-block-exports"), 1);

        /* Deletes remove the name; a failed one has its list read again. */
        apply(&v, "blockdev-del", "{\"node-name\": \"q1\"}", 0);
        assert_false(has(&v, "query-named-block-nodes", "node-name", "q1"));
        assert_true(has(&v, "query-named-block-nodes", "node-name", "f1"));
        apply(&v, "blockdev-del", "{\"node-name\": \"f1\"}", -ETIMEDOUT);
        assert_null(list(&v, "query-named-block-nodes"));
        assert_int_equal(count(&v, "qom-list"), 1); /* the others kept */

        /* An export's delete returns before it is gone: the exports are asked again, and a list
         * with one going away is not kept. */
        apply(&v, "block-export-del", "{\"id\": \"e1\", \"mode\": \"hard\"}", 0);
        assert_null(list(&v, "query-block-exports"));
        going = json_loads("[{\"id\": \"e1\", \"type\": \"nbd\", \"shutting-down\": true}]", 0, NULL);
        softcard_view_set(&v, "query-block-exports", going);
        assert_null(list(&v, "query-block-exports"));
        softcard_view_set(&v, "query-block-exports", empty);
        assert_int_equal(count(&v, "query-block-exports"), 0);

        softcard_view_forget(&v);
        assert_null(list(&v, "qom-list"));
}

static void test_loop_index(void **state) {
        struct softcard_loop_index x = {};
        const struct softcard_loop *l;

        /* Not read yet: a put waits for the read (sysfs has the truth then). */
        assert_int_equal(softcard_loop_index_put(&x, "AB", "/dev/loop1", true), 0);
        assert_int_equal(zero_hashmap_size(&x.map), 0);

        x.loaded = true; /* as if read: nothing of ours on this host */
        assert_int_equal(softcard_loop_index_put(&x, "0123456789ABCDEF0123456789abcdef", "/dev/loop7", true), 0);
        l = softcard_loop_index_get(&x, "/nonexistent", "0123456789abcdef0123456789ABCDEF"); /* any case */
        assert_non_null(l);
        assert_string_equal(l->dev, "/dev/loop7");
        assert_true(l->direct);
        /* Attached again elsewhere: replaced. */
        assert_int_equal(softcard_loop_index_put(&x, "0123456789abcdef0123456789abcdef", "/dev/loop9", false), 0);
        l = softcard_loop_index_get(&x, "/nonexistent", "0123456789abcdef0123456789abcdef");
        assert_string_equal(l->dev, "/dev/loop9");
        assert_false(l->direct);
        assert_int_equal(zero_hashmap_size(&x.map), 1);

        softcard_loop_index_drop(&x, "0123456789ABCDEF0123456789ABCDEF");
        assert_null(softcard_loop_index_get(&x, "/nonexistent", "0123456789abcdef0123456789abcdef"));
        assert_int_equal(softcard_loop_index_put(&x, "fedcba9876543210fedcba9876543210", "/dev/loop3", true), 0);
        softcard_loop_index_forget(&x);
        assert_false(x.loaded);
        assert_int_equal(zero_hashmap_size(&x.map), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_view),
                cmocka_unit_test(test_loop_index),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
