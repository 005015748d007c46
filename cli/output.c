/* SPDX-License-Identifier: Apache-2.0 */
#include "cli/output.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"

char *zeroctl_format_mib(int64_t mib) {
        if (mib >= 1024 && mib % 1024 == 0)
                return zero_strdup_printf("%" PRId64 "GiB", mib / 1024);
        return zero_strdup_printf("%" PRId64 "MiB", mib);
}

char *zeroctl_format_bytes(uint64_t bytes) {
        static const char *const unit[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        double v = (double) bytes;
        size_t u = 0;

        if (bytes < 1024)
                return zero_strdup_printf("%" PRIu64 "B", bytes);
        v /= 1024;
        /* Move up while the one-decimal rendering would print as 1024.0 or more. */
        while (v >= 1023.95 && u + 1 < ELEMENTSOF(unit)) {
                v /= 1024;
                u++;
        }
        return zero_strdup_printf("%.1f%s", v, unit[u]);
}

static bool take_digits(const char **p, int n, int *ret) {
        int v = 0;

        for (int i = 0; i < n; i++) {
                if (**p < '0' || **p > '9')
                        return false;
                v = v * 10 + (**p - '0');
                (*p)++;
        }
        *ret = v;
        return true;
}

static bool take_char(const char **p, const char *any) {
        if (**p == '\0' || !strchr(any, **p))
                return false;
        (*p)++;
        return true;
}

int zeroctl_parse_time(const char *s, uint64_t *ret_usec) {
        const char *p = s;
        int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
        uint64_t frac = 0, scale = 100000;
        struct tm tm = {0};
        time_t t;

        if (!s)
                return -EINVAL;
        if (!take_digits(&p, 4, &y) || !take_char(&p, "-") || !take_digits(&p, 2, &mo) ||
            !take_char(&p, "-") || !take_digits(&p, 2, &d) || !take_char(&p, "Tt ") ||
            !take_digits(&p, 2, &h) || !take_char(&p, ":") || !take_digits(&p, 2, &mi) ||
            !take_char(&p, ":") || !take_digits(&p, 2, &sec))
                return -EINVAL;
        if (*p == '.') {
                p++;
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                for (; *p >= '0' && *p <= '9'; p++) {
                        frac += (uint64_t) (*p - '0') * scale;
                        scale /= 10;
                }
        }
        if (take_char(&p, "Zz"))
                ;
        else if (*p == '+' || *p == '-') {
                sign = *p == '-' ? -1 : 1;
                p++;
                if (!take_digits(&p, 2, &oh) || !take_char(&p, ":") || !take_digits(&p, 2, &om))
                        return -EINVAL;
        } else
                return -EINVAL;
        if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 ||
            oh > 23 || om > 59)
                return -EINVAL;

        tm.tm_year = y - 1900;
        tm.tm_mon = mo - 1;
        tm.tm_mday = d;
        tm.tm_hour = h;
        tm.tm_min = mi;
        tm.tm_sec = sec;
        t = timegm(&tm);
        t -= (time_t) sign * (oh * 3600 + om * 60);
        if (t < 0)
                return -ERANGE;
        *ret_usec = (uint64_t) t * USEC_PER_SEC + frac;
        return 0;
}

char *zeroctl_format_age(const char *rfc3339, uint64_t now_usec) {
        uint64_t then, s;

        if (!rfc3339)
                return strdup("-");
        if (zeroctl_parse_time(rfc3339, &then) < 0)
                return strdup(rfc3339);
        /* A clock a little ahead of ours is not an event from the future. */
        s = now_usec > then ? (now_usec - then) / USEC_PER_SEC : 0;
        if (s < 60)
                return zero_strdup_printf("%" PRIu64 "s ago", s);
        if (s < 3600)
                return zero_strdup_printf("%" PRIu64 "m ago", s / 60);
        if (s < 48 * 3600)
                return zero_strdup_printf("%" PRIu64 "h ago", s / 3600);
        return zero_strdup_printf("%" PRIu64 "d ago", s / 86400);
}

