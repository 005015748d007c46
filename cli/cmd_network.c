/* SPDX-License-Identifier: Apache-2.0 */
/* zeroctl network create | list | show | rm */
#include "cli/output.h"
#include "cli/zeroctl.h"
#include "common/util.h"

int zeroctl_parse_network_create(int argc, char **argv, json_t **ret_body,
                                 struct zero_error *reterr) {
        json_auto_t *body = json_object();
        const char *words[2];
        int r;

        if (!body)
                return -ENOMEM;
        r = zeroctl_parse_words(argc, argv, 2, words, reterr);
        if (r != 0)
                return r;
        /* Whether SUBNET is a usable IPv4 network is zerod's to say. */
        if ((r = zeroctl_json_set_string(body, "name", words[0], "the name", reterr)) < 0 ||
            (r = zeroctl_json_set_string(body, "subnet", words[1], "SUBNET", reterr)) < 0)
                return r;
        *ret_body = TAKE_PTR(body);
        return 0;
}

int zeroctl_cmd_network_create(struct zeroctl *z, int argc, char **argv,
                               struct zero_error *reterr) {
        json_auto_t *body = NULL;
        json_auto_t *network = NULL;
        const char *subnet, *gateway;
        int r;

        r = zeroctl_parse_network_create(argc, argv, &body, reterr);
        if (r != 0)
                return r;
        r = zeroctl_http_call(z->http, "POST", "/v1/networks", body, 0, &network, NULL, reterr);
        if (r < 0)
                return r;
        if (z->opts.json)
                return zeroctl_print_json(z->out, network);
        subnet = json_string_value(json_object_get(network, "subnet")) ?:
                         json_string_value(json_object_get(body, "subnet"));
        gateway = json_string_value(json_object_get(network, "gateway"));
        fprintf(z->out, "created network %s (%s%s%s)\n",
                json_string_value(json_object_get(body, "name")), subnet,
                gateway ? ", gateway " : "", strempty(gateway));
        return 0;
}

int zeroctl_cmd_network_list(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr) {
        return zeroctl_list_collection(z, argc, argv, "networks", "network",
                                       zeroctl_print_networks, reterr);
}

int zeroctl_cmd_network_show(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr) {
        return zeroctl_show_named(z, argc, argv, "networks", reterr);
}

int zeroctl_cmd_network_rm(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr) {
        return zeroctl_delete_named(z, argc, argv, "networks", "network", reterr);
}
