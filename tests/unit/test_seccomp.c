/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of plugins/container/seccomp.c: the profile's shape per capability set and
 * architecture, and the compiled program's behaviour, loaded into a child process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/util.h"
#include "plugins/container/seccomp.h"
#include "tests/unit/skip.h"

/* What a default container gets: no CAP_SYS_ADMIN, CAP_SYS_CHROOT yes (oci.c). */
static const char *const default_caps[] = {"CAP_CHOWN", "CAP_KILL", "CAP_SETUID", "CAP_SETGID", "CAP_SYS_CHROOT", NULL};
static const char *const admin_caps[] = {"CAP_SYS_ADMIN", "CAP_SYS_PTRACE", NULL};

/* The rules naming syscall, and how many of them there are. */
static size_t rules_naming(json_t *profile, const char *syscall, json_t **ret_last) {
        json_t *rule, *name;
        size_t i, j, n = 0;

        json_array_foreach(json_object_get(profile, "syscalls"), i, rule) json_array_foreach(json_object_get(rule, "names"), j, name) if (streq(json_string_value(name), syscall)) {
                n++;
                if (ret_last)
                        *ret_last = rule;
        }
        return n;
}

static json_t *arg0(json_t *rule) {
        return json_array_get(json_object_get(rule, "args"), 0);
}

static void test_default_container(void **state) {
        json_auto_t *p = zero_seccomp_profile_new(ZERO_SECCOMP_ARCH_X86_64, default_caps);
        json_t *r = NULL, *arches;

        assert_non_null(p);
        assert_string_equal(json_string_value(json_object_get(p, "defaultAction")), "SCMP_ACT_ERRNO");
        assert_int_equal(json_integer_value(json_object_get(p, "defaultErrnoRet")), 1);
        arches = json_object_get(p, "architectures");
        assert_int_equal(json_array_size(arches), 3);
        assert_string_equal(json_string_value(json_array_get(arches, 0)), "SCMP_ARCH_X86_64");
        assert_string_equal(json_string_value(json_array_get(arches, 1)), "SCMP_ARCH_X86");
        assert_string_equal(json_string_value(json_array_get(arches, 2)), "SCMP_ARCH_X32");

        assert_int_equal(rules_naming(p, "read", NULL), 1);
        assert_int_equal(rules_naming(p, "arch_prctl", NULL), 1);
        assert_int_equal(rules_naming(p, "chroot", NULL), 1);       /* CAP_SYS_CHROOT */
        assert_int_equal(rules_naming(p, "ptrace", NULL), 1);       /* the kernel >= 4.8 rule only */
        /* Nothing CAP_SYS_ADMIN unlocks: no new namespaces, no mounts. */
        for (const char *const *s = (const char *const[]){"mount", "umount2", "unshare", "setns", "fsopen", "bpf",
                                                           "kcmp", "reboot", "init_module", "arm_fadvise64_64", NULL};
             *s; s++)
                assert_int_equal(rules_naming(p, *s, NULL), 0);
        assert_int_equal(rules_naming(p, "clone", &r), 1);
        assert_string_equal(json_string_value(json_object_get(arg0(r), "op")), "SCMP_CMP_MASKED_EQ");
        assert_int_equal(json_integer_value(json_object_get(arg0(r), "value")), 0x7E020000);
        assert_int_equal(json_integer_value(json_object_get(arg0(r), "valueTwo")), 0);
        assert_int_equal(rules_naming(p, "clone3", &r), 1);
        assert_string_equal(json_string_value(json_object_get(r, "action")), "SCMP_ACT_ERRNO");
        assert_int_equal(json_integer_value(json_object_get(r, "errnoRet")), 38);
        assert_int_equal(rules_naming(p, "socket", &r), 1);
        assert_string_equal(json_string_value(json_object_get(arg0(r), "op")), "SCMP_CMP_NE");
        assert_int_equal(json_integer_value(json_object_get(arg0(r), "value")), 40);
        assert_int_equal(rules_naming(p, "personality", NULL), 5);
}

