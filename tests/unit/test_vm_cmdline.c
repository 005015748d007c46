/* SPDX-License-Identifier: Apache-2.0 */
/* plugins/vm/cmdline.c: the QEMU command line of a VM instance. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/macro.h"
#include "common/util.h"
#include "plugins/vm/cmdline.h"

static const char *const argv_sample[] = {"printf", "%s|", "a b", "it's", "$HOME", NULL};
static const char *const env_sample[] = {"GREETING=hi there", "Q=it's", NULL};

static struct zero_instance_info sample(void) {
        return (struct zero_instance_info){
                .size = sizeof(struct zero_instance_info),
                .id = "0123456789abcdef0123456789abcdef",
                .name = "vm1",
                .mode = "vm",
                .cpus = 2,
                .memory_mib = 512,
                .argv = argv_sample,
                .env = env_sample,
                .cwd = "/tmp",
        };
}

static const struct zero_vm_disk disks[] = {
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "virtio-blk", "vhost-user-blk", "/run/zero/card/exports/a.vhost", true},
        {"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "virtio-scsi", "nbd", "nbd+unix:///bbbb?socket=/run/zero/card/qsd/nbd.sock", false},
        {"cccccccccccccccccccccccccccccccc", "nvme", "nbd", "nbd+unix:///cccc?socket=/run/zero/card/qsd/nbd.sock", false},
        {"dddddddddddddddddddddddddddddddd", "virtio-scsi", "nbd", "nbd+unix:///dddd?socket=/run/zero/card/qsd/nbd.sock", false},
};
static const struct zero_vm_nic nics[] = {
        {"zt-0123456789ab", "02:11:22:33:44:55", "10.77.0.5", 24, "10.77.0.1", "eeeeeeeeeeeeeeee0000000000000000"}};

static struct zero_vm_options options(void) {
        return (struct zero_vm_options){"qemu-system-x86_64", "tcg", "/img/vmlinuz", "/img/initrd.img", "/run/i/qmp.sock",
                                        true, ELEMENTSOF(disks), disks, ELEMENTSOF(nics), nics, 2, NULL, false, NULL,
                                        ZERO_VM_ARCH_X86_64, NULL};
}

static size_t count(char **v, const char *s) {
        size_t n = 0;
        for (; *v; v++)
                n += streq(*v, s);
        return n;
}

/* The value after option opt whose value starts with prefix. */
static const char *value(char **v, const char *opt, const char *prefix) {
        for (; v[0] && v[1]; v++)
                if (streq(v[0], opt) && strncmp(v[1], prefix, strlen(prefix)) == 0)
                        return v[1];
        return NULL;
}

static void test_disk_names(void **state) {
        char name[32];

        assert_int_equal(zero_vm_guest_disk_name(disks, 4, 0, name, sizeof(name)), 0);
        assert_string_equal(name, "/dev/vda");
        assert_int_equal(zero_vm_guest_disk_name(disks, 4, 1, name, sizeof(name)), 0);
        assert_string_equal(name, "/dev/sda");
        assert_int_equal(zero_vm_guest_disk_name(disks, 4, 2, name, sizeof(name)), 0);
        assert_string_equal(name, "/dev/nvme0n1");
        assert_int_equal(zero_vm_guest_disk_name(disks, 4, 3, name, sizeof(name)), 0);
        assert_string_equal(name, "/dev/sdb");
        assert_int_equal(zero_vm_guest_disk_name(disks, 4, 4, name, sizeof(name)), -EINVAL);
        struct zero_vm_disk odd = {"x", "floppy", "nbd", "p", true};
        assert_int_equal(zero_vm_guest_disk_name(&odd, 1, 0, name, sizeof(name)), -EINVAL);
}

