/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * zero-card's configuration: one INI file (docs/architecture.md, "The lab"; deploy/lab writes it).
 * Every value stays reachable by section and key: the softcard driver the card loads reads its
 * own through the env's config_get (its section "card" is this file's [storage]).
 *
 *   [card]     state_dir, run_dir (required); netns (the lab's network namespace, a bound nsfs
 *              file: the card enters it at its start); api_socket (the operator's, default
 *              RUN/card.sock); softcard (the driver's .so), shim (zero-shim); log_level
 *   [storage]  qsd: the qemu-storage-daemon binary, as the softcard reads it
 *   [host]     kernel, initrd (the host image); memory_mib (1024), cpus (1), accel (tcg, kvm);
 *              listen (the orchestrator's address, HOST:PORT; port 0: one picked at the first
 *              start and kept); state_volume_size (bytes, 4 GiB); hotplug_ports (8);
 *              console_log_max (bytes, 1 MiB); autostart (true: the host is powered on when the
 *              card starts and finds it off); zerod_log_level (info); personality (of volumes
 *              presented without one: virtio-blk); maintenance (false: true gives the host a
 *              virtio-serial port, zero.maint, on RUN/host/maint.sock: host-init's fixed verbs
 *              for the lab's tests, docs/architecture.md "The host's maintenance port")
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ini.h"
#include "zero/error.h"

struct zc_config {
        struct zero_ini ini; /* every value by section and key */

        char *state_dir, *run_dir;
        char *netns;      /* NULL: stay in the namespace the card was started in */
        char *api_socket; /* the operator's socket */
        char *softcard;   /* softcard.so */
        char *shim;       /* zero-shim */
        int log_level;

        char *kernel, *initrd;
        uint64_t memory_mib;
        unsigned cpus;
        char *accel;
        char *listen; /* "HOST:PORT" */
        uint64_t state_volume_size;
        unsigned hotplug_ports;
        uint64_t console_log_max;
        bool autostart;
        char *zerod_log_level;
        char *personality;
        bool maintenance;
};

int zc_config_load(const char *path, struct zc_config **ret, struct zero_error *err);
struct zc_config *zc_config_free(struct zc_config *c);
const char *zc_config_get(const struct zc_config *c, const char *section, const char *key);
