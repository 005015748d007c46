/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The host: a QEMU VM (q35, TCG here; [host] accel = kvm where it works) booting the host image
 * (deploy/images/build-host-image) with no disk and no NIC but what the card presents and its
 * management link, run under zero-shim (RUN/host: the serial console captured and size-capped as an
 * instance's, the exit recorded), so that it outlives a restart of the card, which adopts it.
 *
 * Power: "on" (QEMU started with every presentation on its command line, the state volume first),
 * "powerdown" (the ACPI button, pressed again every second until QEMU exits: the host's init stops
 * zerod and its instances and powers off), "off" (QMP quit, then SIGKILL through the shim), "reset"
 * (QMP system_reset: the host boots again, its devices stay). Each is a job on the object "host"
 * (job.h), answered once it is done.
 *
 * The management link (QEMU user networking, restrict=on): the host reaches the card's API as
 * 10.0.2.100:80 (guestfwd to the card's host socket, a socat per connection) and nothing else;
 * zerod's TLS port is forwarded to 127.0.0.1:HOST_FORWARD_PORT of the lab's namespace, which
 * forward.c serves to the orchestrator.
 */
#include <jansson.h>
#include <stdbool.h>

#include "io/qmp.h"
#include "zero/error.h"

struct zc;
struct zc_job;

#define HOST_SCSI_ID "scsi0"   /* the one virtio-scsi controller, always there */
#define HOST_FORWARD_PORT 8443 /* zerod's TLS port, and where QEMU's hostfwd listens */
#define HOST_MGMT_MAC "52:54:00:00:0a:01"
#define HOST_CARD_ADDR "10.0.2.100:80"
#define HOST_NET "10.0.2.15/24 10.0.2.2"

/* Adopts a host that runs (its shim answers), or finds it off. */
int zc_host_open(struct zc *zc, struct zero_error *err);
/* The card stops: the host runs on (its shim outlives the card). */
void zc_host_close(struct zc *zc);

/* "on", "off", "powerdown" (timeout_s: how long to wait for the guest, 0: 60 s), "reset". */
int zc_host_power(struct zc *zc, const char *action, unsigned timeout_s, struct zc_job **ret, struct zero_error *err);
/* { "power": "off"|"starting"|"running"|"stopping", "status": QEMU's, "orchestrator": URL, ... } */
json_t *zc_host_json(struct zc *zc);
/* The last bytes (at most max) of the host's console. */
int zc_host_console(struct zc *zc, size_t max, char **ret, size_t *ret_len);

/* The ids of the devices QEMU has (qom-list /machine/peripheral), answered from the loop: what the
 * card presents, as the host's PCIe bus has it (ids: card/present.c). */
typedef void (*zc_host_devices_fn)(void *userdata, int r, json_t *ids, const struct zero_error *err);
int zc_host_devices(struct zc *zc, zc_host_devices_fn fn, void *userdata, struct zero_error *err);

/* Whether the host's QEMU runs (powered on, not off yet); whether its QMP connection is ready;
 * and the way to it (io/hotplug.h's send; userdata is the zc): -ENOTCONN while there is no
 * connection (QEMU making its socket, or a connection lost and being made again). */
bool zc_host_qmp_up(struct zc *zc);
bool zc_host_qmp_ready(struct zc *zc);
int zc_host_qmp_send(void *userdata, const char *execute, json_t *arguments, zero_qmp_reply_fn cb, void *cb_userdata);

/* hostcmd.c: the host's QEMU command line without its presentations and spare ports, appended
 * to b; *port counts the pcie-root-ports made (io/qemu_args.h). */
struct zero_argv;
struct zc_host_cmd {
        const char *qemu, *accel, *kernel, *initrd, *append;
        unsigned cpus;
        uint64_t memory_mib;
        const char *qmp_path;
        const char *fw_dir;          /* the fw_cfg files: opt/zero/NAME from FW_DIR/NAME */
        const char *const *fw_names; /* NULL-terminated */
        const char *card_socket;     /* the guestfwd's target */
        const char *maint_socket;    /* NULL: no maintenance port (config.h, [host] maintenance) */
};
int zc_host_cmdline(const struct zc_host_cmd *o, struct zero_argv *b, unsigned *port);
