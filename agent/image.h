/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <jansson.h>

#include "agent/agent.h"

/* IMAGE_DIR/base.ext4: the image's root filesystem as ext4, the base of volumes. */
#define ZERO_IMAGE_BASE_FILE "base.ext4"
/* IMAGE_DIR/vmlinuz and IMAGE_DIR/initrd.img: what a VM of the image boots (optional). */
#define ZERO_IMAGE_KERNEL_FILE "vmlinuz"
#define ZERO_IMAGE_INITRD_FILE "initrd.img"

/* Copies or unpacks source into the image store; the caller records the row. Blocks while it
 * copies: images are imported rarely and are small (see docs/architecture.md). */
struct zero_image_source {
        const char *rootfs; /* a directory or a tarball */
        const char *kernel; /* optional: a kernel image file */
        const char *initrd; /* optional (needs kernel): an initramfs file */
};
int zero_image_import(struct zero_agent *a, const char *name, const struct zero_image_source *src,
                      struct zero_image_row *ret, struct zero_error *err);
int zero_image_remove_files(struct zero_agent *a, const char *name);
json_t *zero_image_to_json(const struct zero_image_row *r);
