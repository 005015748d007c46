/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * libcurl, loaded at its first use rather than at zerod's exec. Only a live migration's source
 * agent talks to another node (peer.h), and libcurl with what it pulls in (OpenSSL, Kerberos,
 * LDAP, SSH, HTTP/2: 18 libraries) is 3.2 MiB of zerod's idle RSS and 0.75 MiB of it anonymous
 * (their relocations), more than zerod's own heap (docs/benchmarks.md, "Idle"). zerod is built
 * against libcurl's headers and loads the library it was built for (soname libcurl.so.4) with
 * dlopen(RTLD_NOW | RTLD_LOCAL) the first time it is asked; it is never unloaded. Without that
 * library zerod runs on, and what needs it fails with a clear error (docs/architecture.md,
 * "zerod inside").
 */
#include <curl/curl.h>

#include "zero/error.h"

#define ZERO_CURL_SONAME "libcurl.so.4"

/* The libcurl functions zerod calls, with their own declared types. */
struct zero_curl {
        typeof(curl_global_init) *global_init;
        typeof(curl_easy_init) *easy_init;
        typeof(curl_easy_setopt) *easy_setopt;
        typeof(curl_easy_getinfo) *easy_getinfo;
        typeof(curl_easy_cleanup) *easy_cleanup;
        typeof(curl_easy_strerror) *easy_strerror;
        typeof(curl_slist_append) *slist_append;
        typeof(curl_slist_free_all) *slist_free_all;
        typeof(curl_multi_init) *multi_init;
        typeof(curl_multi_setopt) *multi_setopt;
        typeof(curl_multi_add_handle) *multi_add_handle;
        typeof(curl_multi_remove_handle) *multi_remove_handle;
        typeof(curl_multi_socket_action) *multi_socket_action;
        typeof(curl_multi_info_read) *multi_info_read;
        typeof(curl_multi_assign) *multi_assign;
        typeof(curl_multi_cleanup) *multi_cleanup;
};

/* The table, libcurl loaded and globally initialised at the first call; later calls return the
 * same table at once. NULL with err (ZERO_E_UNAVAILABLE: the library, the missing symbol, and
 * why zerod wants it) when it cannot be loaded; a later call tries again. Not thread-safe: the
 * loop's thread only. */
const struct zero_curl *zero_curl_get(struct zero_error *err);
