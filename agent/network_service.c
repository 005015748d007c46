/* SPDX-License-Identifier: Apache-2.0 */
/* The network service (network_service.h). */
#include "agent/network_service.h"

#include <arpa/inet.h>
#include <string.h>

#include "agent/card_spec.h"
#include "agent/operation.h"
#include "common/log.h"
#include "common/text.h"
#include "common/util.h"

static const char *const net_state_names[_ZERO_NET_STATE_MAX] = {
        [ZERO_NET_CREATING] = "creating",
        [ZERO_NET_READY] = "ready",
        [ZERO_NET_DELETING] = "deleting",
};

const char *zero_net_state_name(enum zero_net_state s) {
        return zero_state_name_at(net_state_names, _ZERO_NET_STATE_MAX, s);
}

enum zero_net_state zero_net_state_of(const struct zero_network_row *row) {
        return row->state ? (enum zero_net_state) zero_state_index(net_state_names, _ZERO_NET_STATE_MAX, row->state)
                          : ZERO_NET_READY;
}

int zero_network_load(struct zero_agent *a, const char *name, struct zero_network_row *row, struct zero_error *err) {
        int r = zero_store_network_get(a->store, name, row);

        if (r == -ENOENT)
                return zero_error_set(err, r, ZERO_E_NOT_FOUND, "no network named '%s'", ZERO_QUOTE(name));
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_UNAVAILABLE, "cannot read network: %s", strerror(-r));
        return 0;
}

/* The row (new or changed) and the operation on it, in one transaction, then launched. Takes op. */
static int record(struct zero_agent *a, struct zero_network_row *row, bool create, struct zero_op **ret_op,
                  struct zero_error *err) {
        struct zero_op *op = NULL;
        int r;

        r = zero_op_new_network(a, create ? "network_create" : "network_delete", row->name, NULL, &op);
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_INTERNAL, "cannot create the operation: %s", strerror(-r));
        r = zero_store_begin(a->store);
        if (r >= 0)
                r = create ? zero_store_network_insert(a->store, row) : zero_store_network_update(a->store, row);
        r = zero_op_commit_and_launch(a, r, op, create ? "a network" : NULL, row->name, NULL, err);
        if (r < 0)
                return r;
        log_info("%s network %s (%s)", create ? "Creating" : "Deleting", row->name, row->subnet);
        *ret_op = op;
        return 0;
}

int zero_network_create(struct zero_agent *a, json_t *body, struct zero_op **ret_op, struct zero_error *err) {
        struct zero_network_row row = {};
        struct zero_network_spec spec;
        char gwbuf[INET_ADDRSTRLEN], id[33];
        int r;

        r = zero_network_spec_parse(body, &spec, err);
        if (r >= 0)
                r = zero_network_spec_check(a, &spec, err);
        if (r < 0)
                return r;
        if ((r = zero_random_id(id)) < 0)
                return zero_error_set(err, r, ZERO_E_INTERNAL, "no random id: %s", strerror(-r));
        /* Until the card names what carries it, the row shows its id there (unique, as the
         * column wants). */
        row = (struct zero_network_row){.name = strdup(spec.name), .id = strdup(id), .subnet = strdup(spec.subnet),
                                        .gateway = strdup(inet_ntop(AF_INET, &spec.gateway, gwbuf, sizeof(gwbuf))),
                                        .bridge = strdup(id), .state = strdup(zero_net_state_name(ZERO_NET_CREATING)),
                                        .created_at = (int64_t) zero_now_usec()};
        if (!row.name || !row.id || !row.subnet || !row.gateway || !row.bridge || !row.state)
                r = zero_error_set(err, -ENOMEM, ZERO_E_INTERNAL, "out of memory");
        else
                r = record(a, &row, true, ret_op, err);
        zero_network_row_done(&row);
        return r;
}

int zero_network_delete(struct zero_agent *a, const char *name, struct zero_op **ret_op, struct zero_error *err) {
        struct zero_network_row row = {};
        char *state;
        int r, users;

        r = zero_network_load(a, name, &row, err);
        if (r < 0)
                return r;
        users = zero_store_network_in_use(a->store, row.name);
        if (users > 0)
                r = zero_error_set(err, -EBUSY, ZERO_E_IN_USE, "network '%s' has %d NIC(s)", row.name, users);
        else if (zero_net_state_of(&row) != ZERO_NET_READY)
                r = zero_error_set(err, -EBUSY, ZERO_E_WRONG_STATE, "network '%s' is %s", row.name, row.state);
        else if (!(state = strdup(zero_net_state_name(ZERO_NET_DELETING))))
                r = zero_error_set(err, -ENOMEM, ZERO_E_INTERNAL, "out of memory");
        else {
                free(row.state);
                row.state = state;
                r = record(a, &row, false, ret_op, err);
        }
        zero_network_row_done(&row);
        return r;
}
