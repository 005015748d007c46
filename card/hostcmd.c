/* SPDX-License-Identifier: Apache-2.0 */
/* The host's QEMU command line (host.h), a pure function. */
#include <stdio.h>
#include <string.h>

#include "card/host.h"
#include "common/util.h"

#define PORT_SLOT_FIRST                                                        \
  2 /* pcie.0's slot 0 is the host bridge, 1 stays free, 0x1f is the ICH9's */

char *zc_host_port_arg(const char *id, unsigned k) {
  unsigned slot = PORT_SLOT_FIRST + k / 8, fn = k % 8;

  return zero_strdup_printf(
      "pcie-root-port,id=%s,chassis=%u,bus=pcie.0,addr=0x%x.0x%x%s", id, k + 1,
      slot, fn, fn == 0 ? ",multifunction=on" : "");
}

struct builder {
  char **v;
  size_t n, size;
  int r;
};

static void add(struct builder *b, char *s) {
  if (b->r < 0 || !s) {
    b->r = b->r < 0 ? b->r : -ENOMEM;
    free(s);
    return;
  }
  if (b->n + 2 > b->size) {
    size_t size = b->size ? b->size * 2 : 64;
    char **v = realloc(b->v, size * sizeof(char *));
    if (!v) {
      free(s);
      b->r = -ENOMEM;
      return;
    }
    b->v = v;
    b->size = size;
  }
  b->v[b->n++] = s;
  b->v[b->n] = NULL;
}

#define ADD(b, ...) add((b), zero_strdup_printf(__VA_ARGS__))

/* QEMU's option syntax doubles a comma inside a value. */
static char *escaped(const char *s) {
  char *o = malloc(strlen(s) * 2 + 1), *p = o;

  for (; o && *s; s++) {
    *p++ = *s;
    if (*s == ',')
      *p++ = ',';
  }
  if (o)
    *p = '\0';
  return o;
}

int zc_host_cmdline(const struct zc_host_cmd *o, char ***ret, size_t *ret_n,
                    unsigned *ret_port) {
  struct builder b = {};
  unsigned port = 0;
  bool kvm = streq(o->accel, "kvm");
  _cleanup_free_ char *sock = escaped(o->card_socket);

  add(&b, strdup(o->qemu ? o->qemu : "qemu-system-x86_64"));
  add(&b, strdup("-nodefaults"));
  add(&b, strdup("-no-user-config"));
  add(&b, strdup("-name"));
  add(&b, strdup("zero-host,debug-threads=on"));
  add(&b, strdup("-machine"));
  add(&b, strdup("q35"));
  add(&b, strdup("-accel"));
  add(&b, strdup(o->accel));
  /* -cpu max under TCG: RDRAND seeds the guest's RNG at once (mkfs.ext4 waited
   * 3 s for it with qemu64: deploy/images/README.md). */
  add(&b, strdup("-cpu"));
  add(&b, strdup(kvm ? "host" : "max"));
  add(&b, strdup("-smp"));
  ADD(&b, "%u", o->cpus);
  add(&b, strdup("-m"));
  ADD(&b, "%lluM", (unsigned long long)o->memory_mib);
  add(&b, strdup("-display"));
  add(&b, strdup("none"));
  /* The serial console on stdout, which the shim keeps as the console log. */
  add(&b, strdup("-chardev"));
  add(&b, strdup("stdio,id=console,signal=off"));
  add(&b, strdup("-serial"));
  add(&b, strdup("chardev:console"));
  add(&b, strdup("-qmp"));
  ADD(&b, "unix:%s,server=on,wait=off", o->qmp_path);
  add(&b, strdup("-kernel"));
  add(&b, strdup(o->kernel));
  add(&b, strdup("-initrd"));
  add(&b, strdup(o->initrd));
  add(&b, strdup("-append"));
  add(&b, strdup(o->append));
  for (const char *const *n = o->fw_names; n && *n; n++) {
    add(&b, strdup("-fw_cfg"));
    ADD(&b, "name=opt/zero/%s,file=%s/%s", *n, o->fw_dir, *n);
  }
  /* The management link: slirp, restricted to the two forwards (host.h). No
   * -sandbox: the guestfwd's cmd: forks socat, which spawn=deny forbids. */
  add(&b, strdup("-netdev"));
  ADD(&b,
      "user,id=mgmt,restrict=on,hostfwd=tcp:127.0.0.1:%u-:%u,guestfwd=tcp:%s-"
      "cmd:socat STDIO UNIX-CONNECT:%s",
      HOST_FORWARD_PORT, HOST_FORWARD_PORT, HOST_CARD_ADDR, strempty(sock));
  add(&b, strdup("-device"));
  add(&b, zc_host_port_arg("pm", port++));
  add(&b, strdup("-device"));
  ADD(&b, "virtio-net-pci,id=mgmt0,netdev=mgmt,mac=%s,bus=pm,romfile=",
      HOST_MGMT_MAC);
  /* One virtio-scsi controller always, so that a SCSI disk can be presented on
   * its bus. */
  add(&b, strdup("-device"));
  add(&b, zc_host_port_arg("ps", port++));
  add(&b, strdup("-device"));
  ADD(&b, "virtio-scsi-pci,id=%s,bus=ps", HOST_SCSI_ID);
  /* The spares for hot-plug come last, after the presentations' own (the
   * caller's). */
  if (b.r < 0) {
    strv_free(b.v);
    return b.r;
  }
  *ret = b.v;
  *ret_n = b.n;
  *ret_port = port;
  return 0;
}
