/* SPDX-License-Identifier: Apache-2.0 */
/* The plugin loader: a good plugin is loaded and probed; one built for another ABI is refused
 * with a log line that says so; the version rules of plugin.h (major equal, a newer minor only
 * refused when it needs more than this agent's minor); the modes' list for messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/plugin_loader.h"
#include "common/elf_symbols.h"
#include "common/util.h"
#include "zero/card.h"

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

        /* In file order: newer_minor_plugin.so, test_plugin.so. */
        assert_int_equal(set->n, 2);
        assert_string_equal(set->items[0].plugin->name, "newer");
        assert_string_equal(set->items[1].plugin->name, "test");
        assert_non_null(zero_plugins_find(set, "test"));
        assert_null(zero_plugins_find(set, "future"));
        assert_null(zero_plugins_find(set, "needs-newer"));
        assert_true(set->items[1].probe.available);
        assert_string_equal(set->items[1].probe.reason, "configured"); /* services reached the plugin */
        assert_int_equal(set->items[1].probe.size, sizeof(struct zero_probe));
        /* The newer minor's larger struct: its ops past this agent's are never looked at. */
        assert_true(set->items[0].plugin->size > sizeof(struct zero_plugin));
        assert_true(set->items[0].probe.available);

        assert_int_equal(zero_read_file(logpath, 1 << 20, &log, NULL), 0);
        unlink(logpath);
        assert_non_null(strstr(log, "bad_abi_plugin.so"));
        char expect[128];
        snprintf(expect, sizeof(expect), "plugin ABI version %d.0, this zerod speaks version %d.%d (another major)",
                 ZERO_PLUGIN_ABI_MAJOR + 98, ZERO_PLUGIN_ABI_MAJOR, ZERO_PLUGIN_ABI_MINOR);
        assert_non_null(strstr(log, expect));
        /* The loaded one's line names its ABI. */
        snprintf(expect, sizeof(expect), "Loaded plugin test (mode test, ABI %d.%d)", ZERO_PLUGIN_ABI_MAJOR,
                 ZERO_PLUGIN_ABI_MINOR);
        assert_non_null(strstr(log, expect));
        assert_non_null(strstr(log, "Refusing plugin"));
        /* The one that needs a newer minor, by file and both versions. */
        snprintf(expect, sizeof(expect), "needs_newer_plugin.so: built for plugin ABI version %d.%d, it needs %d.%d",
                 ZERO_PLUGIN_ABI_MAJOR, ZERO_PLUGIN_ABI_MINOR + 1, ZERO_PLUGIN_ABI_MAJOR, ZERO_PLUGIN_ABI_MINOR + 1);
        assert_non_null(strstr(log, expect));
        snprintf(expect, sizeof(expect), "Loaded plugin newer (mode newer, ABI %d.%d)", ZERO_PLUGIN_ABI_MAJOR,
                 ZERO_PLUGIN_ABI_MINOR + 1);
        assert_non_null(strstr(log, expect));
        /* The card driver in the same directory is skipped, not refused as a runtime plugin. */
        assert_null(strstr(log, "Refusing plugin") ? strstr(strstr(log, "Refusing plugin"), "bad_abi_card.so") : NULL);
        zero_plugins_free(set);
}

/* How the loader tells a card driver from a runtime plugin without loading it: the exported
 * entry read from the file; anything that is not a readable native ELF object is -ENOEXEC (the
 * loader then loads it and judges as before), a truncated one never read past its end. */
