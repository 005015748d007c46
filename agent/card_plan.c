/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The card's part of an instance as a request asks for it (root volume, data volumes, NICs, in a
 * create or an attach body), validated against the body's rules and the store into a plan before
 * anything is stored: nothing is changed on bad input. card_plan_insert.c records the plan.
 */
#include <arpa/inet.h>
#include <string.h>
#include <sys/stat.h>

#include "agent/card.h"
#include "agent/card_plan.h"
#include "agent/image.h"
#include "agent/network_service.h"
#include "agent/volume_service.h"
#include "common/log.h"
#include "common/netaddr.h"
#include "common/text.h"
#include "common/util.h"

#define MAX_DATA_VOLUMES 16
#define MOUNT_PATH_MAX 200

static const char *const personalities[] = {"virtio-blk", "virtio-scsi", "nvme", NULL};

static bool in_set(const char *s, const char *const *set) {
        for (; *set; set++)
                if (streq(s, *set))
                        return true;
        return false;
}

/* An absolute, normalized path that is not "/": "/data", "/var/lib/db". */
static bool mount_path_valid(const char *p) {
        const char *c;

        if (!p || p[0] != '/' || strlen(p) > MOUNT_PATH_MAX || streq(p, "/") || p[strlen(p) - 1] == '/')
                return false;
        for (c = p; *c; c++)
                if ((unsigned char) *c <= ' ' || *c == 0x7f || *c == '\\' || *c == ',' || *c == ':')
                        return false;
        return !strstr(p, "//") && !strstr(p, "/./") && !strstr(p, "/../") &&
               !(strlen(p) >= 2 && streq(p + strlen(p) - 2, "/.")) && !(strlen(p) >= 3 && streq(p + strlen(p) - 3, "/.."));
}

void zero_card_plan_done(struct zero_card_plan *plan) {
        zero_volume_row_done(&plan->root);
        zero_attachment_rows_free(plan->atts, plan->n_atts);
        zero_nic_rows_free(plan->nics, plan->n_nics);
        free(plan->nic_n_hosts);
        *plan = (struct zero_card_plan){};
}

/* A free volume named name, for an attachment: invalid if missing, in use if attached. */
static int check_free_volume(struct zero_agent *a, const char *name, const char *field, struct zero_error *err) {
        struct zero_volume_row row = {};
        _cleanup_free_ char *holder = NULL;
        int r;

        if (!name || !zero_name_is_valid(name))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "%s: a volume name is required", field);
        r = zero_store_volume_get(a->store, name, &row);
        if (r == -ENOENT)
                return zero_error_set(err, r, ZERO_E_INVALID, "%s: volume '%s' does not exist", field, name);
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_UNAVAILABLE, "cannot read volume %s", name);
        r = zero_vol_state_of(&row) == ZERO_VOL_READY ? 0 : -EBUSY;
        zero_volume_row_done(&row);
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_CONFLICT, "%s: volume '%s' is not ready", field, name);
        if (zero_store_volume_attached_to(a->store, name, &holder) >= 0)
                return zero_error_set(err, -EBUSY, ZERO_E_CONFLICT, "%s: volume '%s' is attached to another instance",
                                      field, name);
        return 0;
}

static int plan_add_attachment(struct zero_card_plan *p, const char *volume, const char *instance_id, const char *role,
                               const char *path, const char *personality) {
        struct zero_attachment_row *n = realloc(p->atts, (p->n_atts + 1) * sizeof(*n));

        if (!n)
                return -ENOMEM;
        p->atts = n;
        n[p->n_atts] = (struct zero_attachment_row){
                .volume = strdup(volume),
                .instance_id = strdup(instance_id),
                .role = strdup(role),
                .path = path ? strdup(path) : NULL,
                .personality = strdup(personality),
                .idx = (int64_t) p->n_atts,
        };
        p->n_atts++;
        return n[p->n_atts - 1].volume && n[p->n_atts - 1].instance_id && n[p->n_atts - 1].role &&
                               n[p->n_atts - 1].personality && (!path || n[p->n_atts - 1].path)
                       ? 0
                       : -ENOMEM;
}

