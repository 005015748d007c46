/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zero-bms-handover: the host's last act before it is a tenant's (agent/handover.c).
 *
 *   zero-bms-handover load KERNEL INITRD CMDLINE   kexec_file_load(2): the tenant's kernel and
 *                                                  initramfs in memory, to boot with CMDLINE
 *   zero-bms-handover exec                         reboot(LINUX_REBOOT_CMD_KEXEC) into it: no
 *                                                  sync, no unmount (the card has cut the host's
 *                                                  state volume already; zerod made its last
 *                                                  commit durable before that)
 *
 * Static (plugins/bms/CMakeLists.txt): once zerod runs it, nothing it needs lives on a
 * filesystem that could be gone. One line on stderr says what failed; exit 0, or 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/reboot.h>
#include <stdio.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_kexec_file_load
#if defined(__x86_64__)
#define SYS_kexec_file_load 320
#elif defined(__aarch64__)
#define SYS_kexec_file_load 294
#endif
#endif

static int load(const char *kernel, const char *initrd, const char *cmdline) {
#ifdef SYS_kexec_file_load
        int kfd = open(kernel, O_RDONLY | O_CLOEXEC), ifd = open(initrd, O_RDONLY | O_CLOEXEC);

        if (kfd < 0 || ifd < 0) {
                fprintf(stderr, "zero-bms-handover: cannot open %s: %s\n", kfd < 0 ? kernel : initrd, strerror(errno));
                return 1;
        }
        if (syscall(SYS_kexec_file_load, kfd, ifd, strlen(cmdline) + 1, cmdline, 0UL) < 0) {
                fprintf(stderr, "zero-bms-handover: kexec_file_load of %s with %s: %s\n", kernel, initrd,
                        strerror(errno));
                return 1;
        }
        fprintf(stderr, "zero-bms-handover: %s loaded (%zu bytes of command line)\n", kernel, strlen(cmdline));
        return 0;
#else
        fprintf(stderr, "zero-bms-handover: this architecture has no kexec_file_load\n");
        return 1;
#endif
}

int main(int argc, char **argv) {
        if (argc == 5 && strcmp(argv[1], "load") == 0)
                return load(argv[2], argv[3], argv[4]);
        if (argc == 2 && strcmp(argv[1], "exec") == 0) {
                reboot(LINUX_REBOOT_CMD_KEXEC);
                fprintf(stderr, "zero-bms-handover: reboot into the loaded kernel: %s\n", strerror(errno));
                return 1;
        }
        fprintf(stderr, "usage: zero-bms-handover load KERNEL INITRD CMDLINE | exec\n");
        return 2;
}
