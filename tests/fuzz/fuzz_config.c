/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zerod.conf: INI text through zero_config_load_stream() (what zero_config_load_file() reads a
 * file with) and zero_config_finish(), which derives the typed settings. The shim and plugin
 * directory are set first, as the command line can, so that finish() does not stop at looking
 * for them next to the fuzzer's binary; the text may set them again.
 */
#include <stdio.h>
#include <string.h>

#include "agent/config.h"
#include "common/util.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(zero_config_freep) struct zero_config *c = zero_config_new();
        struct zero_error err = {};
        int r;

        (void) fuzz_scratch_dir(); /* logs off */
        FUZZ_ASSERT(c, "out of memory");
        FUZZ_ASSERT(zero_config_set(c, "agent", "shim", "/usr/libexec/zero/zero-shim", &err) >= 0 &&
                            zero_config_set(c, "agent", "plugin_dir", "/usr/lib/zero/plugins", &err) >= 0,
                    "%s", err.message);
        if (size > 0) {
                /* fmemopen() reads the bytes as they are, NULs included, like a file. */
                FILE *f = fmemopen((void *) data, size, "r");
                FUZZ_ASSERT(f, "fmemopen");
                r = zero_config_load_stream(c, f, "fuzz.conf", &err);
                fclose(f);
                if (r < 0)
                        return 0;
        }
        if (zero_config_finish(c, &err) < 0) {
                FUZZ_ASSERT(err.message[0], "finish failed without a reason");
                return 0;
        }
        FUZZ_ASSERT(c->state_dir && c->run_dir && c->node_name && c->n_listen >= 1 && c->n_listen <= ZERO_LISTEN_MAX,
                    "settings left unset");
        FUZZ_ASSERT(c->body_max >= 1024 && c->max_connections >= 8 && c->cpu_overcommit >= 1, "limits out of range");
        for (size_t i = 0; i < c->n_listen; i++)
                FUZZ_ASSERT(!strncmp(c->listen[i], "unix:", 5) || !strncmp(c->listen[i], "tcp:", 4), "listen %s",
                            c->listen[i]);
        (void) zero_config_get(c, "vm", "hotplug_ports");
        return 0;
}
