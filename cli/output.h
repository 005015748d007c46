/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* zeroctl's human output: aligned tables, "key: value" lines and the value formats they use.
 * Everything here is pure (a FILE * in, no network) so the unit tests can pin it down. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "common/macro.h"

struct zeroctl_table;
/* headers may be NULL: no header line (used for "key: value" blocks). */
struct zeroctl_table *zeroctl_table_new(size_t ncols, const char *const *headers);
struct zeroctl_table *zeroctl_table_free(struct zeroctl_table *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct zeroctl_table *, zeroctl_table_free);
/* ncols cells, copied; a NULL cell prints as "-". */
int zeroctl_table_add(struct zeroctl_table *t, const char *const *cells);
size_t zeroctl_table_rows(const struct zeroctl_table *t);
/* Columns left-aligned, two spaces apart, no trailing blanks. */
int zeroctl_table_print(const struct zeroctl_table *t, FILE *f);

/* Display width of UTF-8 text, in code points. */
size_t zeroctl_text_width(const char *s);

/* "512MiB", "2GiB", "1536MiB" */
char *zeroctl_format_mib(int64_t mib);
/* "0B", "999B", "1.5KiB", "11.8MiB", "2.0GiB" */
char *zeroctl_format_bytes(uint64_t bytes);
/* A duration: "0 ms", "196 ms", "9999 ms" (rounded to the millisecond), "10.0 s", "85.3 s". */
char *zeroctl_format_duration(uint64_t usec);
/* RFC 3339 ("2026-11-25T15:32:07.123Z", "...+02:00") → µs since the epoch. */
int zeroctl_parse_time(const char *s, uint64_t *ret_usec);
/* "42s ago", "5m ago", "3h ago", "12d ago"; the input as is when it does not parse, "-" for
 * NULL. */
char *zeroctl_format_age(const char *rfc3339, uint64_t now_usec);
/* A word quoted for a POSIX shell when it needs to be: hello, 'a b', 'it'\''s', '' */
char *zeroctl_shell_quote(const char *s);
/* One JSON value on one line: null → "-", strings as they are, arrays of scalars joined by
 * spaces (strings shell-quoted), objects as k=v pairs. */
char *zeroctl_format_value(const json_t *v);

/* The server's JSON, pretty, in the server's key order, followed by a newline. */
int zeroctl_print_json(FILE *f, const json_t *j);
/* "key: value" lines, aligned. Nested objects become "outer.inner" keys, arrays of objects
 * "outer.<name>" (the element's "name", else its index); "env" stays one K=V line. */
int zeroctl_print_object(FILE *f, const json_t *obj);

/* A volume's {"iops","bps"}: "1000 IOPS, 100.0MiB/s", "1000 IOPS", "100.0MiB/s", "unlimited"
 * (0 is unlimited), "-" when it is not an object. */
char *zeroctl_format_qos(const json_t *qos);

/* The tables of "zeroctl ls", "image list", "volume list" and "network list". */
int zeroctl_print_instances(FILE *f, const json_t *instances, uint64_t now_usec);
int zeroctl_print_images(FILE *f, const json_t *images, uint64_t now_usec);
int zeroctl_print_volumes(FILE *f, const json_t *volumes, uint64_t now_usec);
int zeroctl_print_networks(FILE *f, const json_t *networks, uint64_t now_usec);
/* "zeroctl show": the instance as "key: value" lines, then its volumes and its NICs as tables
 * (when it has any; otherwise they stay "volumes: -" lines). */
int zeroctl_print_instance(FILE *f, const json_t *instance);
