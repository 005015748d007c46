/* SPDX-License-Identifier: Apache-2.0 */
/* common/hashmap: put, get, remove and iteration against a plain array, through growth and many
 * removals (the backward shift must keep every remaining key findable). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/hashmap.h"

#define N 2000

static void test_basics(void **state) {
        struct zero_hashmap m = {};
        int a = 1, b = 2;
        size_t i = 0;
        const char *k;
        void *v;

        assert_null(zero_hashmap_get(&m, "x"));
        assert_null(zero_hashmap_remove(&m, "x"));
        assert_false(zero_hashmap_next(&m, &i, &k, &v));
        assert_int_equal(zero_hashmap_put(&m, "x", &a), 0);
        assert_int_equal(zero_hashmap_put(&m, "x", &b), -EEXIST);
        assert_int_equal(zero_hashmap_put(&m, "y", NULL), -EINVAL);
        assert_ptr_equal(zero_hashmap_get(&m, "x"), &a);
        assert_null(zero_hashmap_get(&m, "xx"));
        assert_int_equal(zero_hashmap_size(&m), 1);
        assert_true(zero_hashmap_next(&m, &i, &k, &v));
        assert_string_equal(k, "x");
        assert_ptr_equal(v, &a);
        assert_false(zero_hashmap_next(&m, &i, &k, &v));
        assert_ptr_equal(zero_hashmap_remove(&m, "x"), &a);
        assert_int_equal(zero_hashmap_size(&m), 0);
        assert_null(zero_hashmap_get(&m, "x"));
        zero_hashmap_done(&m);
}

/* Random puts and removes, checked against an array of what must be there. */
static void test_random(void **state) {
        static char keys[N][16];
        static bool in[N];
        struct zero_hashmap m = {};
        size_t count = 0;

        srand(12);
        for (size_t i = 0; i < N; i++)
                snprintf(keys[i], sizeof(keys[i]), "k%zu", i);
        for (int round = 0; round < 50000; round++) {
                size_t i = (size_t) rand() % N;
                if (in[i]) {
                        assert_ptr_equal(zero_hashmap_remove(&m, keys[i]), keys[i]);
                        in[i] = false;
                        count--;
                } else {
                        assert_int_equal(zero_hashmap_put(&m, keys[i], keys[i]), 0);
                        in[i] = true;
                        count++;
                }
                if (round % 997 == 0)
                        for (size_t j = 0; j < N; j++)
                                assert_ptr_equal(zero_hashmap_get(&m, keys[j]), in[j] ? keys[j] : NULL);
        }
        assert_int_equal(zero_hashmap_size(&m), count);
        size_t it = 0, seen = 0;
        const char *k;
        void *v;
        while (zero_hashmap_next(&m, &it, &k, &v)) {
                assert_ptr_equal(k, v);
                assert_true(in[atoi(k + 1)]);
                seen++;
        }
        assert_int_equal(seen, count);
        zero_hashmap_done(&m);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_basics),
                cmocka_unit_test(test_random),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
