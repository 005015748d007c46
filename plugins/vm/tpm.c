/* SPDX-License-Identifier: Apache-2.0 */
/* A VM's vTPM: swtpm beside QEMU under the instance's shim (tpm.h). */
#include "plugins/vm/tpm.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/argv.h"
#include "common/util.h"

int zero_vm_tpm_probe(const char *swtpm, char *ret_reason, size_t size) {
        _cleanup_free_ char *out = NULL;
        char *argv[] = {(char *) swtpm, "--version", NULL};
        int r = zero_run_wait(argv, &out);

        if (r != 0 || !out || !strstr(out, "TPM emulator")) {
                snprintf(ret_reason, size, "%s does not run (%s): install swtpm", swtpm,
                         r < 0 ? strerror(-r) : "no version");
                return r < 0 ? r : -ENOENT;
        }
        return 0;
}

int zero_vm_tpm_sidecar(const char *swtpm, const struct zero_instance_info *info, char ***ret_argv, char **ret_socket,
                        struct zero_error *err) {
        _cleanup_free_ char *dir = NULL, *sock = NULL;
        struct zero_argv b = {};
        int r;

        if (!info->state_dir || !info->run_dir)
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL, "the instance has no state or run directory");
        dir = zero_strdup_printf("%s/%s", info->state_dir, ZERO_VM_TPM_STATE);
        sock = zero_strdup_printf("%s/%s", info->run_dir, ZERO_VM_TPM_SOCKET);
        if (!dir || !sock)
                return -ENOMEM;
        /* swtpm's options are comma-separated key=value lists. */
        if (strchr(dir, ',') || strchr(sock, ','))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "the vTPM's paths %s, %s have a comma", dir, sock);
        r = zero_mkdir_p(dir, 0700);
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_INTERNAL, "cannot make %s: %s", dir, strerror(-r));
        zero_argv_add(&b, strdup(swtpm));
        zero_argv_add(&b, strdup("socket"));
        zero_argv_add(&b, strdup("--tpm2"));
        zero_argv_add(&b, strdup("--tpmstate"));
        ZERO_ARGV_ADD(&b, "dir=%s,mode=0600", dir);
        zero_argv_add(&b, strdup("--ctrl"));
        ZERO_ARGV_ADD(&b, "type=unixio,path=%s,mode=0600", sock);
        /* Ends once QEMU closes its control channel (QEMU's exit): the shim's stop is a backstop. */
        zero_argv_add(&b, strdup("--terminate"));
        if (b.r < 0) {
                strv_free(b.v);
                return b.r;
        }
        *ret_argv = b.v;
        *ret_socket = TAKE_PTR(sock);
        return 0;
}
