/* SPDX-License-Identifier: Apache-2.0 */
/* zeroctl node | op show */
#include "cli/zeroctl.h"

int zeroctl_cmd_node(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr) {
        int r = zeroctl_parse_no_args(argc, argv, reterr);

        if (r != 0)
                return r;
        return zeroctl_get_and_print(z, "/v1/node", reterr);
}

int zeroctl_cmd_op_show(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr) {
        _cleanup_free_ char *path = NULL;
        const char *id;
        int r;

        r = zeroctl_parse_name_only(argc, argv, &id, reterr);
        if (r != 0)
                return r;
        path = zeroctl_object_path("operations", id, NULL);
        if (!path)
                return -ENOMEM;
        return zeroctl_get_and_print(z, path, reterr);
}
