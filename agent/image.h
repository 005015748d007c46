/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Images: STATE/images/NAME holds rootfs/ (the tree), base.ext4 (the base volumes are cloned
 * from) and, for images that boot, vmlinuz and initrd.img. An import is an operation (kind
 * "import", image_import.c) that works in STATE/images/.import/OPERATION_ID and renames the
 * finished image into place, so a crash never leaves a half image under a real name.
 */
#include <jansson.h>

#include "agent/agent.h"

/* IMAGE_DIR/base.ext4: the image's root filesystem as ext4, the base of volumes. */
#define ZERO_IMAGE_BASE_FILE "base.ext4"
/* IMAGE_DIR/vmlinuz and IMAGE_DIR/initrd.img: what a VM of the image boots (optional). */
#define ZERO_IMAGE_KERNEL_FILE "vmlinuz"
#define ZERO_IMAGE_INITRD_FILE "initrd.img"
/* {"base.ext4": SHA-256 hex, "vmlinuz": …, "initrd.img": …}: what zero-unpack hashed at import,
 * so that a start's measurement (attest.h) never hashes an image on zerod's loop. */
#define ZERO_IMAGE_DIGESTS_FILE "digests.json"
/* Imports (running operations and uploads still coming in) at once; more are refused (unavailable). */
#define ZERO_IMAGE_IMPORTS_MAX 4

/* A host path of a JSON import (what: "source", "kernel", "initrd"), allowed only below an
 * [images] import_dirs directory once every symlink is resolved: ZERO_E_FORBIDDEN with the rule
 * otherwise, invalid when it is not absolute or does not exist. *ret_dir is that directory (resolved),
 * *ret_rel the path below it ("." for the directory itself); zero-unpack opens it again beneath
 * the directory without following symlinks, so a symlink swapped in later cannot redirect it. */
int zero_image_host_path(struct zero_agent *a, const char *what, const char *path, char **ret_dir, char **ret_rel,
                         struct zero_error *err);

/* STATE/images/NAME, and an import's STATE/images/.import/ID (NULL when out of memory). */
char *zero_image_dir(struct zero_agent *a, const char *name);
char *zero_image_work_dir(struct zero_agent *a, const char *op_id);
/* At start, once unfinished operations are resumed: removes every import work directory that
 * no running import owns (an upload cut short by a crash, say), and older zerods' leftovers. */
void zero_image_sweep(struct zero_agent *a);

/* The image's directory, gone at once from its name (zero_image_discard). */
int zero_image_remove_files(struct zero_agent *a, const char *name);
/* Renames path (a directory of STATE/images) into the work directory at once, where a child
 * removes it (zero_image_remove_later). */
int zero_image_discard(struct zero_agent *a, const char *path);

/* Removes a work directory in such a child: unlinking the blocks of an upload of some GiB takes
 * the file system long enough to stall every other request if the loop did it (it_image_responsive).
 * What a stopping zerod leaves is removed by the next one's zero_image_sweep(). */
void zero_image_remove_later(struct zero_agent *a, const char *path);
json_t *zero_image_to_json(const struct zero_image_row *r);

/* image_import.c: the running import of image name (an operation), or NULL. */
struct zero_op *zero_image_import_running(struct zero_agent *a, const char *name);
/* Imports running or still uploading. */
unsigned zero_image_imports(struct zero_agent *a);
