/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* Tar archives written header by header, for the tests of the tar reader and of extraction
 * (cmocka's assertions: include after cmocka.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct buf {
        uint8_t *p;
        size_t len;
};

static inline void append(struct buf *b, const void *d, size_t n) {
        b->p = realloc(b->p, b->len + n);
        assert_non_null(b->p);
        memcpy(b->p + b->len, d, n);
        b->len += n;
}

static inline void put_octal(uint8_t *f, size_t w, uint64_t v) {
        char tmp[32];
        snprintf(tmp, sizeof(tmp), "%0*llo", (int) w - 1, (unsigned long long) v);
        memcpy(f, tmp, w - 1);
}

static inline void checksum(uint8_t *h) {
        unsigned sum = 0;
        memset(h + 148, ' ', 8);
        for (int i = 0; i < 512; i++)
                sum += h[i];
        snprintf((char *) h + 148, 8, "%06o", sum);
}

/* One ustar header: uid/gid 1000, mtime 1700000000. */
static inline void hdr(struct buf *b, const char *name, char type, uint64_t size, const char *link, uint32_t mode) {
        uint8_t h[512] = {0};

        memcpy(h, name, strnlen(name, 100));
        put_octal(h + 100, 8, mode);
        put_octal(h + 108, 8, 1000);
        put_octal(h + 116, 8, 1000);
        put_octal(h + 124, 12, size);
        put_octal(h + 136, 12, 1700000000);
        h[156] = (uint8_t) type;
        if (link)
                memcpy(h + 157, link, strnlen(link, 100));
        memcpy(h + 257, "ustar\0" "00", 8);
        if (type == '3' || type == '4') {
                put_octal(h + 329, 8, 8);
                put_octal(h + 337, 8, 1);
        }
        checksum(h);
        append(b, h, 512);
}

static inline void data(struct buf *b, const void *d, size_t n) {
        static const uint8_t zeros[512];
        append(b, d, n);
        if (n % 512)
                append(b, zeros, 512 - n % 512);
}

static inline void end(struct buf *b) {
        static const uint8_t zeros[1024];
        append(b, zeros, sizeof(zeros));
}

/* A pax record "LEN key=value\n" with LEN counting itself. */
static inline void pax_record(struct buf *b, const char *key, const char *value) {
        size_t n = strlen(key) + strlen(value) + 3, len = n + 1;
        char rec[8192];
        while ((size_t) snprintf(NULL, 0, "%zu", len) + n != len)
                len = (size_t) snprintf(NULL, 0, "%zu", len) + n;
        snprintf(rec, sizeof(rec), "%zu %s=%s\n", len, key, value);
        append(b, rec, strlen(rec));
}

static inline void pax(struct buf *b, char type, const struct buf *records) {
        hdr(b, "PaxHeaders/x", type, records->len, NULL, 0644);
        data(b, records->p, records->len);
}