char *zeroctl_format_duration(uint64_t usec) {
        uint64_t ms = (usec + USEC_PER_MSEC / 2) / USEC_PER_MSEC;

        if (ms < 10000)
                return zero_strdup_printf("%" PRIu64 " ms", ms);
        /* Tenths of a second, rounded. */
        ms = (ms + 50) / 100;
        return zero_strdup_printf("%" PRIu64 ".%" PRIu64 " s", ms / 10, ms % 10);
}

char *zeroctl_shell_quote(const char *s) {
        size_t n = 2;
        bool plain = *s != '\0';
        char *ret, *o;

        for (const char *p = s; *p; p++) {
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./"
                            "_-",
                            *p))
                        plain = false;
                n += *p == '\'' ? 4 : 1;
        }
        if (plain)
                return strdup(s);
        ret = o = malloc(n + 1);
        if (!ret)
                return NULL;
        *o++ = '\'';
        for (const char *p = s; *p; p++) {
                if (*p == '\'') {
                        memcpy(o, "'\\''", 4);
                        o += 4;
                } else
                        *o++ = *p;
        }
        *o++ = '\'';
        *o = '\0';
        return ret;
}

/* Appends one formatted word to a space-separated line. */
static int append_word(char **line, const char *word) {
        char *n = *line ? zero_strdup_printf("%s %s", *line, word) : strdup(word);

        if (!n)
                return -ENOMEM;
        free(*line);
        *line = n;
        return 0;
}

static char *format_word(const json_t *v) {
        return json_is_string(v) ? zeroctl_shell_quote(json_string_value(v))
                                 : zeroctl_format_value(v);
}

char *zeroctl_format_value(const json_t *v) {
        _cleanup_free_ char *line = NULL;

        switch (json_typeof(v)) {
        case JSON_NULL:
                return strdup("-");
        case JSON_STRING:
                return strdup(json_string_value(v));
        case JSON_INTEGER:
                return zero_strdup_printf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
        case JSON_REAL:
                return zero_strdup_printf("%g", json_real_value(v));
        case JSON_TRUE:
                return strdup("true");
        case JSON_FALSE:
                return strdup("false");
        case JSON_ARRAY: {
                size_t i;
                json_t *e;
                json_array_foreach (v, i, e) {
                        _cleanup_free_ char *w = format_word(e);
                        if (!w || append_word(&line, w) < 0)
                                return NULL;
                }
                break;
        }
        case JSON_OBJECT: {
                const char *k;
                json_t *e;
                json_object_foreach ((json_t *) v, k, e) {
                        _cleanup_free_ char *w = format_word(e);
                        _cleanup_free_ char *kv = w ? zero_strdup_printf("%s=%s", k, w) : NULL;
                        if (!kv || append_word(&line, kv) < 0)
                                return NULL;
                }
                break;
        }
        }
        return line ? TAKE_PTR(line) : strdup("-");
}