/* The shell command line, run by a real /bin/sh, gives the argv and environment back exactly. */
static void test_shell_command_roundtrip(void **state) {
        struct zero_instance_info info = sample();
        _cleanup_free_ char *cmd = NULL, *out = NULL;

        assert_int_equal(zero_vm_shell_command(&info, &cmd), 0);
        char *argv[] = {"/bin/sh", "-c", cmd, NULL};
        assert_int_equal(zero_run_wait(argv, &out), 0);
        assert_string_equal(out, "a b|it's|$HOME|");

        static const char *const env_argv[] = {"/bin/sh", "-c", "echo \"$GREETING/$Q/$(pwd)\"", NULL};
        info.argv = env_argv;
        free(cmd);
        cmd = NULL;
        assert_int_equal(zero_vm_shell_command(&info, &cmd), 0);
        char *argv2[] = {"/bin/sh", "-c", cmd, NULL};
        free(out);
        out = NULL;
        assert_int_equal(zero_run_wait(argv2, &out), 0);
        assert_string_equal(out, "hi there/it's//tmp\n");
}

static char *b64decode(const char *s) {
        _cleanup_free_ char *cmd = zero_strdup_printf("printf %%s '%s' | base64 -d", s);
        char *argv[] = {"/bin/sh", "-c", cmd, NULL};
        char *out = NULL;
        assert_int_equal(zero_run_wait(argv, &out), 0);
        return out;
}

