/* SPDX-License-Identifier: Apache-2.0 */
/* The frame parser (common/frame.h) on whatever a client sends after an exec's 101: the frames
 * are taken one after another, as agent/relay.c takes them, until one is cut short or broken. */
#include <stddef.h>
#include <stdint.h>

#include "common/frame.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct zero_frame f;
        unsigned rows, cols;
        int n, code, sig;

        while ((n = zero_frame_parse(data, size, &f)) > 0) {
                if (f.len > ZERO_FRAME_PAYLOAD_MAX || f.payload + f.len > data + size)
                        __builtin_trap();
                if (f.stream == ZERO_FRAME_EXIT)
                        zero_frame_exit_decode(&f, &code, &sig);
                if (f.stream == ZERO_FRAME_RESIZE)
                        zero_frame_resize_decode(&f, &rows, &cols);
                data += n;
                size -= (size_t) n;
        }
        return 0;
}
