/* SPDX-License-Identifier: Apache-2.0 */
/* The tenant's kernel command line (kexec.h), a pure function of the instance. */
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "plugins/bms/kexec.h"
#include "plugins/vm/cmdline.h"
#include "zero/plugin.h"

/* The tenant's kernel command line: the unified image's initramfs (deploy/images/init) mounts
 * the root volume found by its serial (the card presents it with the volume's id as serial),
 * configures the first NIC by its MAC and runs the command, as it does in a VM. The crypto
 * manager's self-tests are skipped, as for the host's kernel (card/host.c): Debian's kernel tests
 * every algorithm it instantiates at boot, and kdf108's initcall is nothing but its self-test;
 * a FIPS kernel (fips=1) runs the crypto manager's whatever notests says. */
#define BMS_CMDLINE "console=ttyS0 quiet panic=-1 cryptomgr.notests initcall_blacklist=crypto_kdf108_init"
int zero_bms_cmdline(const struct zero_instance_info *info, char *ret, size_t size, struct zero_error *err) {
        _cleanup_free_ char *cmd = NULL, *b64 = NULL;
        int n;

        if (zero_vm_shell_command(info, &cmd) < 0)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "the instance has no command");
        b64 = zero_base64(cmd, strlen(cmd));
        if (!b64)
                return -ENOMEM;
        if (info->n_nics > 0 && info->nics[0].ip)
                n = snprintf(ret, size,
                             BMS_CMDLINE " zero.root=serial:%.20s zero.rootwait=30 zero.ip=%s/%u "
                             "zero.gw=%s zero.mac=%s zero.cmd=%s",
                             info->volumes[0].id, info->nics[0].ip, info->nics[0].prefixlen,
                             strempty(info->nics[0].gateway), strempty(info->nics[0].mac), b64);
        else
                n = snprintf(ret, size, BMS_CMDLINE " zero.root=serial:%.20s zero.rootwait=30 zero.cmd=%s",
                             info->volumes[0].id, b64);
        if (n < 0 || (size_t) n >= size)
                return zero_error_set(err, -E2BIG, ZERO_E_INVALID,
                                      "the command and environment are too long for a kernel command line "
                                      "(%zu bytes with base64)",
                                      size);
        return 0;
}