/* Every VM runs under QEMU's seccomp sandbox; -runas only when a user is configured. */
static void test_sandbox_and_runas(void **state) {
        struct zero_instance_info info = sample();
        struct zero_vm_options o = options();
        struct zero_error err = {};
        _cleanup_strv_free_ char **argv = NULL;

        assert_int_equal(zero_vm_cmdline(&info, &o, &argv, &err), 0);
        assert_int_equal(count(argv, "-sandbox"), 1);
        assert_string_equal(value(argv, "-sandbox", ""),
                            "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
        assert_int_equal(count(argv, "-runas"), 0);
        strv_free(argv);
        argv = NULL;

        o.run_as = "";
        assert_int_equal(zero_vm_cmdline(&info, &o, &argv, &err), 0);
        assert_int_equal(count(argv, "-runas"), 0);
        strv_free(argv);
        argv = NULL;

        o.run_as = "64055:64055";
        assert_int_equal(zero_vm_cmdline(&info, &o, &argv, &err), 0);
        assert_int_equal(count(argv, "-runas"), 1);
        assert_string_equal(value(argv, "-runas", ""), "64055:64055");
        assert_int_equal(count(argv, "-sandbox"), 1);
        /* QEMU 7.2 drops privileges after loading its filter: set*id must stay allowed. */
        assert_string_equal(value(argv, "-sandbox", ""),
                            "on,obsolete=deny,elevateprivileges=allow,spawn=deny,resourcecontrol=deny");
}

/* The target of a live migration waits for the guest (-incoming defer) and holds it once it has
 * it all (-S: RECEIVE's cont runs it, once the card took the volumes; plugin ABI 4.9). The devices are the same as a start's, or the target could not load their state. */
static void test_incoming(void **state) {
        struct zero_instance_info info = sample();
        struct zero_vm_options o = options();
        struct zero_error err = {};
        _cleanup_strv_free_ char **plain = NULL, **in = NULL;
        size_t n_plain = 0, n_in = 0;

        assert_int_equal(zero_vm_cmdline(&info, &o, &plain, &err), 0);
        o.incoming = true;
        assert_int_equal(zero_vm_cmdline(&info, &o, &in, &err), 0);
        assert_int_equal(count(plain, "-incoming"), 0);
        assert_int_equal(count(plain, "-S"), 1);
        assert_int_equal(count(in, "-incoming"), 1);
        assert_string_equal(value(in, "-incoming", ""), "defer");
        assert_int_equal(count(in, "-S"), 1);
        for (char **a = plain; *a; a++)
                if (strcmp(*a, "-device") == 0)
                        n_plain++;
        for (char **a = in; *a; a++)
                if (strcmp(*a, "-device") == 0)
                        n_in++;
        assert_int_equal(n_in, n_plain);
}

/* An aarch64 guest: the virt machine and the PL011 console; every device the same PCIe one as on
 * q35, on the same root ports. */
static void test_aarch64(void **state) {
        struct zero_instance_info info = sample();
        struct zero_vm_options o = options();
        struct zero_error err = {};
        _cleanup_strv_free_ char **x86 = NULL, **arm = NULL;
        size_t i = 0, j = 0;

        assert_int_equal(zero_vm_cmdline(&info, &o, &x86, &err), 0);
        o.arch = ZERO_VM_ARCH_AARCH64;
        o.qemu = "qemu-system-aarch64";
        assert_int_equal(zero_vm_cmdline(&info, &o, &arm, &err), 0);
        assert_string_equal(arm[0], "qemu-system-aarch64");
        assert_string_equal(value(arm, "-machine", ""), "virt,gic-version=max,memory-backend=mem");
        assert_string_equal(value(x86, "-machine", ""), "q35,memory-backend=mem");
        assert_string_equal(value(arm, "-cpu", ""), "max");
        assert_non_null(strstr(value(arm, "-append", ""), "console=ttyAMA0 "));
        assert_null(strstr(value(arm, "-append", ""), "ttyS0"));
        assert_non_null(strstr(value(x86, "-append", ""), "console=ttyS0 "));
        /* Everything else, devices first, is the same, in the same order. */
        for (; x86[i] && arm[j]; i++, j++) {
                if (streq(x86[i], "-machine") || streq(x86[i], "-append")) {
                        i++, j++;
                        continue;
                }
                if (i == 0)
                        continue;
                assert_string_equal(x86[i], arm[j]);
        }
        assert_null(x86[i]);
        assert_null(arm[j]);
        /* A vTPM: not for aarch64 yet, refused with the reason. */
        _cleanup_strv_free_ char **tpm = NULL;
        o.tpm_socket = "/run/i/swtpm.sock";
        assert_int_equal(zero_vm_cmdline(&info, &o, &tpm, &err), -EOPNOTSUPP);
        assert_null(tpm);
        assert_int_equal(err.code, ZERO_E_INVALID);
        assert_non_null(strstr(err.message, "aarch64"));
}

/* The guest's architecture from its kernel's boot header. */
static void test_kernel_arch(void **state) {
        unsigned char h[0x240] = {};
        char path[] = "/tmp/zero-test-vm-arch.XXXXXX";
        enum zero_vm_arch a = ZERO_VM_ARCH_UNKNOWN;
        int fd;

        assert_int_equal(zero_vm_arch_of_header(h, sizeof(h)), ZERO_VM_ARCH_UNKNOWN);
        memcpy(h + 0x202, "HdrS", 4);
        assert_int_equal(zero_vm_arch_of_header(h, sizeof(h)), ZERO_VM_ARCH_X86_64);
        assert_int_equal(zero_vm_arch_of_header(h, 0x205), ZERO_VM_ARCH_UNKNOWN); /* cut short */
        memset(h, 0, sizeof(h));
        memcpy(h, "MZ", 2);
        memcpy(h + 0x38, "ARM\x64", 4);
        assert_int_equal(zero_vm_arch_of_header(h, sizeof(h)), ZERO_VM_ARCH_AARCH64);
        assert_int_equal(zero_vm_arch_of_header(h, 0x3b), ZERO_VM_ARCH_UNKNOWN);
        assert_string_equal(zero_vm_arch_name(ZERO_VM_ARCH_AARCH64), "aarch64");
        assert_string_equal(zero_vm_arch_name(ZERO_VM_ARCH_X86_64), "x86_64");
        assert_int_not_equal(zero_vm_arch_host(), ZERO_VM_ARCH_UNKNOWN);

        /* From a file: the same, and a short or foreign file is -ENOEXEC, a missing one -ENOENT. */
        fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, h, sizeof(h)), (ssize_t) sizeof(h));
        assert_int_equal(zero_vm_arch_of_kernel(path, &a), 0);
        assert_int_equal(a, ZERO_VM_ARCH_AARCH64);
        assert_int_equal(ftruncate(fd, 0x30), 0);
        assert_int_equal(zero_vm_arch_of_kernel(path, &a), -ENOEXEC);
        close(fd);
        unlink(path);
        assert_int_equal(zero_vm_arch_of_kernel(path, &a), -ENOENT);
}

