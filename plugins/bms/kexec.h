/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * What the bms plugin learns about the host: whether this kernel can load a tenant's kernel with
 * kexec_file_load(2), and whether the card outlives the host's kernel. The decision is a pure
 * function of what was detected (tests/unit/test_bms_probe.c); only zero_bms_host_detect() looks
 * at the system, and it changes nothing there (below).
 */
#include <stdbool.h>
#include <stddef.h>

enum zero_bms_config {
        ZERO_BMS_CONFIG_UNKNOWN, /* no kernel config to read (/boot/config-RELEASE) */
        ZERO_BMS_CONFIG_SET,     /* CONFIG_KEXEC_FILE=y */
        ZERO_BMS_CONFIG_UNSET,   /* the config is there, without CONFIG_KEXEC_FILE=y */
};

struct zero_bms_host {
        /* What kexec_file_load(-1, -1, 0, NULL, 0) answered: EBADF where the syscall exists and
         * zerod may use it (the kernel looked for the fds, so it got past the permission check),
         * EPERM where it exists but is not permitted (no CAP_SYS_BOOT, kexec_load_disabled,
         * lockdown), ENOSYS where this kernel has none; 0 where this architecture has no number
         * for it. */
        int kexec_errno;
        bool kexec_loaded_file;      /* /sys/kernel/kexec_loaded exists: the kernel has kexec at all */
        enum zero_bms_config config; /* the kernel's own build config, as further evidence */
        char release[65];            /* uname -r */
        bool card_outlives_host;     /* the card's capability (plugin.h, ZERO_PLUGIN_CARD_OUTLIVES_HOST) */
};

/* Fills what it can find of the host into ret (card_outlives_host is the caller's). The probe of
 * the syscall passes no file and no flag: the kernel refuses it before it allocates an image, and
 * an image loaded already stays loaded (only KEXEC_FILE_UNLOAD would drop it). */
void zero_bms_host_detect(struct zero_bms_host *ret);

/* Whether a bms instance can run on such a host: true, or false with every reason that stands
 * in the way in reason ("; " between them, the card's first). runtime gets what is in use. */
bool zero_bms_decide(const struct zero_bms_host *h, char *reason, size_t reason_size, char *runtime,
                     size_t runtime_size);

/* The tenant's kernel command line for info (bms.c), into ret: -errno with err. */
struct zero_instance_info;
struct zero_error;
int zero_bms_cmdline(const struct zero_instance_info *info, char *ret, size_t size, struct zero_error *err);