static int plan_root(struct zero_agent *a, json_t *v, json_t *pv, const struct zero_instance_row *inst,
                     struct zero_card_plan *p, struct zero_error *err) {
        struct zero_image_row image = {};
        const char *pers = "virtio-blk";
        struct stat st;
        char id[33];
        int r;

        if (pv && (!json_is_string(pv) || !in_set(json_string_value(pv), personalities)))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "root_personality: virtio-blk, virtio-scsi or nvme");
        if (pv)
                pers = json_string_value(pv);

        if (v) {
                if (!json_is_string(v))
                        return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "root_volume: a volume name is expected");
                r = check_free_volume(a, json_string_value(v), "root_volume", err);
                if (r < 0)
                        return r;
                return plan_add_attachment(p, json_string_value(v), inst->id, "root", NULL, pers);
        }
        /* A new clone of the image, named after the instance. */
        _cleanup_free_ char *name = zero_strdup_printf("%s-root", inst->name);
        if (!name)
                return -ENOMEM;
        if (!zero_name_is_valid(name))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID,
                                      "the instance's name is too long to name its root volume; pass root_volume");
        if (zero_store_volume_get(a->store, name, &p->root) >= 0) {
                zero_volume_row_done(&p->root);
                return zero_error_set(err, -EEXIST, ZERO_E_CONFLICT,
                                      "a volume named '%s' exists already; pass it as root_volume to use it", name);
        }
        r = zero_store_image_get(a->store, inst->image, &image);
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_INVALID, "image '%s' does not exist", inst->image);
        _cleanup_free_ char *base = zero_strdup_printf("%s/%s", image.path, ZERO_IMAGE_BASE_FILE);
        zero_image_row_done(&image);
        if (!base)
                return -ENOMEM;
        if (stat(base, &st) < 0)
                return zero_error_set(err, -errno, ZERO_E_INVALID,
                                      "image '%s' has no base filesystem (%s): import it again", inst->image, base);
        if ((r = zero_random_id(id)) < 0)
                return r;
        p->root = (struct zero_volume_row){
                .name = TAKE_PTR(name),
                .id = strdup(id),
                .size_bytes = (int64_t) st.st_size,
                .image = strdup(inst->image),
                .state = strdup(zero_vol_state_name(ZERO_VOL_CREATING)),
                .owner_instance = strdup(inst->id),
                .created_at = (int64_t) zero_now_usec(),
        };
        p->root.updated_at = p->root.created_at;
        if (!p->root.id || !p->root.image || !p->root.state || !p->root.owner_instance)
                return -ENOMEM;
        /* Where it lives is the card's to say, before the row is recorded. */
        r = zero_card_volume_place(a, &p->root, err);
        if (r < 0)
                return r;
        return plan_add_attachment(p, p->root.name, inst->id, "root", NULL, pers);
}

