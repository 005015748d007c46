/* SPDX-License-Identifier: Apache-2.0 */
/* The plugin loader: a good plugin is loaded and probed; one built for another ABI is refused
 * with a log line that says so. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/plugin_loader.h"
#include "common/util.h"

static const char *fake_config_get(const char *section, const char *key) {
        if (strcmp(section, "test") == 0 && strcmp(key, "reason") == 0)
                return "configured";
        return NULL;
}

static void fake_log(struct zero_plugin_ctx *ctx, int prio, const char *fmt, ...) {
}

static const struct zero_plugin_services svc = {
        .abi_version = ZERO_PLUGIN_ABI_VERSION,
        .size = sizeof(struct zero_plugin_services),
        .log = fake_log,
        .config_get = fake_config_get,
};

static void test_load_good_refuse_bad(void **state) {
        const char *dir = getenv("ZERO_TEST_PLUGIN_DIR");
        struct zero_plugin_set *set = NULL;
        char logpath[] = "/tmp/zero-loader-log-XXXXXX";
        int logfd = mkstemp(logpath);
        int saved = dup(2);
        _cleanup_free_ char *log = NULL;

        assert_non_null(dir);
        assert_true(logfd >= 0);
        /* capture the loader's stderr log lines */
        assert_true(dup2(logfd, 2) >= 0);
        assert_int_equal(zero_plugins_load(dir, &svc, &set), 0);
        fflush(stderr);
        dup2(saved, 2);
        close(saved);
        close(logfd);

        assert_int_equal(set->n, 1);
        assert_string_equal(set->items[0].plugin->name, "test");
        assert_non_null(zero_plugins_find(set, "test"));
        assert_null(zero_plugins_find(set, "future"));
        assert_true(set->items[0].probe.available);
        assert_string_equal(set->items[0].probe.reason, "configured"); /* services reached the plugin */

        assert_int_equal(zero_read_file(logpath, 1 << 20, &log, NULL), 0);
        unlink(logpath);
        assert_non_null(strstr(log, "bad_abi_plugin.so"));
        char expect[64];
        snprintf(expect, sizeof(expect), "plugin ABI version %d", ZERO_PLUGIN_ABI_VERSION + 98);
        assert_non_null(strstr(log, expect));
        assert_non_null(strstr(log, "Refusing plugin"));
        /* The card driver in the same directory is skipped, not refused as a runtime plugin. */
        assert_null(strstr(log, "Refusing plugin") ? strstr(strstr(log, "Refusing plugin"), "bad_abi_card.so") : NULL);
        zero_plugins_free(set);
}

static void test_missing_dir(void **state) {
        struct zero_plugin_set *set = NULL;
        int saved = dup(2);
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 2);
        assert_int_equal(zero_plugins_load("/nonexistent/zero-plugins", &svc, &set), -ENOENT);
        dup2(saved, 2);
        close(saved);
        close(devnull);
        assert_null(set);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_load_good_refuse_bad),
                cmocka_unit_test(test_missing_dir),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