static void test_elf_exports(void **state) {
        const char *dir = getenv("ZERO_TEST_PLUGIN_DIR");
        _cleanup_free_ char *plugin = zero_strdup_printf("%s/test_plugin.so", dir);
        _cleanup_free_ char *card = zero_strdup_printf("%s/bad_abi_card.so", dir);
        _cleanup_free_ char *text = NULL;
        char junk[] = "/tmp/zero-elf-XXXXXX";
        size_t len;

        assert_non_null(dir);
        assert_int_equal(zero_elf_exports(plugin, ZERO_PLUGIN_ENTRY), 1);
        assert_int_equal(zero_elf_exports(plugin, ZERO_CARD_DRIVER_ENTRY), 0);
        assert_int_equal(zero_elf_exports(card, ZERO_CARD_DRIVER_ENTRY), 1);
        assert_int_equal(zero_elf_exports(card, ZERO_PLUGIN_ENTRY), 0);
        /* A symbol it only imports is not one it exports. */
        assert_int_equal(zero_elf_exports(plugin, "strcmp") + zero_elf_exports(plugin, "memcpy") +
                                 zero_elf_exports(plugin, "snprintf"),
                         0);
        assert_int_equal(zero_elf_exports("/nonexistent/x.so", ZERO_PLUGIN_ENTRY), -ENOENT);
        assert_int_equal(zero_elf_exports(dir, ZERO_PLUGIN_ENTRY), -ENOEXEC);

        int fd = mkstemp(junk);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "not an ELF object\n", 18), 18);
        assert_int_equal(zero_elf_exports(junk, ZERO_PLUGIN_ENTRY), -ENOEXEC);
        /* The plugin cut short at every 4 KiB and in its headers: an error or "no", never a read
         * past the end (ASan) nor a "yes" for what is not there. */
        assert_int_equal(zero_read_file(plugin, 64 << 20, &text, &len), 0);
        for (size_t cut = 0; cut < len; cut += cut < 256 ? 16 : 4096) {
                assert_int_equal(ftruncate(fd, 0), 0);
                assert_int_equal(pwrite(fd, text, cut, 0), (ssize_t) cut);
                int r = zero_elf_exports(junk, ZERO_PLUGIN_ENTRY);
                assert_true(r == -ENOEXEC || r == 0);
        }
        close(fd);
        unlink(junk);
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

static int nop(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, struct zero_error *err) {
        return 0;
}

static int nop_kill(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, int sig,
                    struct zero_error *err) {
        return 0;
}

static int nop_probe(struct zero_probe *ret) {
        return 0;
}

/* A complete plugin of this agent's version; each test changes one thing. */
static struct zero_plugin good(void) {
        return (struct zero_plugin){
                .abi_version = ZERO_PLUGIN_ABI_VERSION,
                .size = sizeof(struct zero_plugin),
                .name = "t",
                .mode = "t",
                .ops = {.probe = nop_probe, .prepare = nop, .start = nop, .stop = nop, .kill = nop_kill,
                        .cleanup = nop},
        };
}

