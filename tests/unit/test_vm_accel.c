/* SPDX-License-Identifier: Apache-2.0 */
/* plugins/vm/accel.c (the accelerator choice) and firmware.c (the firmware check), with fake
 * QEMUs written as shell scripts, and the firmware check against the real QEMU. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "common/macro.h"
#include "common/util.h"
#include "plugins/vm/accel.h"
#include "plugins/vm/firmware.h"

struct fixture {
        char dir[64];
        char *qemu, *kernel, *cache;
};

/* Every fake answers --version like QEMU; `probe` is the shell run for the boot probe. */
static void write_qemu(struct fixture *f, const char *probe) {
        _cleanup_free_ char *script = zero_strdup_printf(
                "#!/bin/sh\n"
                "if [ \"$1\" = --version ]; then echo 'QEMU emulator version 9.9.9 (fake)'; echo 'Copyright'; exit 0; fi\n"
                "case \" $* \" in *' -accel kvm '*) ;; *) echo 'fake: no -accel kvm' >&2; exit 2;; esac\n"
                "echo $$ > %s/qemu.pid\n"
                "%s\n",
                f->dir, probe);
        assert_non_null(script);
        assert_int_equal(zero_write_file_replace(f->qemu, script, strlen(script), 0755), 0);
}

static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof(*f));
        assert_non_null(f);
        snprintf(f->dir, sizeof(f->dir), "/tmp/test_vm_accel.XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        f->qemu = zero_strdup_printf("%s/qemu", f->dir);
        f->kernel = zero_strdup_printf("%s/vmlinuz", f->dir);
        f->cache = zero_strdup_printf("%s/accel.cache", f->dir);
        assert_true(f->qemu && f->kernel && f->cache);
        assert_int_equal(zero_write_file_replace(f->kernel, "MZ fake kernel", 14, 0644), 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;
        assert_int_equal(zero_rm_rf(f->dir), 0);
        free(f->qemu);
        free(f->kernel);
        free(f->cache);
        free(f);
        return 0;
}

static struct zero_vm_accel_args args(const struct fixture *f, const char *requested) {
        return (struct zero_vm_accel_args){.qemu = f->qemu, .requested = requested, .kernel = f->kernel,
                                           .cache_path = f->cache, .timeout_usec = 5 * USEC_PER_SEC,
                                           .kvm_dev = "/dev/null"};
}

/* Gone: no such pid, or a zombie left to its reaper (for a grandchild, not ours to reap). */
static bool process_gone(pid_t pid) {
        for (int i = 0; i < 200; i++) {
                char path[64], state = 0;
                _cleanup_free_ char *stat = NULL;
                if (kill(pid, 0) < 0 && errno == ESRCH)
                        return true;
                snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
                if (zero_read_file(path, 4096, &stat, NULL) >= 0 && strrchr(stat, ')'))
                        state = strrchr(stat, ')')[2];
                if (state == 'Z' || state == 'X')
                        return true;
                usleep(10000);
        }
        return false;
}

static pid_t read_pid(const struct fixture *f, const char *name) {
        _cleanup_free_ char *path = zero_strdup_printf("%s/%s", f->dir, name), *s = NULL;
        int64_t pid;
        assert_int_equal(zero_read_file(path, 64, &s, NULL), 0);
        s[strcspn(s, "\n")] = '\0';
        assert_int_equal(zero_parse_int64(s, 1, INT32_MAX, &pid), 0);
        return (pid_t) pid;
}

static void test_explicit(void **state) {
        struct fixture *f = *state;
        struct zero_vm_accel_args a = args(f, "kvm");
        char accel[8], reason[256] = "x";

        /* No fake QEMU exists: explicit choices run nothing. */
        assert_int_equal(zero_vm_accel_choose(&a, accel, sizeof(accel), reason, sizeof(reason)), 0);
        assert_string_equal(accel, "kvm");
        assert_string_equal(reason, "");
        a.requested = "tcg";
        assert_int_equal(zero_vm_accel_choose(&a, accel, sizeof(accel), reason, sizeof(reason)), 0);
        assert_string_equal(accel, "tcg");
        a.requested = "fast";
        assert_int_equal(zero_vm_accel_choose(&a, accel, sizeof(accel), reason, sizeof(reason)), -EINVAL);
        a.requested = "kvm";
        assert_int_equal(zero_vm_accel_choose(&a, accel, 3, reason, sizeof(reason)), -EINVAL);
        assert_int_equal(zero_vm_accel_choose(NULL, accel, sizeof(accel), reason, sizeof(reason)), -EINVAL);
}

static void test_no_kvm_dev(void **state) {
        struct fixture *f = *state;
        struct zero_vm_accel_args a = args(f, "auto");
        char accel[8], reason[256];

        a.kvm_dev = "/nonexistent/kvm";
        assert_int_equal(zero_vm_accel_choose(&a, accel, sizeof(accel), reason, sizeof(reason)), 0);
        assert_string_equal(accel, "tcg");
        assert_non_null(strstr(reason, "no usable /nonexistent/kvm: No such file or directory"));
}

static void test_no_kernel(void **state) {
        struct fixture *f = *state;
        struct zero_vm_accel_args a = args(f, "auto");
        char accel[8], reason[256];

        a.kernel = NULL;
        assert_int_equal(zero_vm_accel_choose(&a, accel, sizeof(accel), reason, sizeof(reason)), 0);
        assert_string_equal(accel, "tcg");
        assert_non_null(strstr(reason, "no kernel to probe KVM with"));
        assert_int_equal(access(f->cache, F_OK), -1); /* not cached */
}

static void test_boots_and_caches(void **state) {
        struct fixture *f = *state;
        struct zero_vm_accel_args a = args(f, "auto");
        _cleanup_free_ char *cache = NULL;
        char accel[8], reason[256];

        write_qemu(f, "echo 'Linux version 6.1.0'; echo '[    1.23] Kernel panic - not syncing: VFS: Unable to mount "
                      "root fs on unknown-block(0,0)'; exit 0");
        assert_int_equal(zero_vm_accel_choose(&a, accel, sizeof(accel), reason, sizeof(reason)), 0);
        assert_string_equal(accel, "kvm");
        assert_string_equal(reason, "");
        assert_int_equal(zero_read_file(f->cache, 4096, &cache, NULL), 0);
        assert_non_null(strstr(cache, "version=QEMU emulator version 9.9.9 (fake)\n"));
        assert_non_null(strstr(cache, "accel=kvm\n"));

        /* The same QEMU and kernel, but a probe that would now fail: the cache answers. */
        write_qemu(f, "echo 'fake: must not probe again' >&2; exit 1");
        assert_int_equal(zero_vm_accel_choose(&a, accel, sizeof(accel), reason, sizeof(reason)), 0);
        assert_string_equal(accel, "kvm");

        /* A different kernel (size and mtime) is a different key: probed again. */
        assert_int_equal(zero_write_file_replace(f->kernel, "MZ another fake kernel", 22, 0644), 0);
        assert_int_equal(zero_vm_accel_choose(&a, accel, sizeof(accel), reason, sizeof(reason)), 0);
        assert_string_equal(accel, "tcg");
        assert_non_null(strstr(reason, "fake: must not probe again"));
}

static void test_hang_is_bounded(void **state) {
        struct fixture *f = *state;
        struct zero_vm_accel_args a = args(f, "auto");
        char accel[8], reason[256];

        /* A grandchild too, as a wrapper would have: the whole group must go. */
        write_qemu(f, "echo 'Linux version 6.1.0'; sleep 60 & echo $! > $(dirname $0)/sleep.pid; wait");
        a.timeout_usec = USEC_PER_SEC;
        uint64_t start = zero_monotonic_usec();
        assert_int_equal(zero_vm_accel_choose(&a, accel, sizeof(accel), reason, sizeof(reason)), 0);
        uint64_t elapsed = zero_monotonic_usec() - start;
        assert_string_equal(accel, "tcg");
        assert_string_equal(reason, "KVM boot probe: the guest did not boot within 1.0 s (nested KVM?)");
        assert_true(elapsed >= USEC_PER_SEC);
        assert_true(elapsed < 3 * USEC_PER_SEC);

        pid_t qemu = read_pid(f, "qemu.pid"), sleeper = read_pid(f, "sleep.pid");
        assert_int_equal(kill(qemu, 0), -1); /* our child, reaped: not even a zombie */
        assert_int_equal(errno, ESRCH);
        assert_true(process_gone(sleeper));
}

static void test_qemu_fails(void **state) {
        struct fixture *f = *state;
        struct zero_vm_accel_args a = args(f, "auto");
        char accel[8], reason[256];

        write_qemu(f, "echo 'qemu-system-x86_64: -accel kvm: failed to initialize kvm: Permission denied' >&2; exit 1");
        assert_int_equal(zero_vm_accel_choose(&a, accel, sizeof(accel), reason, sizeof(reason)), 0);
        assert_string_equal(accel, "tcg");
        assert_string_equal(reason, "KVM boot probe: QEMU exited with status 1: qemu-system-x86_64: -accel kvm: "
                                    "failed to initialize kvm: Permission denied");
}

/* The firmware is looked for in the directories QEMU names (-L help), file by file. */
static void test_firmware(void **state) {
        struct fixture *f = *state;
        _cleanup_free_ char *fw = zero_strdup_printf("%s/fw", f->dir), *script = NULL, *p = NULL;
        char reason[256] = "";

        assert_non_null(fw);
        assert_int_equal(zero_mkdir_p(fw, 0755), 0);
        script = zero_strdup_printf("#!/bin/sh\n[ \"$*\" = '-L help' ] && printf '%%s\\n' %s/none %s\n", f->dir, fw);
        assert_non_null(script);
        assert_int_equal(zero_write_file_replace(f->qemu, script, strlen(script), 0755), 0);
        assert_int_equal(zero_vm_firmware_check(f->qemu, reason, sizeof(reason)), -ENOENT);
        assert_non_null(strstr(reason, "bios-256k.bin is missing"));
        assert_non_null(strstr(reason, "install seabios"));
        assert_non_null(strstr(reason, "/none:"));
        p = zero_strdup_printf("%s/bios-256k.bin", fw);
        assert_int_equal(zero_write_file_replace(p, "x", 1, 0644), 0);
        assert_int_equal(zero_vm_firmware_check(f->qemu, reason, sizeof(reason)), -ENOENT);
        assert_non_null(strstr(reason, "linuxboot_dma.bin is missing"));
        assert_non_null(strstr(reason, "install qemu-system-data"));
        for (const char *const *n = (const char *const[]){"linuxboot_dma.bin", "kvmvapic.bin", NULL}; *n; n++) {
                free(p);
                p = zero_strdup_printf("%s/%s", fw, *n);
                assert_int_equal(zero_write_file_replace(p, "x", 1, 0644), 0);
        }
        assert_int_equal(zero_vm_firmware_check(f->qemu, reason, sizeof(reason)), 0);
        /* a QEMU that cannot say where its firmware is */
        assert_int_equal(zero_vm_firmware_check("/nonexistent/qemu", reason, sizeof(reason)), -EIO);
        assert_non_null(strstr(reason, "-L help failed"));
        /* the real one has what the plugin's VMs need (the tests boot them) */
        assert_int_equal(zero_vm_firmware_check("qemu-system-x86_64", reason, sizeof(reason)), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_explicit, setup, teardown),
                cmocka_unit_test_setup_teardown(test_no_kvm_dev, setup, teardown),
                cmocka_unit_test_setup_teardown(test_no_kernel, setup, teardown),
                cmocka_unit_test_setup_teardown(test_boots_and_caches, setup, teardown),
                cmocka_unit_test_setup_teardown(test_hang_is_bounded, setup, teardown),
                cmocka_unit_test_setup_teardown(test_qemu_fails, setup, teardown),
                cmocka_unit_test_setup_teardown(test_firmware, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