static int plan_volumes(struct zero_agent *a, json_t *arr, const struct zero_instance_row *inst,
                        struct zero_card_plan *p, struct zero_error *err) {
        json_t *v, *f;
        size_t i;
        int r;

        if (!arr)
                return 0;
        if (!json_is_array(arr) || json_array_size(arr) > MAX_DATA_VOLUMES)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "volumes: an array of at most %d objects is expected",
                                      MAX_DATA_VOLUMES);
        json_array_foreach(arr, i, v) {
                const char *name, *path, *pers = "virtio-blk", *key;

                if (!json_is_object(v))
                        return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "volumes[%zu]: an object is expected", i);
                json_object_foreach(v, key, f) if (!streq(key, "name") && !streq(key, "path") && !streq(key, "personality"))
                        return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "volumes[%zu]: unknown field '%s'", i, ZERO_QUOTE(key));
                name = json_string_value(json_object_get(v, "name"));
                path = json_string_value(json_object_get(v, "path"));
                if ((f = json_object_get(v, "personality")) && (!json_is_string(f) || !in_set(json_string_value(f), personalities)))
                        return zero_error_set(err, -EINVAL, ZERO_E_INVALID,
                                              "volumes[%zu].personality: virtio-blk, virtio-scsi or nvme", i);
                if (f)
                        pers = json_string_value(f);
                if (!mount_path_valid(path))
                        return zero_error_set(err, -EINVAL, ZERO_E_INVALID,
                                              "volumes[%zu].path: an absolute, normalized path other than / is required", i);
                r = check_free_volume(a, name, "volumes[].name", err);
                if (r < 0)
                        return r;
                for (size_t j = 0; j < p->n_atts; j++) {
                        if (streq(p->atts[j].volume, name))
                                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "volume '%s' is given twice", name);
                        if (p->atts[j].path && streq(p->atts[j].path, path))
                                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "path '%s' is given twice", path);
                }
                r = plan_add_attachment(p, name, inst->id, "data", path, pers);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int plan_nic(struct zero_agent *a, size_t i, json_t *v, const struct zero_instance_row *inst,
                    struct zero_card_plan *p, struct zero_error *err) {
        struct zero_network_row net = {};
        struct zero_ipv4_net sub;
        struct zero_nic_row *n = &p->nics[p->n_nics];
        const char *key, *mac, *ip;
        uint8_t m[ZERO_MAC_LEN];
        char macbuf[ZERO_MAC_STRSIZE], id[33];
        json_t *f;
        int r;

        if (!json_is_object(v))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "nics[%zu]: an object is expected", i);
        json_object_foreach(v, key, f) if (!streq(key, "network") && !streq(key, "mac") && !streq(key, "ip"))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "nics[%zu]: unknown field '%s'", i, ZERO_QUOTE(key));
        key = json_string_value(json_object_get(v, "network"));
        if (!key || zero_store_network_get(a->store, key, &net) < 0)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "nics[%zu].network: no network named '%s'", i,
                                      ZERO_QUOTE(key));
        if (zero_net_state_of(&net) != ZERO_NET_READY) { /* the card is making or removing it */
                r = zero_error_set(err, -EBUSY, ZERO_E_CONFLICT, "nics[%zu].network: network '%s' is %s", i, net.name,
                                   net.state);
                zero_network_row_done(&net);
                return r;
        }
        r = zero_ipv4_net_parse(net.subnet, &sub);
        if (r < 0 || (r = zero_random_id(id)) < 0) {
                zero_network_row_done(&net);
                return r;
        }
        *n = (struct zero_nic_row){.id = strdup(id), .network = strdup(net.name), .instance_id = strdup(inst->id),
                                   .idx = (int64_t) i, .created_at = (int64_t) zero_now_usec()};
        p->nic_n_hosts[p->n_nics] = (int64_t) zero_ipv4_net_hosts(&sub);
        p->n_nics++;
        mac = json_string_value(json_object_get(v, "mac"));
        if (json_object_get(v, "mac") && (!mac || zero_mac_parse(mac, m) < 0 || (m[0] & 1)))
                r = zero_error_set(err, -EINVAL, ZERO_E_INVALID, "nics[%zu].mac: a unicast aa:bb:cc:dd:ee:ff is expected", i);
        else if (!mac)
                r = zero_mac_from_id(id, m);
        if (r >= 0)
                n->mac = strdup(zero_mac_format(m, macbuf));
        ip = json_string_value(json_object_get(v, "ip"));
        if (r >= 0 && json_object_get(v, "ip")) {
                struct in_addr addr, host;
                uint32_t off;

                if (!ip || inet_pton(AF_INET, ip, &addr) != 1 ||
                    !zero_ipv4_net_contains(&sub, addr))
                        r = zero_error_set(err, -EINVAL, ZERO_E_INVALID, "nics[%zu].ip: an address in %s is expected", i,
                                           net.subnet);
                else {
                        off = ntohl(addr.s_addr) - ntohl(sub.addr.s_addr);
                        if (off < FIRST_NIC_HOST_INDEX || zero_ipv4_net_host(&sub, off, &host) < 0 ||
                            host.s_addr != addr.s_addr)
                                r = zero_error_set(err, -EINVAL, ZERO_E_INVALID,
                                                   "nics[%zu].ip: %s is the network's, its gateway's or broadcast address",
                                                   i, ip);
                        else {
                                n->ip = strdup(ip);
                                n->host_index = off;
                        }
                }
        }
        zero_network_row_done(&net);
        /* A requested address lost to strdup would be allocated anew: out of memory instead. */
        if (r >= 0 && (!n->id || !n->network || !n->instance_id || !n->mac || (ip && !n->ip)))
                r = -ENOMEM;
        return r;
}

int zero_card_plan_build(struct zero_agent *a, json_t *body, const struct zero_instance_row *inst,
                         struct zero_card_plan *ret, struct zero_error *err) {
        struct zero_card_plan p = {};
        json_t *nics = json_object_get(body, "nics"), *v;
        size_t i;
        int r;

        r = plan_root(a, json_object_get(body, "root_volume"), json_object_get(body, "root_personality"), inst, &p, err);
        if (r >= 0)
                r = plan_volumes(a, json_object_get(body, "volumes"), inst, &p, err);
        if (r >= 0 && nics && (!json_is_array(nics) || json_array_size(nics) > ZERO_CARD_NICS_MAX))
                r = zero_error_set(err, -EINVAL, ZERO_E_INVALID, "nics: an array of at most %d objects is expected",
                                   ZERO_CARD_NICS_MAX);
        if (r >= 0 && json_array_size(nics) > 0) {
                p.nics = calloc(json_array_size(nics), sizeof(*p.nics));
                p.nic_n_hosts = calloc(json_array_size(nics), sizeof(*p.nic_n_hosts));
                if (!p.nics || !p.nic_n_hosts)
                        r = -ENOMEM;
                json_array_foreach(nics, i, v) if (r >= 0) r = plan_nic(a, i, v, inst, &p, err);
        }
        if (r < 0) {
                zero_card_plan_done(&p);
                return zero_error_default(err, r, "planning the instance's volumes and NICs");
        }
        *ret = p;
        return 0;
}

