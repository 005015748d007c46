/* SPDX-License-Identifier: Apache-2.0 */
/* A guest's architecture from its kernel's boot header (arch.h). */
#include "plugins/vm/arch.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "common/macro.h"

#define X86_MAGIC_OFFSET 0x202
#define ARM64_MAGIC_OFFSET 0x38
#define HEADER_SIZE 0x240

const char *zero_vm_arch_name(enum zero_vm_arch a) {
        switch (a) {
        case ZERO_VM_ARCH_X86_64:
                return "x86_64";
        case ZERO_VM_ARCH_AARCH64:
                return "aarch64";
        default:
                return "unknown";
        }
}

enum zero_vm_arch zero_vm_arch_host(void) {
#if defined(__x86_64__)
        return ZERO_VM_ARCH_X86_64;
#elif defined(__aarch64__)
        return ZERO_VM_ARCH_AARCH64;
#else
        return ZERO_VM_ARCH_UNKNOWN;
#endif
}

enum zero_vm_arch zero_vm_arch_of_header(const unsigned char *buf, size_t n) {
        if (n >= ARM64_MAGIC_OFFSET + 4 && memcmp(buf + ARM64_MAGIC_OFFSET, "ARM\x64", 4) == 0)
                return ZERO_VM_ARCH_AARCH64;
        if (n >= X86_MAGIC_OFFSET + 4 && memcmp(buf + X86_MAGIC_OFFSET, "HdrS", 4) == 0)
                return ZERO_VM_ARCH_X86_64;
        return ZERO_VM_ARCH_UNKNOWN;
}

int zero_vm_arch_of_kernel(const char *path, enum zero_vm_arch *ret) {
        unsigned char buf[HEADER_SIZE];
        size_t n = 0;
        int fd, r = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        while (n < sizeof(buf)) {
                ssize_t k = read(fd, buf + n, sizeof(buf) - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        r = -errno;
                        break;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        close(fd);
        if (r < 0)
                return r;
        *ret = zero_vm_arch_of_header(buf, n);
        return *ret == ZERO_VM_ARCH_UNKNOWN ? -ENOEXEC : 0;
}
