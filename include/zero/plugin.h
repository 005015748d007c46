/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Zero runtime plugin ABI.
 *
 * A runtime plugin is a shared object in the plugin directory that exports one symbol,
 * ZERO_PLUGIN_ENTRY, returning a const struct zero_plugin. The agent dlopen()s it with
 * RTLD_NOW|RTLD_LOCAL and reads fields past the ones it knows only when `size` says they exist.
 * Fields are only ever appended. This header and zero/error.h are installed; build a plugin with
 *   cc $(pkg-config --cflags zero-plugin) -shared -fPIC -o my.so my.c
 * (tests/plugins/example_plugin.c is one, built that way by tests/integration/plugin_example.sh).
 *
 * Versions: ZERO_PLUGIN_ABI_VERSION is major << 16 | minor, in struct zero_plugin's and struct
 * zero_plugin_services' abi_version.
 *  - The major changes when a layout or a meaning changes (a field moved or removed): the agent
 *    refuses a plugin of another major, and a plugin refuses a services table of another one.
 *  - The minor changes when fields, ops or services are appended to a struct (and only then):
 *    an agent loads a plugin built for a newer minor unless the plugin says it needs more
 *    (abi_minor_needed > the agent's minor: it would call a service the agent lacks); a plugin
 *    built for an older minor is loaded, and the agent reads its structs only as far as their
 *    size. A plugin that can do without a newer service checks svc->size (ZERO_SERVICE_HAS())
 *    before it calls it, and leaves abi_minor_needed at the minor it cannot do without.
 *
 * Plugins are translators: instance spec in, runtime actions out. They link nothing of the
 * agent's: everything they need from it (logging, configuration, the per-instance supervisor)
 * comes through the services table handed to init(). Plugins never block the agent's event loop
 * for long and never touch SQL or HTTP. All functions return >= 0 on success, -errno on failure,
 * with a reason in the optional struct zero_error.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zero/error.h"

/* ABI history. 2: struct zero_probe gained accelerator[]. 3: struct zero_error carries a domain
 * code (enum zero_errc), no HTTP status. 4.0: major and minor (the numbers before were majors);
 * struct zero_probe begins with size; zero_plugin.abi_minor_needed; per-instance private data
 * (services set_data, get_data); network namespaces (services netns_create, netns_remove); the
 * image's kernel and initrd in struct zero_instance_info. 4.1: prepare and cleanup may answer
 * ZERO_PLUGIN_PENDING ("call me again once done() comes"). 4.2: ops.card_needs, and the card
 * services answer from what the agent made (they never wait for the card). 4.3: live migration
 * (ops.migrate_out, ops.migrate_in, services.migrate_progress, zero_instance_info.incoming). 4.4:
 * services card_capabilities; zero_probe.exclusive; the agent probes every plugin again once the
 * card is open. 4.5: zero_shim_args.exec_argv and exec_target (commands run beside the instance:
 * zeroctl exec). 4.6: ops.handover (the host handed to an instance: bms). 4.7:
 * zero_shim_args.stdin_pipe (zeroctl console -i), zero_instance_info.stdin_open. 4.8:
 * zero_shim_args.sidecar_argv and sidecar_ready (a VM's swtpm), zero_instance_info.tpm,
 * zero_probe.tpm and tpm_reason. 4.9: a target started with info->incoming holds the guest it
 * received, paused, until RECEIVE runs it (the card's hand-over overlaps QEMU's last round);
 * zero_migrate_args.flags (ZERO_MIGRATE_CANCEL_COMPLETED).
 * 4.10: zero_shim_args.prepare_argv (the container's root volume mounted by the shim it spawns,
 * not by a fork of zerod). */
#define ZERO_PLUGIN_ABI_MAJOR 4
#define ZERO_PLUGIN_ABI_MINOR 10
#define ZERO_PLUGIN_ABI_MAKE(major, minor) ((uint32_t) (major) << 16 | (uint32_t) (minor))
#define ZERO_PLUGIN_ABI_MAJOR_OF(v) ((uint32_t) (v) >> 16)
#define ZERO_PLUGIN_ABI_MINOR_OF(v) ((uint32_t) (v) & 0xffffU)
#define ZERO_PLUGIN_ABI_VERSION ZERO_PLUGIN_ABI_MAKE(ZERO_PLUGIN_ABI_MAJOR, ZERO_PLUGIN_ABI_MINOR)
#define ZERO_PLUGIN_ENTRY "zero_plugin_entry"

/* A struct that begins with uint32_t size (or abi_version then size) has `field` when its size
 * reaches past it: what either side checks before it reads a field appended in a later minor. */
#define ZERO_ABI_HAS(s, type, field) ((s)->size >= offsetof(type, field) + sizeof(((type *) 0)->field))
#define ZERO_SERVICE_HAS(svc, field) ZERO_ABI_HAS(svc, struct zero_plugin_services, field)

/* The agent's handle for one instance, as one plugin sees it. Opaque to plugins. It is the same
 * pointer in every call of this plugin about the instance for as long as zerod knows the instance,
 * so a plugin that talks to its runtime asynchronously (the vm plugin's QMP connection) may keep
 * it between calls, until the agent calls ops.release() with it. Each plugin has a ctx of its own
 * for an instance (an instance switched from container to vm is known to both plugins), with one
 * slot of private data (services->set_data). */
struct zero_plugin_ctx;

/* An op that returns this has started work that ends later, from the event loop: the plugin then
 * calls services->done() exactly once. For boot and the hot-plug ops, done() ends the op. Since
 * 4.1 prepare and cleanup may answer it too, meaning "call me again once done() comes": a plugin
 * whose work needs a child process (the container plugin's own `crun delete`) starts it, answers
 * this, calls done() when the child has ended, and finds the work done when it is called again
 * (both ops are idempotent). The agent calls the op again from its loop after done(r >= 0); for
 * a cleanup no operation waits for (the instance ended by itself), too. A plugin of minor 0 that
 * answers 1 from prepare or cleanup is taken to have succeeded. */
#define ZERO_PLUGIN_PENDING 1

typedef struct sd_event sd_event;

struct zero_volume_info;
struct zero_nic_info;

/* What the agent tells a plugin about an instance. Valid for the duration of one call. */
struct zero_instance_info {
        uint32_t size;
        const char *id;   /* stable for the instance's life, across modes */
        const char *name; /* [a-z0-9][a-z0-9-]{0,62} */
        const char *mode; /* the plugin's mode ("container", "vm", ...) */
        unsigned cpus;
        uint64_t memory_mib;
        const char *const *argv; /* NULL-terminated command; never empty */
        const char *const *env;  /* NULL-terminated "KEY=VALUE" list */
        const char *hostname;
        const char *cwd;
        bool readonly_rootfs;
        const char *image_name;
        const char *image_dir; /* the imported image: rootfs/, base.ext4, ... */
        const char *run_dir;   /* volatile, per instance: bundle, shim socket, console log */
        /* Persistent, per instance, removed with it; the plugin may keep files there. Not the
         * root filesystem: that is the root volume (volumes[0]), which holds every write. */
        const char *state_dir;
        size_t n_volumes;
        const struct zero_volume_info *volumes; /* the root volume first, then data volumes */
        size_t n_nics;
        const struct zero_nic_info *nics; /* in order: eth0, eth1, ... */
        uint64_t pids_max; /* the spec's pids limit; 0: the plugin's default */
        bool userns;       /* the spec asks for a user namespace: root inside is not root outside */
        /* What a VM of the image boots: the image's kernel and initramfs, NULL when the image has
         * none (an image imported without "kernel" and "initrd"). */
        const char *kernel;
        const char *initrd;
        /* 4.3: the runtime is started to receive this instance from another node (live
         * migration): it waits for the instance's state instead of booting (ops.migrate_in). */
        bool incoming;
        /* 4.7: the spec asks for an open stdin ("stdin": true, as docker run -i): a runtime whose
         * instance would read the end of /dev/null (a container's command) keeps its stdin a
         * pipe (zero_shim_args.stdin_pipe) only then; one whose input never ends (a VM's serial)
         * may keep it always. */
        bool stdin_open;
        /* 4.8: the spec asks for a vTPM ("tpm": true). A runtime that has one (zero_probe.tpm)
         * keeps its state in state_dir, so that it outlives stops, starts and switches, and hands
         * the guest state_dir/ZERO_LAUNCH_DIGEST_FILE, which the agent writes before prepare. */
        bool tpm;
        /* Fields appended in later minors go here; read them when ZERO_ABI_HAS() says so. */
};

/* 4.8: in state_dir, the SHA-256 (64 hex digits) of the record of this start's measurements
 * (what it launches: docs/architecture.md, "Attestation"), written by the agent before prepare. A
 * runtime with a vTPM hands it to the guest, whose init extends it into the vTPM. */
#define ZERO_LAUNCH_DIGEST_FILE "launch.digest"

/* A volume attached to the instance. The plugin asks the card for the export it needs
 * (services->volume_export) and gives it back in cleanup (services->volume_unexport). */
struct zero_volume_info {
        uint32_t size;
        const char *name;
        const char *id;
        const char *role;        /* "root" or "data" */
        const char *path;        /* where a container mounts a data volume, NULL for root */
        const char *personality; /* the VM's disk: "virtio-blk", "virtio-scsi", "nvme" */
        uint64_t size_bytes;
};

/* A NIC of the instance, with the identity that stays with it in every mode. */
struct zero_nic_info {
        uint32_t size;
        const char *id;
        const char *network;
        const char *ifname;  /* "eth0", ... */
        const char *mac;     /* "02:xx:xx:xx:xx:xx" */
        const char *ip;      /* "10.77.0.5" */
        unsigned prefixlen;  /* 24 */
        const char *gateway; /* "10.77.0.1" */
        const char *bridge;  /* the host bridge, for taps */
};

/* How the per-instance supervisor (zero-shim) should run the runtime. */
struct zero_shim_args {
        uint32_t size;
        /* The runtime's command. Without pid_file this is the instance's main process (QEMU).
         * With pid_file it is a create command (crun create) that exits 0 once the instance's
         * process exists and has written its pid there; that process then becomes the main one. */
        const char *const *argv;
        const char *pid_file;
        const char *const *start_argv;   /* optional: run after create (crun start) */
        const char *const *cleanup_argv; /* optional: run after the main process exited */
        /* Run the runtime in a private mount namespace with cgroup2 at /sys/fs/cgroup: what crun
         * needs on hosts with hybrid cgroups (docs/architecture.md, "Containers"). */
        bool private_cgroup2;
        /* 4.5: how a command runs beside the instance (the API's exec), NULL: it cannot. The
         * command is exec_argv, then the exec's options (each one argument beginning with "-":
         * "--tty", "--env=K=V", "--cwd=DIR", "--console-socket=PATH", as crun exec takes them),
         * then exec_target (NULL: none), then the command and its arguments. */
        const char *const *exec_argv;
        const char *exec_target;
        /* 4.7: the instance's stdin a pipe the shim keeps (else /dev/null): what an interactive
         * console writes to (a container's shell, asked with info->stdin_open; a VM's serial on
         * QEMU's stdin, always). */
        bool stdin_pipe;
        /* 4.8: a helper the main process needs (a VM's swtpm), run by the shim beside it: started
         * first, dying with the shim, ready once the path sidecar_ready exists (5 s at most),
         * ended once the main process is gone. Not with pid_file. */
        const char *const *sidecar_argv;
        const char *sidecar_ready;
        /* 4.9: a command the shim runs to completion before anything else of the instance, in
         * the host's mount namespace (not the runtime's private one): what must be in place
         * before the runtime starts and costs the agent's loop a fork where the shim, already
         * started, costs none (a container's root volume mounted). Its failure is the spawn's,
         * with its output. NULL: none. A plugin checks the services' minor before it relies on
         * it: an older agent does not pass it on. */
        const char *const *prepare_argv;
};

/* Live migration (4.3). One migration is two operations, one per node: the source's runtime
 * sends (ops.migrate_out), the target's, started with info->incoming, receives (ops.migrate_in).
 * Each phase is an op that may answer ZERO_PLUGIN_PENDING, meaning "call me again once done()
 * comes" (as prepare and cleanup since 4.1), and answers 0 once it finds its phase's work done:
 * the agent journals the phases, and a phase called again after a crash of zerod looks at what
 * the runtime does and carries on. */
enum zero_migrate_phase {
        /* migrate_out, on the source: */
        ZERO_MIGRATE_SEND = 1, /* send the instance to args->uri until its guest is paused, just
                                * before the switchover: both sides may still go back */
        ZERO_MIGRATE_SWITCHOVER, /* go on: the rest, until the target has it all (and runs it;
                                  * a 4.9 target holds it until its RECEIVE). Once begun, the
                                  * guest may never run here again unless the agent knows the
                                  * target does not run it (CANCEL, ZERO_MIGRATE_CANCEL_COMPLETED) */
        ZERO_MIGRATE_CANCEL,     /* give up: the migration stops and the guest runs here again */
        /* migrate_in, on the target: */
        ZERO_MIGRATE_LISTEN,  /* listen at args->uri ("tcp:HOST:0": a port of the runtime's
                               * choosing); the address is reported with migrate_progress */
        ZERO_MIGRATE_RECEIVE, /* until the guest runs here, then announce it on its networks.
                               * From 4.9 the target holds the guest it received, paused, until
                               * RECEIVE: the agent calls it once its card took the volumes, and
                               * the source may go on (SWITCHOVER) before that */
};

/* zero_migrate_args.flags (4.9). */
enum {
        /* CANCEL: resume the guest here even when its migration completed (the agent knows the
         * target never ran it, nor will: its QEMU is gone). Without it a completed migration is
         * not undone (-EALREADY). */
        ZERO_MIGRATE_CANCEL_COMPLETED = 1U << 0,
};

struct zero_migrate_args {
        uint32_t size;
        const char *uri;      /* SEND: where the target listens; LISTEN: where to listen */
        uint64_t downtime_ms; /* SEND: the longest the guest may be paused at the end; 0: the plugin's */
        uint64_t bandwidth;   /* SEND: bytes per second at most; 0: the plugin's */
        uint32_t flags;       /* ZERO_MIGRATE_* above (4.9) */
};

/* What a migration's runtime reports as it goes (services->migrate_progress). */
struct zero_migrate_stats {
        uint32_t size;
        const char *status; /* the runtime's word: "active", "pre-switchover", "completed", ... */
        const char *uri;    /* LISTEN: the address the target listens at; NULL otherwise */
        uint64_t ram_total_bytes, ram_transferred_bytes, ram_remaining_bytes;
        uint64_t dirty_rate_bytes;  /* per second, as the runtime last measured it */
        uint64_t throughput_bytes;  /* per second, the link as the runtime measures it */
        uint64_t expected_downtime_ms;
        uint64_t iterations;        /* passes over the guest's dirty memory */
        unsigned cpu_throttle_percent; /* how much the guest is slowed to converge (0: not) */
        /* Once completed: how long the guest was paused, the whole time, the setup's. */
        uint64_t downtime_ms, total_ms, setup_ms;
};

struct zero_plugin_services {
        uint32_t abi_version;
        uint32_t size;
        /* ctx may be NULL for messages not about one instance. */
        void (*log)(struct zero_plugin_ctx *ctx, int priority, const char *fmt, ...)
                __attribute__((format(printf, 3, 4)));
        /* Configuration value from the agent's config file, or NULL when unset. */
        const char *(*config_get)(const char *section, const char *key);
        /* Starts the instance's shim. Returns once the shim is launched; the agent follows the
         * shim's report and tells the user when the instance runs or why it failed. */
        int (*shim_spawn)(struct zero_plugin_ctx *ctx, const struct zero_shim_args *args,
                          struct zero_error *err);
        /* Sends a signal to the instance's main process through its shim. */
        int (*shim_signal)(struct zero_plugin_ctx *ctx, int signal, struct zero_error *err);
        /* The card. None of these waits for the card: the card's work is the agent's (a job per
         * volume or NIC, from its loop), recorded in the store when the card is done, and undone
         * by the agent's reconciliation if the instance is gone. Each call is idempotent.
         * volume_export answers with what the agent made: the export's path (kind "host-block":
         * /dev/loopN; "vhost-user-blk", "nbd": a unix socket). The agent makes what the plugin's
         * card_needs names before prepare and before plug_volume / plug_nic (4.2); an export it
         * has not made yet (a plugin without card_needs, a kind card_needs did not name) is asked
         * of the card now and the call fails with -EAGAIN, ZERO_E_UNAVAILABLE, "under way": the
         * agent calls the op (prepare, start, plug_*) again once the card is done, so a plugin
         * only passes the error on. A volume has one export at a time: another kind while
         * exported is -EBUSY, ZERO_E_CONFLICT. volume_unexport starts the card's work and returns
         * (the agent waits for it in a step of its own, "card_down", after cleanup and unplug). */
        int (*volume_export)(struct zero_plugin_ctx *ctx, const char *volume, const char *kind, char *ret_path,
                             size_t size, struct zero_error *err);
        int (*volume_unexport)(struct zero_plugin_ctx *ctx, const char *volume, struct zero_error *err);
        /* kind "veth": into the network namespace bound at netns_path, configured as the NIC's
         * ifname with its MAC, address and default route. kind "tap": a tap on the network's
         * bridge; netns_path NULL; ret_ifname gets the tap's name. Answered and started like
         * volume_export and volume_unexport. */
        int (*nic_attach)(struct zero_plugin_ctx *ctx, const char *nic_id, const char *kind, const char *netns_path,
                          char *ret_ifname, size_t size, struct zero_error *err);
        int (*nic_detach)(struct zero_plugin_ctx *ctx, const char *nic_id, struct zero_error *err);
        /* The agent's sd-event loop, for plugins that talk to their runtime without blocking (the
         * vm plugin's QMP). A plugin removes its sources in release() and fini(). */
        sd_event *event;
        /* Ends an op that returned ZERO_PLUGIN_PENDING: r >= 0 done, r < 0 failed with err. */
        void (*done)(struct zero_plugin_ctx *ctx, int r, const struct zero_error *err);
        /* Something the runtime did on its own (a QMP event): recorded as the instance event
         * "instance.<event>" with {"reason": reason}. state, when not NULL, is the instance's new
         * state ("paused", "running"); the agent takes it only while the instance runs. */
        void (*notify)(struct zero_plugin_ctx *ctx, const char *event, const char *state, const char *reason);
        /* The plugin's private data about the instance: one pointer per ctx, NULL until set. The
         * agent never reads or frees it; the plugin frees it, at the latest in release(), which
         * the agent calls for every ctx it handed out before it calls fini(). So a plugin needs
         * no registry of its own keyed by ctx. */
        void (*set_data)(struct zero_plugin_ctx *ctx, void *data);
        void *(*get_data)(struct zero_plugin_ctx *ctx);
        /* A network namespace bound at path (a file it creates, in an existing directory: the
         * instance's run_dir), as `ip netns add` does, with lo up; for nic_attach("veth") and the
         * runtime's config. The agent makes it without entering it. Idempotent: a path that holds
         * a network namespace already is success. netns_remove unmounts it (lazily: processes
         * inside keep it) and removes the file; a missing path is success. */
        int (*netns_create)(struct zero_plugin_ctx *ctx, const char *path, struct zero_error *err);
        int (*netns_remove)(struct zero_plugin_ctx *ctx, const char *path, struct zero_error *err);
        /* 4.3: how the migration of ctx's instance goes (ops.migrate_out, migrate_in), whenever
         * the runtime says; the agent shows it with the operation. stats is the caller's. */
        void (*migrate_progress)(struct zero_plugin_ctx *ctx, const struct zero_migrate_stats *stats);
        /* 4.4. What the node's card can do (ZERO_PLUGIN_CARD_*): 0 until the card is open. The
         * agent probes every plugin again once it opened the card, so a probe that depends on it
         * (the bms plugin's) asks here. No I/O. */
        uint64_t (*card_capabilities)(void);
        /* Services appended in later minors go here: check ZERO_SERVICE_HAS() before a call. */
};

/* The card outlives the host's kernel (a kexec, a reset): its volumes, NICs and API stay up.
 * Not the softcard, which runs on the host's kernel. */
#define ZERO_PLUGIN_CARD_OUTLIVES_HOST (UINT64_C(1) << 0)

struct zero_probe {
        uint32_t size;                 /* the agent's sizeof(struct zero_probe): fill no more */
        bool available;                /* this plugin can run instances here */
        bool resource_limits_enforced; /* cpu and memory limits are applied */
        char reason[256];              /* why not available, or what is degraded */
        char runtime[128];             /* runtime and version in use, e.g. "crun 1.8.1" */
        char accelerator[16];          /* the vm plugin's: "kvm" or "tcg"; "" for the others */
        /* 4.4. An instance of this mode needs the node to itself (bms: the tenant gets the whole
         * host): the agent admits it only while no other instance holds the node, and no other
         * while it does. */
        bool exclusive;
        /* 4.8. The runtime gives an instance whose spec says "tpm": true a vTPM (the vm plugin's
         * swtpm); tpm_reason says why not when it cannot. */
        bool tpm;
        char tpm_reason[128];
};

/* What an instance needs of the card to run in a plugin's mode (ops.card_needs, 4.2). The agent
 * passes it zeroed, with size and both arrays (as long as the info's volumes and nics, NULL when
 * there are none); the plugin sets the entries it needs, to static strings. */
struct zero_card_needs {
        uint32_t size; /* the agent's sizeof(struct zero_card_needs) */
        /* One per info->volumes[i]: how the runtime takes the volume, "host-block",
         * "vhost-user-blk" or "nbd"; NULL: not at all. */
        const char **volume_export;
        /* One per info->nics[i]: "veth" or "tap"; NULL: not at all. */
        const char **nic_attach;
        /* Where the veths go: the agent binds a new network namespace here (as netns_create does)
         * before it attaches them, and removes it after it detached them. An absolute path in
         * info->run_dir; "" when no NIC is a veth. */
        char netns_path[256];
};

/* 4.6. What the host boots when it is handed to an instance (ops.handover): the agent loads it
 * with kexec_file_load(2) and reboots into it, once the card holds the instance's volumes and
 * NICs and nothing else of the host. The agent passes it zeroed with size set. */
#define ZERO_HANDOVER_CMDLINE_MAX 2048 /* x86's COMMAND_LINE_SIZE, NUL included */
struct zero_handover {
        uint32_t size;
        char kernel[4096]; /* the kernel's file (the image's) */
        char initrd[4096]; /* its initramfs */
        char cmdline[ZERO_HANDOVER_CMDLINE_MAX];
};

struct zero_plugin_ops {
        int (*init)(const struct zero_plugin_services *svc, struct zero_error *err);
        void (*fini)(void);
        /* ret arrives zeroed with size set to the agent's struct: the plugin fills the fields that
         * fit (ZERO_ABI_HAS(ret, struct zero_probe, field) for one appended later) and keeps size. */
        int (*probe)(struct zero_probe *ret);
        /* Idempotent. Lays out what the runtime needs (bundle, rootfs mount). */
        int (*prepare)(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info,
                       struct zero_error *err);
        /* Launches the runtime through services->shim_spawn. */
        int (*start)(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info,
                     struct zero_error *err);
        /* Asks the instance to stop gracefully; the agent kills it after the timeout. */
        int (*stop)(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info,
                    struct zero_error *err);
        int (*kill)(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, int signal,
                    struct zero_error *err);
        /* Idempotent. Undoes prepare once the instance is not running. */
        int (*cleanup)(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info,
                       struct zero_error *err);
        /* The ops below are optional (NULL). */
        /* After the shim reported the runtime's process: bring the instance to running (the vm
         * plugin checks the devices of the paused QEMU, then "cont"). Idempotent: after a crash it
         * runs again on whatever state the runtime is in. May return ZERO_PLUGIN_PENDING. */
        int (*boot)(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, struct zero_error *err);
        /* zerod found the instance's shim alive at its start: reconnect to the runtime. Never
         * blocks; a failure is only logged. */
        int (*adopt)(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, struct zero_error *err);
        /* The runtime's own status as last known ("running", "paused", "prelaunch", ...), without
         * blocking; -ENODATA when it knows none. */
        int (*status)(struct zero_plugin_ctx *ctx, char *ret, size_t size);
        /* Online configuration of a running instance: vol / nic is the one to add or remove; info
         * is the instance as stored, with vol / nic among its own in both cases. The plugin asks the card for the export
         * or the tap first and gives it back last. May return ZERO_PLUGIN_PENDING. Without these
         * the agent answers 409 while the instance runs. */
        int (*plug_volume)(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info,
                           const struct zero_volume_info *vol, struct zero_error *err);
        int (*unplug_volume)(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info,
                             const struct zero_volume_info *vol, struct zero_error *err);
        int (*plug_nic)(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info,
                        const struct zero_nic_info *nic, struct zero_error *err);
        int (*unplug_nic)(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info,
                          const struct zero_nic_info *nic, struct zero_error *err);
        /* The agent forgets ctx (the instance is deleted, or zerod exits): drop every reference,
         * and free the private data (services->set_data). Called for every ctx before fini(). */
        void (*release)(struct zero_plugin_ctx *ctx);
        /* 4.2. What the instance needs of the card in this mode (exports, NIC attachments, the
         * veths' namespace). The agent makes it before prepare (create, start, restart, switch)
         * and before plug_volume / plug_nic, in a step of its own ("card_up") that waits for the
         * card without blocking anyone, and takes it down after cleanup and unplug ("card_down").
         * Without it the agent makes nothing up front: each export the plugin asks for is made
         * when it asks (services above), one call and one retry at a time. A pure description of
         * the mode: no side effect, called whenever the agent needs to know. */
        int (*card_needs)(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info,
                          struct zero_card_needs *ret, struct zero_error *err);
        /* 4.3. Live migration (struct zero_migrate_args above): the phases of the source's
         * (migrate_out: SEND, SWITCHOVER, CANCEL) and of the target's (migrate_in: LISTEN,
         * RECEIVE), each idempotent, each ZERO_PLUGIN_PENDING until it is done. A plugin without
         * them cannot migrate: the agent refuses the migration. */
        int (*migrate_out)(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info,
                           enum zero_migrate_phase phase, const struct zero_migrate_args *args, struct zero_error *err);
        int (*migrate_in)(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info,
                          enum zero_migrate_phase phase, const struct zero_migrate_args *args, struct zero_error *err);
        /* 4.6. The instance takes the whole host (an exclusive mode's): instead of start, the
         * agent hands the host over (agent/handover.c: the card told, the store durable, the
         * kernel loaded and booted) with what this fills in; start is never called. A pure
         * description of the instance, as card_needs: no side effect. After the hand-over the
         * host's zerod is gone; the instance ends when the card takes the host back, and the
         * agent records how once it runs again. */
        int (*handover)(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, struct zero_handover *ret,
                        struct zero_error *err);
        /* Ops appended in later minors go here: the agent calls them when the plugin's size says
         * they exist. */
};

struct zero_plugin {
        uint32_t abi_version; /* ZERO_PLUGIN_ABI_VERSION as the plugin was built */
        uint32_t size;        /* sizeof(struct zero_plugin) as the plugin was built */
        const char *name;     /* "container" */
        /* The instance mode it runs ("container", "vm", ...): [a-z][a-z0-9_-]{0,31}, one plugin
         * per mode. The modes a user may ask for are those of the loaded plugins. */
        const char *mode;
        /* The oldest minor of ZERO_PLUGIN_ABI_MAJOR the plugin works with (see the top). */
        uint32_t abi_minor_needed;
        struct zero_plugin_ops ops; /* last: ops are appended to it */
};

typedef const struct zero_plugin *(*zero_plugin_entry_fn)(void);
