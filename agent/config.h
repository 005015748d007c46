/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * zerod's configuration: an INI file (libinih) overlaid by command-line options.
 * Every value stays available by section/key, so plugins read their own sections through the
 * services table; the agent's own settings are also parsed into typed fields.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/ini.h"
#include "zero/error.h"

#define ZERO_LISTEN_MAX 8
#define ZERO_IMPORT_DIRS_MAX 16

struct zero_config {
        struct zero_ini ini; /* every value by section and key */

        /* [agent] */
        char *state_dir;  /* SQLite file, images, persistent instance data */
        char *run_dir;    /* shims, bundles, console logs: volatile */
        char *plugin_dir;
        char *shim_path;
        char *listen[ZERO_LISTEN_MAX]; /* "unix:PATH" or "tcp:HOST:PORT" */
        size_t n_listen;
        char *node_name;
        int log_level;
        bool insecure_tcp; /* --insecure-tcp: plain HTTP on TCP (tests on loopback); never from a file */
        bool stop_card;    /* --stop-card: the operator's teardown of the card, then exit (card.h) */

        /* [limits] */
        int64_t max_instances;
        uint64_t console_log_max;
        uint64_t body_max;         /* request bodies, bytes */
        int64_t max_connections;
        double cpu_overcommit;     /* allocated cpus may reach node cpus times this */
        int64_t memory_reserved_mib; /* kept for the host, not admitted to instances */
        int64_t max_connections_per_client; /* per client address, TCP */
        int64_t header_timeout_s;  /* a new connection's request headers must be in by then */
        int64_t idle_timeout_s;    /* an idle connection is closed after it */
        int64_t max_parked;        /* long-polls parked at once */

        /* [images] */
        char *import_dirs[ZERO_IMPORT_DIRS_MAX]; /* host directories POST /v1/images may read */
        size_t n_import_dirs;
        uint64_t upload_max; /* bytes of an uploaded image archive */
        uint64_t image_max;  /* bytes of an image's files, unpacked */
        char *unpack_path;   /* the zero-unpack helper */
};

struct zero_config *zero_config_new(void);
struct zero_config *zero_config_free(struct zero_config *c);
static inline void zero_config_freep(struct zero_config **c) {
        if (*c)
                zero_config_free(*c);
}

int zero_config_load_file(struct zero_config *c, const char *path, struct zero_error *err);
/* The same from an open stream of INI text; name is what error messages call it. */
int zero_config_load_stream(struct zero_config *c, FILE *f, const char *name, struct zero_error *err);
int zero_config_set(struct zero_config *c, const char *section, const char *key, const char *value,
                    struct zero_error *err);
/* Fills defaults for anything unset and derives typed fields; call after loading everything. */
int zero_config_finish(struct zero_config *c, struct zero_error *err);
const char *zero_config_get(const struct zero_config *c, const char *section, const char *key);