/* The idx of the instance's next attachment (after its last) or NIC (the lowest free: its
 * ifname, eth<idx>, is free), and how many it has. */
static int next_idx(struct zero_agent *a, const char *instance_id, bool nics, int64_t *ret, size_t *ret_n) {
        struct zero_attachment_row *atts = NULL;
        struct zero_nic_row *ns = NULL;
        size_t n = 0;
        int64_t next = 0;
        int r;

        r = nics ? zero_store_nic_list_for_instance(a->store, instance_id, &ns, &n)
                 : zero_store_attachment_list_for_instance(a->store, instance_id, &atts, &n);
        for (size_t i = 0; r >= 0 && !nics && i < n; i++)
                if (atts[i].idx >= next)
                        next = atts[i].idx + 1;
        /* NICs are by idx: the first gap, or the end. */
        for (size_t i = 0; r >= 0 && nics && i < n && ns[i].idx == next; i++)
                next++;
        zero_attachment_rows_free(atts, n);
        zero_nic_rows_free(ns, nics ? n : 0);
        *ret = next;
        *ret_n = n;
        return r;
}

/* A data volume added to an instance goes where none of its volumes is mounted already (a create
 * checks its own list: "path is given twice"). */
static int check_path_free(struct zero_agent *a, const struct zero_instance_row *inst, const char *path,
                           struct zero_error *err) {
        struct zero_attachment_row *atts = NULL;
        size_t n = 0;
        int r = zero_store_attachment_list_for_instance(a->store, inst->id, &atts, &n);

        if (r < 0)
                return zero_error_set(err, r, ZERO_E_UNAVAILABLE, "cannot read the instance's volumes");
        for (size_t i = 0; r >= 0 && i < n; i++)
                if (atts[i].path && streq(atts[i].path, path))
                        r = zero_error_set(err, -EEXIST, ZERO_E_CONFLICT, "'%s' has volume '%s' at %s already",
                                           inst->name, atts[i].volume, path);
        zero_attachment_rows_free(atts, n);
        return r;
}

int zero_card_plan_attach(struct zero_agent *a, const struct zero_instance_row *inst, json_t *volume, json_t *nic,
                          struct zero_card_plan *ret, struct zero_error *err) {
        struct zero_card_plan p = {};
        int64_t idx;
        size_t n;
        int r;

        r = next_idx(a, inst->id, nic != NULL, &idx, &n);
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_UNAVAILABLE, "cannot read the instance's volumes and NICs");
        if (volume) {
                json_auto_t *arr = json_pack("[O]", volume);
                if (n >= MAX_DATA_VOLUMES + 1)
                        return zero_error_set(err, -E2BIG, ZERO_E_CONFLICT, "'%s' has %d data volumes already", inst->name,
                                              MAX_DATA_VOLUMES);
                r = arr ? plan_volumes(a, arr, inst, &p, err) : -ENOMEM;
                if (r >= 0) /* found by tests/fuzz (attach_spec) */
                        r = check_path_free(a, inst, p.atts[0].path, err);
                if (r >= 0)
                        p.atts[0].idx = idx;
        } else {
                if (n >= ZERO_CARD_NICS_MAX)
                        return zero_error_set(err, -E2BIG, ZERO_E_CONFLICT, "'%s' has %d NICs already", inst->name,
                                              ZERO_CARD_NICS_MAX);
                p.nics = calloc(1, sizeof(*p.nics));
                p.nic_n_hosts = calloc(1, sizeof(*p.nic_n_hosts));
                r = p.nics && p.nic_n_hosts ? plan_nic(a, (size_t) idx, nic, inst, &p, err) : -ENOMEM;
        }
        if (r < 0) {
                zero_card_plan_done(&p);
                return zero_error_default(err, r, "planning the attachment");
        }
        *ret = p;
        return 0;
}
