/* SPDX-License-Identifier: Apache-2.0 */
/* The card driver's shared object (card_loader.h), loaded as runtime plugins are (zerod's
 * plugin_loader.c). */
#include "io/card_loader.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

/* The smallest struct this agent can use: every op of ABI 4, up to nic_detach. */
#define CARD_DRIVER_MIN_SIZE                                                                       \
        (offsetof(struct zero_card_driver, ops) + offsetof(struct zero_card_ops, nic_detach) + sizeof(void *))

static bool driver_name_valid(const char *name) {
        if (!name || !*name || strlen(name) > 64)
                return false;
        for (const char *c = name; *c; c++)
                if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_' ||
                      *c == '-'))
                        return false;
        return true;
}

static bool driver_complete(const struct zero_card_driver *d) {
        const struct zero_card_ops *o = &d->ops;

        return d->name && o->open && o->close && o->volume_place && o->volume_validate && o->volume_stats && o->sync &&
               o->volume_create && o->volume_delete && o->volume_resize && o->volume_set_qos && o->volume_export &&
               o->volume_unexport && o->network_create && o->network_delete && o->nic_attach && o->nic_detach;
}

/* Logs the refusal and fills err; returns r. */
_printf_(4, 5) static int refuse(struct zero_error *err, int r, const char *path, const char *fmt, ...) {
        char why[256];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(why, sizeof(why), fmt, ap);
        va_end(ap);
        log_error("Refusing card driver %s: %s", path, why);
        return zero_error_set(err, r, ZERO_E_UNAVAILABLE, "card driver %s: %s", path, why);
}

int zero_card_lib_load(const char *dir, const char *name, const char *who, struct zero_card_lib *ret,
                       struct zero_error *err) {
        _cleanup_free_ char *path = NULL;

        *ret = (struct zero_card_lib){};
        if (!driver_name_valid(name))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID,
                                      "[card] driver: '%s' is no driver name (letters, digits, '-' and '_')",
                                      strempty(name));
        path = zero_strdup_printf("%s/%s.so", dir, name);
        if (!path)
                return zero_error_default(err, -ENOMEM, "card driver");
        if (access(path, F_OK) < 0)
                return refuse(err, -errno, path, "%s ([card] driver = %s)", strerror(errno), name);
        return zero_card_lib_load_path(path, who, ret, err);
}

int zero_card_lib_load_path(const char *file, const char *who, struct zero_card_lib *ret, struct zero_error *err) {
        _cleanup_free_ char *path = strdup(file);
        zero_card_driver_entry_fn entry;
        const struct zero_card_driver *d;
        void *h;

        *ret = (struct zero_card_lib){};
        if (!path)
                return zero_error_default(err, -ENOMEM, "card driver");
        if (access(path, F_OK) < 0)
                return refuse(err, -errno, path, "%s", strerror(errno));
        h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!h)
                return refuse(err, -ENOEXEC, path, "%s", dlerror());
        zero_log_pass_on(h);
        entry = (zero_card_driver_entry_fn) dlsym(h, ZERO_CARD_DRIVER_ENTRY);
        d = entry ? entry() : NULL;
        if (!d) {
                dlclose(h);
                return refuse(err, -ENOEXEC, path, "it exports no %s()", ZERO_CARD_DRIVER_ENTRY);
        }
        if (d->abi_version != ZERO_CARD_ABI_VERSION) {
                uint32_t v = d->abi_version;
                dlclose(h);
                return refuse(err, -EPROTONOSUPPORT, path,
                              "built for card ABI version %u, this %s speaks version %u", v,
                              who, (unsigned) ZERO_CARD_ABI_VERSION);
        }
        if (d->size < CARD_DRIVER_MIN_SIZE || !driver_complete(d)) {
                uint32_t size = d->size;
                dlclose(h);
                return refuse(err, -EPROTONOSUPPORT, path, "incomplete driver struct (size %u, needs %zu and every op)",
                              size, (size_t) CARD_DRIVER_MIN_SIZE);
        }
        log_info("Loaded card driver %s from %s", d->name, path);
        *ret = (struct zero_card_lib){.handle = h, .driver = d, .path = TAKE_PTR(path)};
        return 0;
}

void zero_card_lib_done(struct zero_card_lib *lib) {
        if (lib->handle)
                dlclose(lib->handle);
        free(lib->path);
        *lib = (struct zero_card_lib){};
}