int zeroctl_print_json(FILE *f, const json_t *j) {
        if (json_dumpf(j, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0)
                return -EIO;
        fputc('\n', f);
        return ferror(f) ? -EIO : 0;
}

static int add_pair(struct zeroctl_table *t, const char *key, const json_t *v) {
        _cleanup_free_ char *k = zero_strdup_printf("%s:", key);
        _cleanup_free_ char *value = zeroctl_format_value(v);
        size_t n = strlen(key);

        if (!k || !value)
                return -ENOMEM;
        /* Sizes in bytes are exact for scripts and readable for people. */
        if (json_is_integer(v) && n > 6 && streq(key + n - 6, "_bytes") &&
            json_integer_value(v) >= 1024) {
                _cleanup_free_ char *human = zeroctl_format_bytes((uint64_t) json_integer_value(v));
                char *both = human ? zero_strdup_printf("%s (%s)", value, human) : NULL;
                if (!both)
                        return -ENOMEM;
                free(value);
                value = both;
        }
        return zeroctl_table_add(t, (const char *const[]){k, value});
}

static bool all_objects(const json_t *a) {
        size_t i;
        json_t *e;

        if (!json_is_array(a) || json_array_size(a) == 0)
                return false;
        json_array_foreach (a, i, e)
                if (!json_is_object(e))
                        return false;
        return true;
}

static int add_object(struct zeroctl_table *t, const char *prefix, const json_t *obj) {
        const char *key;
        json_t *v;
        int r;

        json_object_foreach ((json_t *) obj, key, v) {
                _cleanup_free_ char *full =
                        prefix ? zero_strdup_printf("%s.%s", prefix, key) : strdup(key);
                if (!full)
                        return -ENOMEM;
                if (json_is_object(v) && json_object_size(v) > 0 && !streq(key, "env"))
                        r = add_object(t, full, v);
                else if (all_objects(v)) {
                        size_t i;
                        json_t *e;
                        r = 0;
                        json_array_foreach (v, i, e) {
                                json_auto_t *rest = json_copy(e);
                                const char *label = json_string_value(json_object_get(e, "name"));
                                _cleanup_free_ char *sub =
                                        label ? zero_strdup_printf("%s.%s", full, label)
                                              : zero_strdup_printf("%s.%zu", full, i);
                                if (!rest || !sub)
                                        return -ENOMEM;
                                if (label)
                                        json_object_del(rest, "name");
                                r = add_pair(t, sub, rest);
                                if (r < 0)
                                        break;
                        }
                } else
                        r = add_pair(t, full, v);
                if (r < 0)
                        return r;
        }
        return 0;
}

int zeroctl_print_object(FILE *f, const json_t *obj) {
        _cleanup_(zeroctl_table_freep) struct zeroctl_table *t = zeroctl_table_new(2, NULL);
        int r;

        if (!t)
                return -ENOMEM;
        if (!json_is_object(obj))
                return -EBADMSG;
        r = add_object(t, NULL, obj);
        if (r < 0)
                return r;
        return zeroctl_table_print(t, f);
}

static const char *str(const json_t *o, const char *key) {
        return json_string_value(json_object_get(o, key));
}

int zeroctl_print_instances(FILE *f, const json_t *instances, uint64_t now_usec) {
        static const char *const headers[] = {"NAME", "MODE",   "STATE", "PID",
                                              "CPUS", "MEMORY", "IMAGE", "CREATED"};
        _cleanup_(zeroctl_table_freep) struct zeroctl_table *t =
                zeroctl_table_new(ELEMENTSOF(headers), headers);
        size_t i;
        json_t *e;

        if (!t)
                return -ENOMEM;
        if (!json_is_array(instances))
                return -EBADMSG;
        json_array_foreach (instances, i, e) {
                json_t *mem = json_object_get(e, "memory_mib");
                _cleanup_free_ char *pid = zeroctl_format_value(json_object_get(e, "pid"));
                _cleanup_free_ char *cpus = zeroctl_format_value(json_object_get(e, "cpus"));
                _cleanup_free_ char *memory = json_is_integer(mem)
                                                      ? zeroctl_format_mib(json_integer_value(mem))
                                                      : strdup("-");
                _cleanup_free_ char *created = zeroctl_format_age(str(e, "created_at"), now_usec);
                int r;

                if (!json_is_object(e))
                        continue;
                if (!pid || !cpus || !memory || !created)
                        return -ENOMEM;
                r = zeroctl_table_add(t, (const char *const[]){str(e, "name"), str(e, "mode"),
                                                               str(e, "state"), pid, cpus, memory,
                                                               str(e, "image"), created});
                if (r < 0)
                        return r;
        }
        return zeroctl_table_print(t, f);
}

int zeroctl_print_images(FILE *f, const json_t *images, uint64_t now_usec) {
        static const char *const headers[] = {"NAME", "SIZE", "CREATED", "SOURCE"};
        _cleanup_(zeroctl_table_freep) struct zeroctl_table *t =
                zeroctl_table_new(ELEMENTSOF(headers), headers);
        size_t i;
        json_t *e;

        if (!t)
                return -ENOMEM;
        if (!json_is_array(images))
                return -EBADMSG;
        json_array_foreach (images, i, e) {
                json_t *size = json_object_get(e, "size_bytes");
                _cleanup_free_ char *sz =
                        json_is_integer(size) && json_integer_value(size) >= 0
                                ? zeroctl_format_bytes((uint64_t) json_integer_value(size))
                                : strdup("-");
                _cleanup_free_ char *created = zeroctl_format_age(str(e, "created_at"), now_usec);
                int r;

                if (!json_is_object(e))
                        continue;
                if (!sz || !created)
                        return -ENOMEM;
                r = zeroctl_table_add(
                        t, (const char *const[]){str(e, "name"), sz, created, str(e, "source")});
                if (r < 0)
                        return r;
        }
        return zeroctl_table_print(t, f);
}

char *zeroctl_format_qos(const json_t *qos) {
        json_t *iops = json_object_get(qos, "iops"), *bps = json_object_get(qos, "bps");
        _cleanup_free_ char *i = NULL, *b = NULL;

        if (!json_is_object(qos))
                return strdup("-");
        if (json_is_integer(iops) && json_integer_value(iops) > 0 &&
            !(i = zero_strdup_printf("%" JSON_INTEGER_FORMAT " IOPS", json_integer_value(iops))))
                return NULL;
        if (json_is_integer(bps) && json_integer_value(bps) > 0) {
                _cleanup_free_ char *rate =
                        zeroctl_format_bytes((uint64_t) json_integer_value(bps));
                if (!rate || !(b = zero_strdup_printf("%s/s", rate)))
                        return NULL;
        }
        if (i && b)
                return zero_strdup_printf("%s, %s", i, b);
        return i ? TAKE_PTR(i) : b ? TAKE_PTR(b) : strdup("unlimited");
}

static char *format_size(const json_t *size) {
        return json_is_integer(size) && json_integer_value(size) >= 0
                       ? zeroctl_format_bytes((uint64_t) json_integer_value(size))
                       : strdup("-");
}

int zeroctl_print_volumes(FILE *f, const json_t *volumes, uint64_t now_usec) {
        static const char *const headers[] = {"NAME",  "SIZE",     "FORMAT", "STATE",
                                              "IMAGE", "ATTACHED", "QOS",    "CREATED"};
        _cleanup_(zeroctl_table_freep) struct zeroctl_table *t =
                zeroctl_table_new(ELEMENTSOF(headers), headers);
        size_t i;
        json_t *e;

        if (!t)
                return -ENOMEM;
        if (!json_is_array(volumes))
                return -EBADMSG;
        json_array_foreach (volumes, i, e) {
                _cleanup_free_ char *size = format_size(json_object_get(e, "size_bytes"));
                _cleanup_free_ char *qos = zeroctl_format_qos(json_object_get(e, "qos"));
                _cleanup_free_ char *created = zeroctl_format_age(str(e, "created_at"), now_usec);
                int r;

                if (!json_is_object(e))
                        continue;
                if (!size || !qos || !created)
                        return -ENOMEM;
                r = zeroctl_table_add(
                        t, (const char *const[]){str(e, "name"), size, str(e, "format"),
                                                 str(e, "state"), str(e, "image"),
                                                 str(e, "attached_to"), qos, created});
                if (r < 0)
                        return r;
        }
        return zeroctl_table_print(t, f);
}

int zeroctl_print_networks(FILE *f, const json_t *networks, uint64_t now_usec) {
        static const char *const headers[] = {"NAME",   "SUBNET", "GATEWAY",
                                              "BRIDGE", "NICS",   "CREATED"};
        _cleanup_(zeroctl_table_freep) struct zeroctl_table *t =
                zeroctl_table_new(ELEMENTSOF(headers), headers);
        size_t i;
        json_t *e;

        if (!t)
                return -ENOMEM;
        if (!json_is_array(networks))
                return -EBADMSG;
        json_array_foreach (networks, i, e) {
                _cleanup_free_ char *nics = zeroctl_format_value(json_object_get(e, "nics"));
                _cleanup_free_ char *created = zeroctl_format_age(str(e, "created_at"), now_usec);
                int r;

                if (!json_is_object(e))
                        continue;
                if (!nics || !created)
                        return -ENOMEM;
                r = zeroctl_table_add(t, (const char *const[]){str(e, "name"), str(e, "subnet"),
                                                               str(e, "gateway"), str(e, "bridge"),
                                                               nics, created});
                if (r < 0)
                        return r;
        }
        return zeroctl_table_print(t, f);
}

/* An export {"kind","path"} as "PATH (KIND)"; "-" for null. */
static char *format_export(const json_t *export) {
        if (!json_is_object(export))
                return strdup("-");
        if (!str(export, "kind"))
                return strdup(str(export, "path") ?: "-");
        return zero_strdup_printf("%s (%s)", str(export, "path") ?: "-", str(export, "kind"));
}

static int print_instance_volumes(FILE *f, const json_t *volumes) {
        static const char *const headers[] = {"VOLUME", "ROLE", "PATH", "PERSONALITY", "EXPORT"};
        _cleanup_(zeroctl_table_freep) struct zeroctl_table *t =
                zeroctl_table_new(ELEMENTSOF(headers), headers);
        size_t i;
        json_t *e;

        if (!t)
                return -ENOMEM;
        json_array_foreach (volumes, i, e) {
                _cleanup_free_ char *export = format_export(json_object_get(e, "export"));
                int r;

                if (!export)
                        return -ENOMEM;
                r = zeroctl_table_add(t, (const char *const[]){str(e, "name"), str(e, "role"),
                                                               str(e, "path"),
                                                               str(e, "personality"), export});
                if (r < 0)
                        return r;
        }
        return zeroctl_table_print(t, f);
}

static int print_instance_nics(FILE *f, const json_t *nics) {
        static const char *const headers[] = {"NIC", "NETWORK", "MAC", "IP", "ID"};
        _cleanup_(zeroctl_table_freep) struct zeroctl_table *t =
                zeroctl_table_new(ELEMENTSOF(headers), headers);
        size_t i;
        json_t *e;

        if (!t)
                return -ENOMEM;
        json_array_foreach (nics, i, e) {
                int r = zeroctl_table_add(t, (const char *const[]){str(e, "ifname"),
                                                                   str(e, "network"), str(e, "mac"),
                                                                   str(e, "ip"), str(e, "id")});
                if (r < 0)
                        return r;
        }
        return zeroctl_table_print(t, f);
}

int zeroctl_print_instance(FILE *f, const json_t *instance) {
        json_auto_t *rest = NULL;
        json_t *volumes, *nics;
        int r;

        if (!json_is_object(instance))
                return -EBADMSG;
        /* A shallow copy, to take the arrays that get tables of their own out of the list. */
        rest = json_copy((json_t *) instance);
        if (!rest)
                return -ENOMEM;
        volumes = json_object_get(instance, "volumes");
        nics = json_object_get(instance, "nics");
        if (!all_objects(volumes))
                volumes = NULL;
        else if (json_object_del(rest, "volumes") < 0)
                return -ENOMEM;
        if (!all_objects(nics))
                nics = NULL;
        else if (json_object_del(rest, "nics") < 0)
                return -ENOMEM;

        r = zeroctl_print_object(f, rest);
        if (r >= 0 && volumes) {
                fputc('\n', f);
                r = print_instance_volumes(f, volumes);
        }
        if (r >= 0 && nics) {
                fputc('\n', f);
                r = print_instance_nics(f, nics);
        }
        return r;
}