/* A vTPM: swtpm's socket as a chardev, the emulator backend on it, a tpm-crb device; none
 * without; a socket path with a comma refused (it would split QEMU's option). */
static void test_tpm(void **state) {
        struct zero_instance_info info = sample();
        struct zero_vm_options o = options();
        struct zero_error err = {};
        _cleanup_strv_free_ char **plain = NULL, **tpm = NULL, **bad = NULL;

        assert_int_equal(zero_vm_cmdline(&info, &o, &plain, &err), 0);
        assert_int_equal(count(plain, "-tpmdev"), 0);
        assert_null(value(plain, "-chardev", "socket,id=tpmchr"));
        o.tpm_socket = "/run/i/swtpm.sock";
        assert_int_equal(zero_vm_cmdline(&info, &o, &tpm, &err), 0);
        assert_string_equal(value(tpm, "-chardev", "socket,id=tpmchr"), "socket,id=tpmchr,path=/run/i/swtpm.sock");
        assert_string_equal(value(tpm, "-tpmdev", ""), "emulator,id=tpm0,chardev=tpmchr");
        assert_string_equal(value(tpm, "-device", "tpm-crb"), "tpm-crb,tpmdev=tpm0");
        assert_null(value(tpm, "-fw_cfg", ""));
        strv_free(tpm);
        tpm = NULL;
        o.launch_digest = "/state/i/launch.digest";
        assert_int_equal(zero_vm_cmdline(&info, &o, &tpm, &err), 0);
        assert_string_equal(value(tpm, "-fw_cfg", ""), "name=opt/zero/launch-digest,file=/state/i/launch.digest");
        o.tpm_socket = "/run/i,x/swtpm.sock";
        assert_int_equal(zero_vm_cmdline(&info, &o, &bad, &err), -EINVAL);
        assert_null(bad);
        (void) state;
}