static void test_capabilities_unlock(void **state) {
        json_auto_t *p = zero_seccomp_profile_new(ZERO_SECCOMP_ARCH_X86_64, admin_caps);
        json_t *r = NULL;

        assert_non_null(p);
        assert_int_equal(rules_naming(p, "mount", NULL), 1);
        assert_int_equal(rules_naming(p, "unshare", NULL), 1);
        assert_int_equal(rules_naming(p, "setns", NULL), 1);
        assert_int_equal(rules_naming(p, "kcmp", NULL), 1);
        assert_int_equal(rules_naming(p, "chroot", NULL), 0); /* no CAP_SYS_CHROOT here */
        /* clone and clone3 are allowed outright, the conditional rules are gone. */
        assert_int_equal(rules_naming(p, "clone", &r), 1);
        assert_null(json_object_get(r, "args"));
        assert_int_equal(rules_naming(p, "clone3", &r), 1);
        assert_string_equal(json_string_value(json_object_get(r, "action")), "SCMP_ACT_ALLOW");
}

static void test_aarch64(void **state) {
        json_auto_t *p = zero_seccomp_profile_new(ZERO_SECCOMP_ARCH_AARCH64, default_caps);
        json_t *arches;

        assert_non_null(p);
        arches = json_object_get(p, "architectures");
        assert_int_equal(json_array_size(arches), 2);
        assert_string_equal(json_string_value(json_array_get(arches, 0)), "SCMP_ARCH_AARCH64");
        assert_string_equal(json_string_value(json_array_get(arches, 1)), "SCMP_ARCH_ARM");
        assert_int_equal(rules_naming(p, "arm_fadvise64_64", NULL), 1);
        assert_int_equal(rules_naming(p, "arch_prctl", NULL), 0);
        assert_null(zero_seccomp_profile_new((enum zero_seccomp_arch) 99, default_caps));
}

static int b64_value(char c) {
        static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const char *p = c ? strchr(tbl, c) : NULL;
        return p ? (int) (p - tbl) : -1;
}

static size_t b64_decode(const char *s, unsigned char *out) {
        size_t n = 0;
        uint32_t acc = 0;
        int bits = 0;

        for (; *s && *s != '='; s++) {
                acc = acc << 6 | (uint32_t) b64_value(*s);
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        out[n++] = (unsigned char) (acc >> bits);
                }
        }
        return n;
}

/* In the child: each check that fails exits with its own code. */
static int run_filtered(const char *bpf) {
        static unsigned char prog_buf[65536];
        struct sock_fprog prog = {.len = (unsigned short) (b64_decode(bpf, prog_buf) / 8),
                                  .filter = (struct sock_filter *) prog_buf};
        pid_t pid;
        int status, fd;

        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
                return 10;
        if (getpid() <= 0 || write(-1, "", 0) != -1 || errno != EBADF)
                return 11;
        if (unshare(CLONE_NEWUSER) != -1 || errno != EPERM)
                return 12;
        if (unshare(CLONE_NEWNS) != -1 || errno != EPERM)
                return 13;
        if (mount("none", "/tmp", "tmpfs", 0, NULL) != -1 || errno != EPERM)
                return 14;
        if (syscall(SYS_clone3, NULL, 0) != -1 || errno != ENOSYS)
                return 15;
        if (personality(0xffffffff) == -1 || personality(PER_BSD) != -1 || errno != EPERM)
                return 16;
        if ((fd = socket(AF_VSOCK, SOCK_STREAM, 0)) != -1 || errno != EPERM)
                return 17;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return 18;
        close(fd);
        /* fork() is clone() without namespace flags: allowed. */
        pid = fork();
        if (pid == 0)
                _exit(0);
        if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
                return 19;
        return 0;
}

static void test_compiled_program_behaves(void **state) {
        _cleanup_free_ char *bpf = NULL;
        pid_t pid;
        int status;

        if (ZERO_SECCOMP_ARCH_NATIVE == ZERO_SECCOMP_ARCH_OTHER)
                zero_skip("no seccomp architecture of ours on this machine: skipped\n");
        assert_int_equal(zero_seccomp_bpf_base64(default_caps, &bpf), 0);
        assert_true(strlen(bpf) < 65536 / 3 * 4);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
                _exit(run_filtered(bpf));
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_default_container),
                cmocka_unit_test(test_capabilities_unlock),
                cmocka_unit_test(test_aarch64),
                cmocka_unit_test(test_compiled_program_behaves),
        };
        return zero_tests_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
