/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bms plugin's probe (plugins/bms/kexec.c): the decision from what was found, for each thing
 * that stands in the way, and the detection on this machine (which must agree with the kernel's
 * own evidence and load nothing).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/util.h"
#include "plugins/bms/kexec.h"
#include "zero/plugin.h"

static struct zero_bms_host host(int kexec_errno, bool card) {
        struct zero_bms_host h = {.kexec_errno = kexec_errno, .kexec_loaded_file = true,
                                  .config = ZERO_BMS_CONFIG_UNKNOWN, .card_outlives_host = card};
        strcpy(h.release, "6.1.0-test");
        return h;
}

static void test_available(void **state) {
        struct zero_bms_host h = host(EBADF, true);
        char reason[256], runtime[128];

        assert_true(zero_bms_decide(&h, reason, sizeof(reason), runtime, sizeof(runtime)));
        assert_string_equal(reason, "");
        assert_string_equal(runtime, "kexec_file_load, Linux 6.1.0-test");
}

/* The softcard: the card's reason, whatever the kernel can do. */
static void test_card_dies_with_host(void **state) {
        struct zero_bms_host h = host(EBADF, false);
        char reason[256], runtime[128];

        assert_false(zero_bms_decide(&h, reason, sizeof(reason), runtime, sizeof(runtime)));
        assert_string_equal(reason, "the card does not outlive the host's kernel (the softcard runs on it): a "
                                    "tenant's volumes and NICs would go with the kexec");
}

static void test_kernel(void **state) {
        static const struct {
                int e;
                enum zero_bms_config config;
                bool kexec_loaded;
                const char *reason;
        } cases[] = {
                {ENOSYS, ZERO_BMS_CONFIG_UNKNOWN, true, "kernel 6.1.0-test has no kexec_file_load (ENOSYS)"},
                {ENOSYS, ZERO_BMS_CONFIG_UNSET, false,
                 "kernel 6.1.0-test has no kexec_file_load (ENOSYS): its config has no CONFIG_KEXEC_FILE=y, nor "
                 "kexec at all (no /sys/kernel/kexec_loaded)"},
                {ENOSYS, ZERO_BMS_CONFIG_SET, true,
                 "kernel 6.1.0-test has no kexec_file_load (ENOSYS), though its config has CONFIG_KEXEC_FILE=y"},
                {EPERM, ZERO_BMS_CONFIG_SET, true,
                 "kexec_file_load is refused to zerod (EPERM: no CAP_SYS_BOOT, kernel.kexec_load_disabled, or "
                 "lockdown)"},
                {0, ZERO_BMS_CONFIG_UNKNOWN, true, "kexec_file_load has no system call number on this architecture"},
                {EINVAL, ZERO_BMS_CONFIG_UNKNOWN, true, "kexec_file_load answered Invalid argument"},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct zero_bms_host h = host(cases[i].e, true);
                char reason[256], runtime[128];

                h.config = cases[i].config;
                h.kexec_loaded_file = cases[i].kexec_loaded;
                assert_false(zero_bms_decide(&h, reason, sizeof(reason), runtime, sizeof(runtime)));
                assert_string_equal(reason, cases[i].reason);
                assert_string_equal(runtime, "Linux 6.1.0-test");
        }
}

/* Both at once: the card's first, then the kernel's; a short buffer is cut, not overrun. */
static void test_both_and_short(void **state) {
        struct zero_bms_host h = host(ENOSYS, false);
        char reason[256], runtime[128], tiny[16];

        assert_false(zero_bms_decide(&h, reason, sizeof(reason), runtime, sizeof(runtime)));
        assert_non_null(strstr(reason, "the card does not outlive the host's kernel"));
        assert_non_null(strstr(reason, "; kernel 6.1.0-test has no kexec_file_load (ENOSYS)"));
        assert_false(zero_bms_decide(&h, tiny, sizeof(tiny), runtime, 8));
        assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
        assert_int_equal(strlen(runtime), 7);
}

