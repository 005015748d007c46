/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * What the container plugin's files share: container.c (the ops, the plugin's state, its
 * commands in children) and volumes.c (the card's volumes and NICs as the container's mounts and
 * namespace). Inside the plugin only: nothing here is exported (hidden visibility).
 */
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/macro.h"
#include "plugins/container/oci.h"
#include "plugins/container/probe.h"
#include "zero/plugin.h"

#define DEVICE_PATH_MAX 256

/* The plugin's state, one per process (container.c). */
struct container_plugin {
        const struct zero_plugin_services *svc;
        char *runtime;   /* crun, resolved in $PATH at init */
        char *mount;     /* mount(8), resolved likewise: the rootfs's nodev hook (oci.h) */
        /* zero-container-mount beside zerod (or [container] mount_helper): the root volume's mount
         * off the loop, and the nodev hook in one exec; NULL: mount(2) on the loop, mount(8) */
        char *mount_helper;
        /* The helper's root mount is the shim's prepare command (plugin ABI 4.10): an agent that
         * passes it on, and the helper. Else prepare runs it in a child of zerod. */
        bool shim_mounts_root;
        char *crun_root; /* AGENT_RUN_DIR/crun */
        enum zero_cgroup_manager configured;
        /* The probe is cached once it succeeded; a failed one is repeated at the next call,
         * so installing crun needs no agent restart. */
        bool probed;
        struct zero_probe probe;
        struct zero_cgroup_plan plan;
        char manager_opt[40]; /* "--cgroup-manager=M" */
        uint64_t pids_max;    /* [container] pids_max: a container's default pids limit */
        uint32_t userns_base; /* [container] userns_base: host id of root in a user namespace */
        char *seccomp_bpf;    /* the profile compiled once at probe; NULL: crun compiles it */
        char **host_masked;   /* masked paths only some hosts have (thermal_throttle) */
};
extern struct container_plugin plugin;

/* A log line through the agent, once the plugin is initialised. */
#define plog(ctx, prio, ...)                                                                       \
        do {                                                                                       \
                if (plugin.svc)                                                                    \
                        plugin.svc->log((ctx), (prio), __VA_ARGS__);                               \
        } while (0)

/* The names of one instance's files, all derived from its info. */
struct ctr {
        char *id; /* crun's name for it: "zero-" + info->id */
        char *bundle, *rootfs, *config, *pid_file;
        char *netns; /* RUN_DIR/netns: the network namespace holding the card's NICs */
        char *volumes; /* RUN_DIR/bundle/volumes: data volumes mounted (idmapped too), for crun to bind */
};

/* The card's state for one prepare: the data volumes' devices for config.json. */
struct card_plan {
        struct zero_oci_volume_mount *mounts;
        char (*devices)[DEVICE_PATH_MAX];
        size_t n_mounts;
};

static inline void card_plan_done(struct card_plan *p) {
        free(p->mounts);
        free(p->devices);
}

/* zero_error_set() with the code of every runtime failure. */
_printf_(3, 4) int runtime_error(struct zero_error *err, int r, const char *fmt, ...);

/* The plugin's own commands, in a child watched on the agent's loop (container.c). */
enum ctr_child { CHILD_DELETE, CHILD_SYNC, CHILD_MOUNT, _CHILD_MAX };
int child_run(struct zero_plugin_ctx *ctx, enum ctr_child kind, const char *id, const char *const *argv,
              struct zero_error *err);
bool child_ended_well(struct zero_plugin_ctx *ctx, enum ctr_child kind);

/* volumes.c */
int mkdir_mode(const char *path, mode_t mode);
/* The root volume mounted as bundle/rootfs, the data volumes for crun to bind (p), the NICs in
 * the instance's namespace: what prepare needs of the card. */
int card_prepare(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, const struct ctr *c,
                 struct card_plan *p, struct zero_error *err);
/* plugin.shim_mounts_root: the helper's command that mounts the root volume (argv: 5 entries,
 * its strings the plugin's and dev's), for the shim to run first; 0 with argv[0] NULL when it
 * is mounted already or the container is mounted by prepare (user namespace). */
int root_mount_argv(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, const struct ctr *c,
                    char dev[static DEVICE_PATH_MAX], const char *argv[static 5], struct zero_error *err);
/* The container's filesystems synced (`sync -f` in a child: ZERO_PLUGIN_PENDING until it ended)
 * and unmounted. */
int unmount_flushed(struct zero_plugin_ctx *ctx, const struct ctr *c, struct zero_error *err);
/* The card's exports, NICs and namespace given back. */
int card_cleanup(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, const struct ctr *c,
                 struct zero_error *err);
