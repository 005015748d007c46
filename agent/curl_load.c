/* SPDX-License-Identifier: Apache-2.0 */
/* libcurl loaded at its first use (curl_load.h). */
#include "agent/curl_load.h"

#include <dlfcn.h>
#include <stdbool.h>

#include "common/log.h"

static struct zero_curl curl;
static bool loaded;

const struct zero_curl *zero_curl_get(struct zero_error *err) {
        struct zero_curl t;
        const char *missing = NULL;
        void *h;

        if (loaded)
                return &curl;
        /* Kept open for zerod's life: libcurl cannot be cleaned up and loaded again safely once
         * its global state (and OpenSSL's) exists. */
        h = dlopen(ZERO_CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
                const char *why = dlerror();
                zero_error_set(err, -ENOENT, ZERO_E_UNAVAILABLE,
                               "requests to other nodes (live migration) need libcurl: %s", why ? why : ZERO_CURL_SONAME);
                return NULL;
        }
#define LOAD(field)                                                                                   \
        do {                                                                                          \
                if (!missing && !(*(void **) &t.field = dlsym(h, "curl_" #field)))                    \
                        missing = "curl_" #field;                                                     \
        } while (0)
        LOAD(global_init);
        LOAD(easy_init);
        LOAD(easy_setopt);
        LOAD(easy_getinfo);
        LOAD(easy_cleanup);
        LOAD(easy_strerror);
        LOAD(slist_append);
        LOAD(slist_free_all);
        LOAD(multi_init);
        LOAD(multi_setopt);
        LOAD(multi_add_handle);
        LOAD(multi_remove_handle);
        LOAD(multi_socket_action);
        LOAD(multi_info_read);
        LOAD(multi_assign);
        LOAD(multi_cleanup);
#undef LOAD
        if (missing) {
                (void) dlclose(h);
                zero_error_set(err, -ENOENT, ZERO_E_UNAVAILABLE, "%s has no %s: not the libcurl zerod was built for",
                               ZERO_CURL_SONAME, missing);
                return NULL;
        }
        if (t.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                /* Not unloaded: a half-made global state is not libcurl's to undo. */
                zero_error_set(err, -EIO, ZERO_E_UNAVAILABLE, "libcurl failed to initialise (curl_global_init)");
                return NULL;
        }
        curl = t;
        loaded = true;
        log_debug("Loaded %s for requests to other nodes", ZERO_CURL_SONAME);
        return &curl;
}