static void test_version_rules(void **state) {
        struct zero_error err = {};
        struct zero_plugin p = good();

        assert_int_equal(zero_plugin_abi_check(&p, &err), 0);
        assert_int_equal(zero_plugin_abi_check(NULL, &err), -EPROTONOSUPPORT);

        /* Another major, either way: refused. */
        p.abi_version = ZERO_PLUGIN_ABI_MAKE(ZERO_PLUGIN_ABI_MAJOR + 1, 0);
        assert_int_equal(zero_plugin_abi_check(&p, &err), -EPROTONOSUPPORT);
        assert_non_null(strstr(err.message, "another major"));
        p.abi_version = ZERO_PLUGIN_ABI_MAKE(ZERO_PLUGIN_ABI_MAJOR - 1, 7);
        assert_int_equal(zero_plugin_abi_check(&p, &err), -EPROTONOSUPPORT);
        /* A plugin from before major/minor (abi_version 3) is named by its old number. */
        p.abi_version = 3;
        assert_int_equal(zero_plugin_abi_check(&p, &err), -EPROTONOSUPPORT);
        assert_non_null(strstr(err.message, "built for plugin ABI version 3, "));

        /* A newer minor that needs nothing newer: loaded, its struct read as far as this agent
         * knows it (a newer plugin's struct is larger). */
        p = good();
        p.abi_version = ZERO_PLUGIN_ABI_MAKE(ZERO_PLUGIN_ABI_MAJOR, ZERO_PLUGIN_ABI_MINOR + 5);
        p.size = sizeof(struct zero_plugin) + 64;
        assert_int_equal(zero_plugin_abi_check(&p, &err), 0);
        /* ... that needs what came after this agent's minor: refused, saying which. */
        p.abi_minor_needed = ZERO_PLUGIN_ABI_MINOR + 1;
        assert_int_equal(zero_plugin_abi_check(&p, &err), -EPROTONOSUPPORT);
        char expect[64];
        snprintf(expect, sizeof(expect), "it needs %d.%d or later", ZERO_PLUGIN_ABI_MAJOR, ZERO_PLUGIN_ABI_MINOR + 1);
        assert_non_null(strstr(err.message, expect));
        /* Needing exactly this agent's minor is fine. */
        p.abi_minor_needed = ZERO_PLUGIN_ABI_MINOR;
        assert_int_equal(zero_plugin_abi_check(&p, &err), 0);

        /* An older minor is loaded as long as its struct holds the ops the agent must call. */
        p = good();
        p.size = offsetof(struct zero_plugin, ops) + offsetof(struct zero_plugin_ops, cleanup) + sizeof(void *);
        assert_int_equal(zero_plugin_abi_check(&p, &err), 0);
        assert_false(ZERO_PLUGIN_HAS(&p, boot)); /* set, but past its size: not called */
        p.size -= sizeof(void *);
        assert_int_equal(zero_plugin_abi_check(&p, &err), -EPROTONOSUPPORT);
        assert_non_null(strstr(err.message, "incomplete"));
        p = good();
        p.ops.kill = NULL;
        assert_int_equal(zero_plugin_abi_check(&p, &err), -EPROTONOSUPPORT);
}

static void test_mode_names(void **state) {
        struct zero_error err = {};
        struct zero_plugin p = good();
        const char *bad[] = {"", "Vm", "1vm", "v m", "vm/x", "v\"m", "abcdefghijklmnopqrstuvwxyz0123456"};
        const char *ok[] = {"vm", "bms", "my-runtime_2", "abcdefghijklmnopqrstuvwxyz012345"};

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                p.mode = bad[i];
                assert_int_equal(zero_plugin_abi_check(&p, &err), -EINVAL);
        }
        p.mode = NULL;
        assert_int_equal(zero_plugin_abi_check(&p, &err), -EPROTONOSUPPORT);
        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
                p.mode = ok[i];
                assert_int_equal(zero_plugin_abi_check(&p, &err), 0);
        }
}

static void test_modes_list(void **state) {
        struct zero_plugin a = good(), b = good(), c = good();
        struct zero_loaded_plugin items[3] = {{.plugin = &a}, {.plugin = &b}, {.plugin = &c}};
        struct zero_plugin_set set = {.items = items};
        char buf[64];

        a.mode = "container";
        b.mode = "vm";
        c.mode = "bms";
        assert_string_equal(zero_plugins_modes(NULL, buf, sizeof(buf)), "");
        assert_string_equal(zero_plugins_modes(&set, buf, sizeof(buf)), "");
        set.n = 1;
        assert_string_equal(zero_plugins_modes(&set, buf, sizeof(buf)), "container");
        set.n = 2;
        assert_string_equal(zero_plugins_modes(&set, buf, sizeof(buf)), "container or vm");
        set.n = 3;
        assert_string_equal(zero_plugins_modes(&set, buf, sizeof(buf)), "container, vm or bms");
        assert_string_equal(zero_plugins_modes(&set, buf, 12), "container, "); /* cut, terminated */
        assert_ptr_equal(zero_plugins_find(&set, "vm"), &items[1]);
        assert_null(zero_plugins_find(&set, "ecs"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_load_good_refuse_bad),
                cmocka_unit_test(test_elf_exports),
                cmocka_unit_test(test_missing_dir),
                cmocka_unit_test(test_version_rules),
                cmocka_unit_test(test_mode_names),
                cmocka_unit_test(test_modes_list),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
