/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* What client.c and client_upgrade.c share: the handle. */
#include <curl/curl.h>

#include "cli/client.h"

struct zeroctl_http {
        CURL *curl;
        char *url; /* as the user gave it, for messages */
        struct zeroctl_url where;
        unsigned timeout_s;
        char *token;  /* bearer token for TCP, or NULL */
        char *cacert; /* the CA file that zerod's certificate is checked against, or NULL */
        char errbuf[CURL_ERROR_SIZE];
};

/* The options every request has (the handle reset first); the caller adds how the body is read. */
void zeroctl_http_setup(struct zeroctl_http *h, const char *url, struct curl_slist *headers, unsigned timeout_s);
/* A failed transfer as *reterr. */
int zeroctl_http_failure(struct zeroctl_http *h, CURLcode c, struct zero_error *reterr);
