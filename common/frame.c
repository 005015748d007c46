/* SPDX-License-Identifier: Apache-2.0 */
/* The framed stream of an upgraded connection (frame.h). */
#include "common/frame.h"

#include <errno.h>

static uint32_t be32(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v) {
        p[0] = (uint8_t) (v >> 24);
        p[1] = (uint8_t) (v >> 16);
        p[2] = (uint8_t) (v >> 8);
        p[3] = (uint8_t) v;
}

/* The payload size of the frames that have one; -1: any up to the maximum. */
static long fixed_len(enum zero_frame_stream s) {
        switch (s) {
        case ZERO_FRAME_EXIT:
                return 8;
        case ZERO_FRAME_STDIN_EOF:
                return 0;
        case ZERO_FRAME_RESIZE:
                return 4;
        default:
                return -1;
        }
}

int zero_frame_parse(const void *buf, size_t len, struct zero_frame *ret) {
        const uint8_t *p = buf;
        uint32_t n;
        long fixed;

        if (len < ZERO_FRAME_HEADER)
                return 0;
        if (p[0] >= _ZERO_FRAME_MAX || p[1] || p[2] || p[3])
                return -EBADMSG;
        n = be32(p + 4);
        fixed = fixed_len(p[0]);
        if (n > ZERO_FRAME_PAYLOAD_MAX || (fixed >= 0 && n != (uint32_t) fixed))
                return -EBADMSG;
        if (len - ZERO_FRAME_HEADER < n)
                return 0;
        *ret = (struct zero_frame){.stream = p[0], .payload = p + ZERO_FRAME_HEADER, .len = n};
        return (int) (ZERO_FRAME_HEADER + n);
}

void zero_frame_header(enum zero_frame_stream stream, uint32_t len, uint8_t hdr[ZERO_FRAME_HEADER]) {
        hdr[0] = (uint8_t) stream;
        hdr[1] = hdr[2] = hdr[3] = 0;
        put_be32(hdr + 4, len);
}

void zero_frame_exit_encode(int code, int signal, uint8_t out[8]) {
        put_be32(out, (uint32_t) code);
        put_be32(out + 4, (uint32_t) signal);
}

void zero_frame_exit_decode(const struct zero_frame *f, int *ret_code, int *ret_signal) {
        *ret_code = (int) be32(f->payload);
        *ret_signal = (int) be32(f->payload + 4);
}

void zero_frame_resize_encode(unsigned rows, unsigned cols, uint8_t out[4]) {
        out[0] = (uint8_t) (rows >> 8);
        out[1] = (uint8_t) rows;
        out[2] = (uint8_t) (cols >> 8);
        out[3] = (uint8_t) cols;
}

void zero_frame_resize_decode(const struct zero_frame *f, unsigned *ret_rows, unsigned *ret_cols) {
        *ret_rows = (unsigned) f->payload[0] << 8 | f->payload[1];
        *ret_cols = (unsigned) f->payload[2] << 8 | f->payload[3];
}