/* /sys/kernel/kexec_loaded's digit, or '-' where the kernel has no kexec. */
static char kexec_loaded(void) {
        char buf[8] = "-";
        FILE *f = fopen("/sys/kernel/kexec_loaded", "re");

        if (f) {
                if (!fgets(buf, sizeof(buf), f))
                        buf[0] = '?';
                fclose(f);
        }
        return buf[0];
}

/* On this machine: the syscall's answer agrees with the kernel's other evidence (a kernel without
 * kexec has no /sys/kernel/kexec_loaded and no kexec_file_load), and the probe loads nothing. */
static void test_detect_here(void **state) {
        struct zero_bms_host h = {};
        char before = kexec_loaded();

        zero_bms_host_detect(&h);
        assert_true(h.release[0] != '\0');
        assert_int_equal(h.kexec_loaded_file, before != '-');
        if (h.kexec_errno == ENOSYS)
                assert_int_not_equal(h.config, ZERO_BMS_CONFIG_SET);
        if (!h.kexec_loaded_file)
                assert_int_not_equal(h.kexec_errno, EBADF);
        assert_int_equal(kexec_loaded(), before);
        print_message("this machine: kexec_file_load %s, kexec_loaded %c, config %d, kernel %s\n",
                      h.kexec_errno ? strerror(h.kexec_errno) : "(no number)", before, (int) h.config, h.release);
}


/* The tenant's kernel command line (bms.so's ops.handover): the root volume by its serial (the
 * card's: the id's first 20 characters), the first NIC by its MAC, the command as base64 of a
 * shell line, as the unified image's init reads them; too long is refused, never cut. */
static void test_cmdline(void **state) {
        const char *argv[] = {"/bin/sh", "-c", "echo hi", NULL};
        struct zero_volume_info vol = {.size = sizeof(vol), .id = "0123456789abcdef0123456789abcdef", .role = "root"};
        struct zero_nic_info nic = {.size = sizeof(nic),
                                    .mac = "02:00:00:00:00:05",
                                    .ip = "10.77.0.5",
                                    .prefixlen = 24,
                                    .gateway = "10.77.0.1"};
        struct zero_instance_info info = {.size = sizeof(info),
                                          .name = "metal",
                                          .argv = argv,
                                          .n_volumes = 1,
                                          .volumes = &vol};
        struct zero_error err = {};
        char line[ZERO_HANDOVER_CMDLINE_MAX], *b64 = zero_base64("exec '/bin/sh' '-c' 'echo hi'", 29);
        char want[512];
        char *big;

        (void) state;
        assert_non_null(b64);
        assert_int_equal(zero_bms_cmdline(&info, line, sizeof(line), &err), 0);
        snprintf(want, sizeof(want),
                 "console=ttyS0 quiet panic=-1 cryptomgr.notests initcall_blacklist=crypto_kdf108_init "
                 "zero.root=serial:0123456789abcdef0123 zero.rootwait=30 zero.cmd=%s",
                 b64);
        assert_string_equal(line, want);
        info.n_nics = 1;
        info.nics = &nic;
        assert_int_equal(zero_bms_cmdline(&info, line, sizeof(line), &err), 0);
        assert_non_null(strstr(line, " zero.ip=10.77.0.5/24 zero.gw=10.77.0.1 zero.mac=02:00:00:00:00:05 "));
        free(b64);
        /* A command whose base64 does not fit */
        big = malloc(3000);
        assert_non_null(big);
        memset(big, 'x', 2999);
        big[2999] = '\0';
        argv[2] = big;
        assert_int_equal(zero_bms_cmdline(&info, line, sizeof(line), &err), -E2BIG);
        assert_non_null(strstr(err.message, "too long"));
        free(big);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_available),   cmocka_unit_test(test_card_dies_with_host),
                cmocka_unit_test(test_kernel),      cmocka_unit_test(test_both_and_short),
                cmocka_unit_test(test_detect_here), cmocka_unit_test(test_cmdline),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
