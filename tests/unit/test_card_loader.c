/* SPDX-License-Identifier: Apache-2.0 */
/* The card driver's loader (io/card_loader.c): softcard.so from the plugin directory is loaded;
 * a driver built for another card ABI, a missing file, a runtime plugin in its place and a name
 * that is no file name are refused with a reason naming the file. What each in-tree driver says
 * it can do (capabilities: only the lab's card outlives the host). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/card.h"
#include "io/card_loader.h"
#include "common/util.h"

static const char *env(const char *name) {
        const char *v = getenv(name);
        assert_non_null(v);
        return v;
}

static void test_softcard(void **state) {
        struct zero_card_lib lib = {};
        struct zero_error err = {};
        _cleanup_free_ char *want = zero_strdup_printf("%s/softcard.so", env("ZERO_PLUGIN_DIR"));

        assert_int_equal(zero_card_lib_load(env("ZERO_PLUGIN_DIR"), ZERO_CARD_DRIVER_DEFAULT, "zerod", &lib, &err), 0);
        assert_non_null(lib.handle);
        assert_string_equal(lib.path, want);
        assert_int_equal(lib.driver->abi_version, ZERO_CARD_ABI_VERSION);
        assert_true(lib.driver->size >= sizeof(struct zero_card_driver));
        assert_string_equal(lib.driver->name, "softcard");
        assert_non_null(lib.driver->ops.volume_place);
        zero_card_lib_done(&lib);
        assert_null(lib.handle);
}

/* The softcard runs on the host's kernel: no capabilities op, so none (zero_card_capabilities()
 * answers 0). The lab's card is zero-card outside the host VM: it outlives the host. */
static void test_capabilities(void **state) {
        struct zero_card_lib lib = {};
        struct zero_error err = {};

        assert_int_equal(zero_card_lib_load(env("ZERO_PLUGIN_DIR"), "softcard", "zerod", &lib, &err), 0);
        assert_false(ZERO_CARD_HAS(lib.driver, capabilities));
        zero_card_lib_done(&lib);
        if (zero_card_lib_load(env("ZERO_PLUGIN_DIR"), "lab", "zerod", &lib, &err) == -ENOENT) {
                print_message("no lab.so in this build (libcurl missing?): its part not checked\n");
                return;
        }
        assert_non_null(lib.handle);
        assert_true(ZERO_CARD_HAS(lib.driver, capabilities));
        assert_int_equal(lib.driver->ops.capabilities(NULL), ZERO_CARD_CAP_OUTLIVES_HOST);
        zero_card_lib_done(&lib);
}

static void test_wrong_abi(void **state) {
        struct zero_card_lib lib = {};
        struct zero_error err = {};
        char want[128];

        assert_int_equal(zero_card_lib_load(env("ZERO_TEST_PLUGIN_DIR"), "bad_abi_card", "zerod", &lib, &err), -EPROTONOSUPPORT);
        assert_null(lib.handle);
        assert_null(lib.driver);
        assert_non_null(strstr(err.message, "/bad_abi_card.so"));
        snprintf(want, sizeof(want), "built for card ABI version %d, this zerod speaks version %d",
                 ZERO_CARD_ABI_VERSION + 98, ZERO_CARD_ABI_VERSION);
        assert_non_null(strstr(err.message, want));
}

/* A driver built for card ABI 3, whose ops were synchronous: refused, naming both versions, before
 * any of its ops is called with ABI 4's arguments. */
static void test_abi3(void **state) {
        struct zero_card_lib lib = {};
        struct zero_error err = {};

        assert_int_equal(ZERO_CARD_ABI_VERSION, 4);
        assert_int_equal(zero_card_lib_load(env("ZERO_TEST_PLUGIN_DIR"), "abi3_card", "zerod", &lib, &err), -EPROTONOSUPPORT);
        assert_null(lib.handle);
        assert_non_null(strstr(err.message, "/abi3_card.so: built for card ABI version 3, this zerod speaks version 4"));
}

static void test_refused(void **state) {
        struct zero_card_lib lib = {};
        struct zero_error err = {};

        assert_int_equal(zero_card_lib_load(env("ZERO_TEST_PLUGIN_DIR"), "nosuchcard", "zerod", &lib, &err), -ENOENT);
        assert_non_null(strstr(err.message, "/nosuchcard.so"));
        /* A runtime plugin is no card driver. */
        err = (struct zero_error){};
        assert_int_equal(zero_card_lib_load(env("ZERO_TEST_PLUGIN_DIR"), "test_plugin", "zerod", &lib, &err), -ENOEXEC);
        assert_non_null(strstr(err.message, ZERO_CARD_DRIVER_ENTRY));
        /* Only a plain name: no path out of the plugin directory. */
        const char *const bad[] = {"../softcard", "/usr/lib/x", "soft card", "", "a.so"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                err = (struct zero_error){};
                assert_int_equal(zero_card_lib_load(env("ZERO_PLUGIN_DIR"), bad[i], "zerod", &lib, &err), -EINVAL);
                assert_int_equal(err.code, ZERO_E_INVALID);
        }
        assert_int_equal(zero_card_lib_load(env("ZERO_PLUGIN_DIR"), NULL, "zerod", &lib, &err), -EINVAL);
        assert_null(lib.handle);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_softcard),
                cmocka_unit_test(test_capabilities),
                cmocka_unit_test(test_wrong_abi),
                cmocka_unit_test(test_abi3),
                cmocka_unit_test(test_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
