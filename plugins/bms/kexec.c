/* SPDX-License-Identifier: Apache-2.0 */
/* The bms plugin's look at the host (kexec.h). */
#include "plugins/bms/kexec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

static enum zero_bms_config read_config(const char *release) {
        char path[128], line[256];
        enum zero_bms_config c = ZERO_BMS_CONFIG_UNSET;
        FILE *f;

        snprintf(path, sizeof(path), "/boot/config-%s", release);
        f = fopen(path, "re");
        if (!f)
                return ZERO_BMS_CONFIG_UNKNOWN;
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, "CONFIG_KEXEC_FILE=y", 19) == 0) {
                        c = ZERO_BMS_CONFIG_SET;
                        break;
                }
        fclose(f);
        return c;
}

void zero_bms_host_detect(struct zero_bms_host *ret) {
        struct utsname u = {};

        ret->kexec_errno = 0;
#ifdef SYS_kexec_file_load
        /* Bad fds on purpose: the answer says whether the syscall is there, and loads nothing. */
        if (syscall(SYS_kexec_file_load, -1, -1, 0UL, NULL, 0UL) < 0)
                ret->kexec_errno = errno;
        else
                ret->kexec_errno = EBADF; /* cannot happen with fd -1; count it as present */
#endif
        ret->kexec_loaded_file = access("/sys/kernel/kexec_loaded", F_OK) == 0;
        (void) uname(&u);
        snprintf(ret->release, sizeof(ret->release), "%s", u.release);
        ret->config = read_config(ret->release);
}

/* Appends "; " and what fmt says to buf. */
__attribute__((format(printf, 3, 4))) static void add(char *buf, size_t size, const char *fmt, ...) {
        size_t len = strlen(buf);
        va_list ap;

        if (len > 0 && len + 2 < size) {
                memcpy(buf + len, "; ", 3);
                len += 2;
        }
        if (len >= size)
                return;
        va_start(ap, fmt);
        vsnprintf(buf + len, size - len, fmt, ap);
        va_end(ap);
}

static const char *config_evidence(enum zero_bms_config c) {
        switch (c) {
        case ZERO_BMS_CONFIG_SET:
                return ", though its config has CONFIG_KEXEC_FILE=y";
        case ZERO_BMS_CONFIG_UNSET:
                return ": its config has no CONFIG_KEXEC_FILE=y";
        default:
                return "";
        }
}

bool zero_bms_decide(const struct zero_bms_host *h, char *reason, size_t reason_size, char *runtime,
                     size_t runtime_size) {
        bool ok = true;

        if (reason_size > 0)
                reason[0] = '\0';
        if (!h->card_outlives_host) {
                add(reason, reason_size,
                    "the card does not outlive the host's kernel (the softcard runs on it): a tenant's volumes "
                    "and NICs would go with the kexec");
                ok = false;
        }
        switch (h->kexec_errno) {
        case EBADF:
                break;
        case 0:
                add(reason, reason_size, "kexec_file_load has no system call number on this architecture");
                ok = false;
                break;
        case ENOSYS:
                add(reason, reason_size, "kernel %s has no kexec_file_load (ENOSYS)%s%s", h->release,
                    config_evidence(h->config),
                    h->kexec_loaded_file ? "" : ", nor kexec at all (no /sys/kernel/kexec_loaded)");
                ok = false;
                break;
        case EPERM:
                add(reason, reason_size,
                    "kexec_file_load is refused to zerod (EPERM: no CAP_SYS_BOOT, kernel.kexec_load_disabled, or "
                    "lockdown)");
                ok = false;
                break;
        default:
                add(reason, reason_size, "kexec_file_load answered %s", strerror(h->kexec_errno));
                ok = false;
        }
        if (runtime_size > 0)
                snprintf(runtime, runtime_size, "%sLinux %s", h->kexec_errno == EBADF ? "kexec_file_load, " : "",
                         h->release);
        return ok;
}