static void test_full_cmdline(void **state) {
        struct zero_instance_info info = sample();
        struct zero_vm_options o = options();
        struct zero_error err = {};
        _cleanup_strv_free_ char **v = NULL;
        _cleanup_free_ char *shell = NULL, *decoded = NULL;
        const char *append, *cmd64;

        assert_int_equal(zero_vm_cmdline(&info, &o, &v, &err), 0);
        assert_string_equal(v[0], "qemu-system-x86_64");
        assert_int_equal(count(v, "-nodefaults"), 1);
        assert_int_equal(count(v, "-S"), 1);
        assert_non_null(value(v, "-accel", "tcg"));
        assert_non_null(value(v, "-cpu", "max"));
        assert_non_null(value(v, "-smp", "2"));
        /* under TCG 8 KiB more (ZERO_VM_TCG_RAM_PAD_KIB) */
        assert_non_null(value(v, "-m", "524296K"));
        assert_non_null(value(v, "-object", "memory-backend-memfd,id=mem,size=524296K,share=on"));
        assert_non_null(value(v, "-qmp", "unix:/run/i/qmp.sock,server=on,wait=off"));
        assert_non_null(value(v, "-kernel", "/img/vmlinuz"));
        assert_non_null(value(v, "-initrd", "/img/initrd.img"));
        /* disks: vhost-user-blk for virtio-blk, NBD blockdevs for SCSI and NVMe, one SCSI bus; ids
         * from the volumes' ids; each PCI device on a root port of its own */
        assert_non_null(value(v, "-chardev", "socket,id=vu-aaaaaaaaaaaaaaaa,path=/run/zero/card/exports/a.vhost"));
        assert_non_null(value(v, "-device", "vhost-user-blk-pci,id=disk-aaaaaaaaaaaaaaaa,chardev=vu-aaaaaaaaaaaaaaaa,"
                                            "num-queues=1,bus=pd-aaaaaaaaaaaaaaaa"));
        assert_non_null(value(v, "-blockdev",
                              "{\"driver\":\"nbd\",\"node-name\":\"nbd-bbbbbbbbbbbbbbbb\",\"export\":\"bbbb\","
                              "\"server\":{\"type\":\"unix\",\"path\":\"/run/zero/card/qsd/nbd.sock\"}}"));
        assert_non_null(value(v, "-device", "scsi-hd,id=disk-bbbbbbbbbbbbbbbb,bus=scsi0.0,drive=nbd-bbbbbbbbbbbbbbbb,"
                                            "serial=bbbbbbbbbbbbbbbbbbbb"));
        assert_non_null(value(v, "-device", "nvme,id=disk-cccccccccccccccc,drive=nbd-cccccccccccccccc,"
                                            "serial=cccccccccccccccccccc,bus=pd-cccccccccccccccc"));
        assert_non_null(value(v, "-device", "scsi-hd,id=disk-dddddddddddddddd,bus=scsi0.0,drive=nbd-dddddddddddddddd"));
        assert_int_equal(count(v, "virtio-scsi-pci,id=scsi0,bus=ps"), 1);
        /* root ports: the SCSI controller's, virtio-blk's, NVMe's, the NIC's and 2 spares, eight
         * functions to a slot from slot 2, with chassis numbers 1.. */
        assert_non_null(value(v, "-device", "pcie-root-port,id=ps,chassis=1,bus=pcie.0,addr=0x2.0x0,multifunction=on"));
        assert_non_null(value(v, "-device", "pcie-root-port,id=pd-aaaaaaaaaaaaaaaa,chassis=2,bus=pcie.0,addr=0x2.0x1"));
        assert_non_null(value(v, "-device", "pcie-root-port,id=pd-cccccccccccccccc,chassis=3,bus=pcie.0,addr=0x2.0x2"));
        assert_non_null(value(v, "-device", "pcie-root-port,id=pn-eeeeeeeeeeeeeeee,chassis=4,bus=pcie.0,addr=0x2.0x3"));
        assert_non_null(value(v, "-device", "pcie-root-port,id=hp0,chassis=5,bus=pcie.0,addr=0x2.0x4"));
        assert_non_null(value(v, "-device", "pcie-root-port,id=hp1,chassis=6,bus=pcie.0,addr=0x2.0x5"));
        assert_null(value(v, "-device", "pcie-root-port,id=hp2"));
        /* a port is on the command line before the device that sits on it */
        for (char **p = v; *p; p++)
                if (strstr(*p, "bus=pd-aaaaaaaaaaaaaaaa"))
                        for (char **q = p; *q; q++)
                                assert_null(strstr(*q, "pcie-root-port,id=pd-aaaaaaaaaaaaaaaa"));
        /* the NIC: a tap with the NIC's MAC */
        assert_non_null(value(v, "-netdev", "tap,id=net-eeeeeeeeeeeeeeee,ifname=zt-0123456789ab,script=no,downscript=no"));
        assert_non_null(value(v, "-device", "virtio-net-pci,id=nic-eeeeeeeeeeeeeeee,netdev=net-eeeeeeeeeeeeeeee,"
                                            "mac=02:11:22:33:44:55,bus=pn-eeeeeeeeeeeeeeee,romfile="));
        /* the kernel command line carries root, network and the command */
        append = value(v, "-append", "console=ttyS0");
        assert_non_null(append);
        assert_non_null(strstr(append, " zero.root=/dev/vda "));
        assert_non_null(strstr(append, " zero.ip=10.77.0.5/24 zero.gw=10.77.0.1 zero.mac=02:11:22:33:44:55 "));
        cmd64 = strstr(append, "zero.cmd=");
        assert_non_null(cmd64);
        assert_null(strchr(cmd64, ' '));
        decoded = b64decode(cmd64 + strlen("zero.cmd="));
        assert_int_equal(zero_vm_shell_command(&info, &shell), 0);
        assert_string_equal(decoded, shell);

        /* kvm: the host's CPU; an SCSI root disk is /dev/sda */
        strv_free(v);
        v = NULL;
        o.accel = "kvm";
        o.disks = disks + 1;
        o.n_disks = 1;
        struct zero_vm_disk root_scsi = disks[1];
        root_scsi.root = true;
        o.disks = &root_scsi;
        o.n_nics = 0;
        o.start_paused = false;
        assert_int_equal(zero_vm_cmdline(&info, &o, &v, &err), 0);
        assert_int_equal(count(v, "-S"), 0);
        assert_non_null(value(v, "-cpu", "host"));
        assert_non_null(value(v, "-m", "512M"));
        assert_non_null(value(v, "-object", "memory-backend-memfd,id=mem,size=512M,share=on"));
        assert_int_equal(count(v, "-no-reboot"), 1);
        append = value(v, "-append", "console=ttyS0");
        assert_non_null(strstr(append, " zero.root=/dev/sda "));
        assert_null(strstr(append, "zero.ip="));
        assert_int_equal(count(v, "-netdev"), 0);
}

