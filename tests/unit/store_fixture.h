/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The store tests' fixture (test_store.c, test_store_card.c, test_store_listing.c): a temporary
 * directory per test, with (setup_open) or without (setup_dir) a store opened in it as
 * zero.db; teardown closes the store and removes the directory, which must then be gone.
 * Include after <cmocka.h>.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "store/store.h"

struct fixture {
        char *dir;
        char *path;
        struct zero_store *s;
};

static inline int setup_dir(void **state) {
        const char *tmp = getenv("TMPDIR");
        struct fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        f->dir = zero_strdup_printf("%s/zero-test-store-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        assert_non_null(f->dir);
        assert_non_null(mkdtemp(f->dir));
        f->path = zero_strdup_printf("%s/zero.db", f->dir);
        assert_non_null(f->path);
        *state = f;
        return 0;
}

static inline int teardown(void **state) {
        struct fixture *f = *state;

        f->s = zero_store_close(f->s);
        assert_int_equal(zero_rm_rf(f->dir), 0);
        assert_int_equal(access(f->dir, F_OK), -1);
        free(f->path);
        free(f->dir);
        free(f);
        return 0;
}

static inline int setup_open(void **state) {
        struct zero_error err = {};
        struct fixture *f;
        int r;

        setup_dir(state);
        f = *state;
        r = zero_store_open(f->path, &f->s, &err);
        if (r < 0) {
                /* cmocka skips teardown when setup fails: remove the directory here. */
                print_error("zero_store_open: %s (%s)\n", err.message, strerror(-r));
                teardown(state);
                return -1;
        }
        return 0;
}
