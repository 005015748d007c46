/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The framed stream of an upgraded connection (POST /v1/instances/{name}/exec), both ways, in
 * Docker's attach shape: an 8-byte header (the stream's number, 3 zero bytes, the payload's
 * length as a 32-bit big-endian number), then the payload.
 *
 *   client -> server: STDIN (bytes), STDIN_EOF (empty: the client's stdin ended),
 *                     RESIZE (4 bytes: rows, columns, 16-bit big-endian each; with a TTY)
 *   server -> client: STDOUT, STDERR (bytes; with a TTY all output is STDOUT),
 *                     EXIT (8 bytes: the exit code then the signal, 32-bit big-endian each;
 *                     code is 128+signal when a signal ended it), the last frame
 * A frame's payload is at most ZERO_FRAME_PAYLOAD_MAX bytes: a longer one, a nonzero reserved
 * byte, an unknown stream or a fixed-size frame of another size is a broken stream.
 * zerod (agent/relay.c) and zeroctl (cli/cmd_exec.c) both speak it with these functions.
 */
#include <stddef.h>
#include <stdint.h>

#define ZERO_FRAME_HEADER 8
#define ZERO_FRAME_PAYLOAD_MAX (32 * 1024)
/* The protocol named in the Upgrade header. */
#define ZERO_FRAME_PROTOCOL "zero-stream"

enum zero_frame_stream {
        ZERO_FRAME_STDIN = 0,
        ZERO_FRAME_STDOUT = 1,
        ZERO_FRAME_STDERR = 2,
        ZERO_FRAME_EXIT = 3,
        ZERO_FRAME_STDIN_EOF = 4,
        ZERO_FRAME_RESIZE = 5,
        _ZERO_FRAME_MAX,
};

struct zero_frame {
        enum zero_frame_stream stream;
        const uint8_t *payload; /* into the parsed buffer */
        uint32_t len;
};

/* Parses the frame at the start of buf[0..len): its size (header and payload) when it is all
 * there (*ret set, payload pointing into buf), 0 when more bytes are needed, -EBADMSG for a
 * broken stream. */
int zero_frame_parse(const void *buf, size_t len, struct zero_frame *ret);
/* Writes a frame's header for len bytes of payload into hdr. */
void zero_frame_header(enum zero_frame_stream stream, uint32_t len, uint8_t hdr[ZERO_FRAME_HEADER]);

/* The fixed payloads. */
void zero_frame_exit_encode(int code, int signal, uint8_t out[8]);
void zero_frame_exit_decode(const struct zero_frame *f, int *ret_code, int *ret_signal);
void zero_frame_resize_encode(unsigned rows, unsigned cols, uint8_t out[4]);
void zero_frame_resize_decode(const struct zero_frame *f, unsigned *ret_rows, unsigned *ret_cols);