static void test_invalid(void **state) {
        struct zero_instance_info info = sample();
        struct zero_vm_options o = options();
        struct zero_error err = {};
        char **v = NULL;

        o.accel = "hvf";
        assert_int_equal(zero_vm_cmdline(&info, &o, &v, &err), -EINVAL);
        assert_non_null(strstr(err.message, "hvf"));
        o = options();
        o.disks = disks + 1; /* no root disk */
        o.n_disks = 3;
        assert_int_equal(zero_vm_cmdline(&info, &o, &v, &err), -EINVAL);
        assert_non_null(strstr(err.message, "root disk"));
        struct zero_vm_disk wrong = {"ffffffffffffffff", "virtio-blk", "nbd", "nbd+unix:///x?socket=/s", true};
        o = options();
        o.disks = &wrong;
        o.n_disks = 1;
        assert_int_equal(zero_vm_cmdline(&info, &o, &v, &err), -EINVAL);
        assert_non_null(strstr(err.message, "vhost-user-blk"));
        struct zero_vm_disk bad_uri = {"ffffffffffffffff", "nvme", "nbd", "/not/a/uri", true};
        o.disks = &bad_uri;
        assert_int_equal(zero_vm_cmdline(&info, &o, &v, &err), -EINVAL);
        assert_non_null(strstr(err.message, "bad NBD export"));
        /* QEMU ids come from the volume's id: a disk without one cannot be named */
        struct zero_vm_disk no_id = {"x", "virtio-blk", "vhost-user-blk", "/s", true};
        o.disks = &no_id;
        assert_int_equal(zero_vm_cmdline(&info, &o, &v, &err), -EINVAL);
        assert_non_null(strstr(err.message, "no volume id"));
        /* a command too long for the kernel's command line */
        char *big = malloc(2000);
        memset(big, 'x', 1999);
        big[1999] = '\0';
        const char *const long_argv[] = {"echo", big, NULL};
        info.argv = long_argv;
        o = options();
        assert_int_equal(zero_vm_cmdline(&info, &o, &v, &err), -E2BIG);
        free(big);
        assert_null(v);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_disk_names),
                cmocka_unit_test(test_shell_command_roundtrip),
                cmocka_unit_test(test_full_cmdline),
                cmocka_unit_test(test_sandbox_and_runas),
                cmocka_unit_test(test_incoming),
                cmocka_unit_test(test_tpm),
                cmocka_unit_test(test_invalid),
                cmocka_unit_test(test_aarch64),
                cmocka_unit_test(test_kernel_arch),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
