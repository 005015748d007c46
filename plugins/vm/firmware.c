/* SPDX-License-Identifier: Apache-2.0 */
/* The firmware files QEMU needs for the plugin's VMs (firmware.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "plugins/vm/firmware.h"

static const struct {
        const char *file;
        const char *package;
} needed[] = {
        {"bios-256k.bin", "seabios"},
        {"linuxboot_dma.bin", "qemu-system-data"},
        {"kvmvapic.bin", "qemu-system-data"},
};

int zero_vm_firmware_check(const char *qemu, char *ret_reason, size_t size) {
        _cleanup_free_ char *out = NULL;
        char *argv[] = {(char *) qemu, "-L", "help", NULL};
        int r;

        r = zero_run_wait(argv, &out);
        if (r != 0 || !out || !*out) {
                snprintf(ret_reason, size, "%s -L help failed (%s): cannot find its firmware directories", qemu,
                         r < 0 ? strerror(-r) : "no directories");
                return r < 0 ? r : -EIO;
        }
        for (size_t i = 0; i < ELEMENTSOF(needed); i++) {
                bool found = false;
                char *save = NULL, *dirs = strdup(out);

                if (!dirs)
                        return -ENOMEM;
                for (char *d = strtok_r(dirs, "\n", &save); d && !found; d = strtok_r(NULL, "\n", &save)) {
                        _cleanup_free_ char *p = zero_strdup_printf("%s/%s", d, needed[i].file);
                        found = p && access(p, R_OK) == 0;
                }
                free(dirs);
                if (!found) {
                        for (char *c = out; *c; c++)
                                if (*c == '\n' && c[1])
                                        *c = ':';
                        out[strcspn(out, "\n")] = '\0';
                        snprintf(ret_reason, size, "QEMU firmware %s is missing (searched %.120s): install %s",
                                 needed[i].file, out, needed[i].package);
                        return -ENOENT;
                }
        }
        return 0;
}
