/* SPDX-License-Identifier: Apache-2.0 */
#include <curl/curl.h>
#include <stdio.h>

#include "cli/zeroctl.h"

int main(int argc, char **argv) {
        int r;

        /* Once per process, before any other libcurl call; no other threads exist yet. */
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                fputs("zeroctl: cannot initialize libcurl\n", stderr);
                return ZEROCTL_EXIT_FAILURE;
        }
        r = zeroctl_main(argc, argv);
        curl_global_cleanup();
        return r;
}
