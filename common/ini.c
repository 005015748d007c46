/* SPDX-License-Identifier: Apache-2.0 */
#include "common/ini.h"

#include <ini.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"

int zero_ini_set(struct zero_ini *ini, const char *section, const char *key, const char *value) {
        struct zero_ini_entry *n = realloc(ini->entries, (ini->n + 1) * sizeof(*n));

        if (!n)
                return -ENOMEM;
        ini->entries = n;
        n = &ini->entries[ini->n];
        *n = (struct zero_ini_entry){.section = strdup(section), .key = strdup(key), .value = strdup(value)};
        if (!n->section || !n->key || !n->value) {
                free(n->section);
                free(n->key);
                free(n->value);
                return -ENOMEM;
        }
        ini->n++;
        return 0;
}

const char *zero_ini_get(const struct zero_ini *ini, const char *section, const char *key) {
        /* Later entries win: the command line is applied after the file. */
        for (size_t i = ini->n; i > 0; i--) {
                const struct zero_ini_entry *e = &ini->entries[i - 1];
                if (streq(e->section, section) && streq(e->key, key))
                        return e->value;
        }
        return NULL;
}

void zero_ini_done(struct zero_ini *ini) {
        for (size_t i = 0; i < ini->n; i++) {
                free(ini->entries[i].section);
                free(ini->entries[i].key);
                free(ini->entries[i].value);
        }
        free(ini->entries);
        *ini = (struct zero_ini){};
}

struct ini_ctx {
        zero_ini_entry_fn fn;
        void *userdata;
        struct zero_error *err;
        int r;
};

static int on_ini_entry(void *user, const char *section, const char *name, const char *value) {
        struct ini_ctx *x = user;
        int r = x->fn(x->userdata, section, name, value, x->err);
        if (r < 0) {
                x->r = r;
                return 0;
        }
        return 1;
}

int zero_ini_parse_stream(FILE *f, const char *name, zero_ini_entry_fn fn, void *userdata, struct zero_error *err) {
        struct ini_ctx x = {.fn = fn, .userdata = userdata, .err = err};
        int line = ini_parse_file(f, on_ini_entry, &x);

        if (line < 0) /* only a libinih built with INI_USE_STACK=0 fails so, for want of memory */
                return zero_error_set(err, -ENOMEM, ZERO_E_INTERNAL, "cannot parse config file %s", name);
        if (x.r < 0)
                return x.r;
        if (line > 0)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "%s:%d: syntax error", name, line);
        return 0;
}

int zero_ini_parse_file(const char *path, zero_ini_entry_fn fn, void *userdata, struct zero_error *err) {
        FILE *f = fopen(path, "re");
        int r;

        if (!f)
                return zero_error_set(err, -ENOENT, ZERO_E_INVALID, "cannot open config file %s", path);
        r = zero_ini_parse_stream(f, path, fn, userdata, err);
        fclose(f);
        return r;
}

char *zero_path_beside_exe(const char *const candidates[]) {
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        const char *dir;

        if (n < 0)
                return NULL;
        exe[n] = '\0';
        dir = dirname(exe); /* in place: exe is the directory from here on */
        for (size_t i = 0; candidates[i]; i++) {
                _cleanup_free_ char *p = zero_strdup_printf("%s/%s", dir, candidates[i]);
                char resolved[PATH_MAX];
                if (p && realpath(p, resolved))
                        return strdup(resolved);
        }
        return NULL;
}
