/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The card's part of an instance: what a create request asks for (root volume, data volumes,
 * NICs), validated before anything is stored and inserted in the instance's own transaction;
 * what plugins are told about it; and how the API shows volumes, networks and an instance's
 * volumes and NICs.
 */
#include <arpa/inet.h>
#include <string.h>
#include <sys/stat.h>

#include "agent/card.h"
#include "agent/image.h"
#include "agent/network_service.h"
#include "agent/volume_service.h"
#include "common/log.h"
#include "common/netaddr.h"
#include "common/text.h"
#include "common/util.h"

#define MAX_DATA_VOLUMES 16
#define MOUNT_PATH_MAX 200
#define FIRST_NIC_HOST_INDEX 2 /* 1 is the gateway */

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

int zero_card_plan_insert(struct zero_agent *a, struct zero_card_plan *p, struct zero_error *err) {
        int r;

        if (p->root.name) {
                r = zero_store_volume_insert(a->store, &p->root);
                if (r == -EEXIST)
                        return zero_error_set(err, r, ZERO_E_CONFLICT, "a volume named '%s' exists already", p->root.name);
                if (r < 0)
                        return zero_error_set(err, r, ZERO_E_UNAVAILABLE, "cannot record the root volume");
        }
        for (size_t i = 0; i < p->n_atts; i++) {
                r = zero_store_attachment_insert(a->store, &p->atts[i]);
                if (r == -EEXIST)
                        return zero_error_set(err, r, ZERO_E_CONFLICT, "volume '%s' is attached to another instance",
                                              p->atts[i].volume);
                if (r < 0)
                        return zero_error_set(err, r, ZERO_E_INVALID, "cannot attach volume '%s'", p->atts[i].volume);
        }
        for (size_t i = 0; i < p->n_nics; i++) {
                struct zero_nic_row *n = &p->nics[i];

                if (!n->ip) {
                        struct zero_network_row net = {};
                        struct zero_ipv4_net sub;
                        struct in_addr host;
                        char buf[INET_ADDRSTRLEN];

                        r = zero_store_nic_allocate_ip(a->store, n->network, p->nic_n_hosts[i], FIRST_NIC_HOST_INDEX,
                                                       &n->host_index);
                        if (r == -ENOSPC)
                                return zero_error_set(err, r, ZERO_E_CONFLICT, "network '%s' has no free address",
                                                      n->network);
                        if (r >= 0)
                                r = zero_store_network_get(a->store, n->network, &net);
                        if (r >= 0 && (r = zero_ipv4_net_parse(net.subnet, &sub)) >= 0)
                                r = zero_ipv4_net_host(&sub, (uint64_t) n->host_index, &host);
                        zero_network_row_done(&net);
                        if (r < 0)
                                return zero_error_set(err, r, ZERO_E_UNAVAILABLE, "cannot allocate an address");
                        n->ip = strdup(inet_ntop(AF_INET, &host, buf, sizeof(buf)));
                        if (!n->ip)
                                return -ENOMEM;
                }
                r = zero_store_nic_insert(a->store, n);
                if (r == -EEXIST)
                        return zero_error_set(err, r, ZERO_E_CONFLICT, "nics[%zu]: address %s or MAC %s is taken", i,
                                              n->ip, n->mac);
                if (r < 0)
                        return zero_error_set(err, r, ZERO_E_UNAVAILABLE, "cannot record NIC %zu", i);
        }
        return 0;
}

/* --- what plugins are told --- */

void zero_card_info_done(struct zero_card_info *ci) {
        for (size_t i = 0; i < ci->n_atts; i++)
                zero_volume_row_done(&ci->vols[i]);
        for (size_t i = 0; i < ci->n_nics; i++)
                zero_network_row_done(&ci->nets[i]);
        free(ci->vols);
        free(ci->nets);
        free(ci->volumes);
        free(ci->nics);
        zero_attachment_rows_free(ci->atts, ci->n_atts);
        zero_nic_rows_free(ci->nic_rows, ci->n_nics);
        *ci = (struct zero_card_info){};
}

int zero_card_info_build(struct zero_agent *a, const char *instance_id, struct zero_card_info *ret) {
        struct zero_card_info ci = {};
        int r;

        *ret = ci;
        r = zero_store_attachment_list_for_instance(a->store, instance_id, &ci.atts, &ci.n_atts);
        if (r >= 0)
                r = zero_store_nic_list_for_instance(a->store, instance_id, &ci.nic_rows, &ci.n_nics);
        if (r < 0)
                goto fail;
        ci.vols = calloc(ci.n_atts + 1, sizeof(*ci.vols));
        ci.volumes = calloc(ci.n_atts + 1, sizeof(*ci.volumes));
        ci.nets = calloc(ci.n_nics + 1, sizeof(*ci.nets));
        ci.nics = calloc(ci.n_nics + 1, sizeof(*ci.nics));
        if (!ci.vols || !ci.volumes || !ci.nets || !ci.nics) {
                r = -ENOMEM;
                goto fail;
        }
        for (size_t i = 0; i < ci.n_atts; i++) {
                r = zero_store_volume_get(a->store, ci.atts[i].volume, &ci.vols[i]);
                if (r < 0)
                        goto fail;
                ci.volumes[i] = (struct zero_volume_info){sizeof(struct zero_volume_info), ci.vols[i].name, ci.vols[i].id,
                                                          ci.atts[i].role, ci.atts[i].path, ci.atts[i].personality,
                                                          (uint64_t) ci.vols[i].size_bytes};
        }
        for (size_t i = 0; i < ci.n_nics; i++) {
                struct zero_nic_row *n = &ci.nic_rows[i];
                struct zero_ipv4_net sub = {};

                r = zero_store_network_get(a->store, n->network, &ci.nets[i]);
                if (r >= 0)
                        r = zero_ipv4_net_parse(ci.nets[i].subnet, &sub);
                if (r < 0)
                        goto fail;
                ci.nics[i] = (struct zero_nic_info){sizeof(struct zero_nic_info), n->id, n->network,
                                                    zero_card_nic_ifname(n->idx),
                                                    n->mac, n->ip, sub.prefixlen, ci.nets[i].gateway, ci.nets[i].bridge};
        }
        *ret = ci;
        return 0;
fail:
        zero_card_info_done(&ci);
        return r;
}

/* --- JSON --- */

static json_t *instance_name_json(struct zero_agent *a, const char *id) {
        struct zero_instance_row row = {};
        json_t *j;

        if (!id || zero_store_instance_get_by_id(a->store, id, &row) < 0)
                return json_null();
        j = json_string(row.name);
        zero_instance_row_done(&row);
        return j;
}

static json_t *export_json(const char *kind, const char *path) {
        return kind ? json_pack("{s:s,s:s}", "kind", kind, "path", strempty(path)) : json_null();
}

json_t *zero_volume_to_json(struct zero_agent *a, const struct zero_volume_row *row, bool with_stats) {
        struct zero_attachment_row att = {};
        bool attached = zero_store_attachment_get(a->store, row->name, &att) >= 0;
        json_t *j;

        j = json_pack("{s:s,s:s,s:I,s:s?,s:s,s:s,s:{s:I,s:I},s:o,s:o,s:o,s:o}", "name", row->name, "id", row->id,
                      "size_bytes", (json_int_t) row->size_bytes, "image", row->image, "format", row->format, "state",
                      row->state, "qos", "iops", (json_int_t) row->qos_iops, "bps", (json_int_t) row->qos_bps,
                      "attached_to", attached ? instance_name_json(a, att.instance_id) : json_null(), "owner",
                      instance_name_json(a, row->owner_instance), "export",
                      attached ? export_json(att.export_kind, att.export_path) : json_null(), "created_at",
                      zero_time_json(row->created_at));
        if (j && !row->image)
                json_object_set_new(j, "image", json_null());
        if (j && with_stats) {
                struct zero_card_volume_stats st = {};
                struct zero_error err = {};
                struct zero_card_vol cv;

                if (zero_card_vol_init(a, row, &cv) >= 0) {
                        if (a->card_driver->ops.volume_stats(a->card, &cv.v, &st, &err) >= 0)
                                json_object_set_new(j, "stats",
                                                    json_pack("{s:I,s:I,s:I,s:I,s:I}", "read_bytes",
                                                              (json_int_t) st.read_bytes, "write_bytes",
                                                              (json_int_t) st.write_bytes, "read_ops",
                                                              (json_int_t) st.read_ops, "write_ops",
                                                              (json_int_t) st.write_ops, "allocated_bytes",
                                                              (json_int_t) st.allocated_bytes));
                        zero_card_vol_done(&cv);
                }
        }
        zero_attachment_row_done(&att);
        return j;
}

json_t *zero_network_to_json(struct zero_agent *a, const struct zero_network_row *row) {
        int users = zero_store_network_in_use(a->store, row->name);

        return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:o}", "name", row->name, "id", row->id, "subnet", row->subnet,
                         "gateway", row->gateway, "bridge", row->bridge, "state",
                         zero_net_state_name(zero_net_state_of(row)), "nics", users > 0 ? users : 0, "created_at",
                         zero_time_json(row->created_at));
}

void zero_card_instance_json(struct zero_agent *a, const char *instance_id, json_t *j) {
        struct zero_card_info ci;
        json_t *vols = json_array(), *nics = json_array();
        const char *root = NULL;

        if (zero_card_info_build(a, instance_id, &ci) >= 0) {
                for (size_t i = 0; i < ci.n_atts; i++) {
                        if (streq(ci.atts[i].role, "root"))
                                root = ci.atts[i].volume;
                        json_array_append_new(vols, json_pack("{s:s,s:s,s:s?,s:s,s:o}", "name", ci.atts[i].volume, "role",
                                                              ci.atts[i].role, "path", ci.atts[i].path, "personality",
                                                              ci.atts[i].personality, "export",
                                                              export_json(ci.atts[i].export_kind, ci.atts[i].export_path)));
                }
                for (size_t i = 0; i < ci.n_nics; i++)
                        json_array_append_new(nics, json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", ci.nics[i].id, "network",
                                                              ci.nics[i].network, "ifname", ci.nics[i].ifname, "mac",
                                                              ci.nics[i].mac, "ip", ci.nics[i].ip));
                json_object_set_new(j, "root_volume", root ? json_string(root) : json_null());
                zero_card_info_done(&ci);
        } else
                json_object_set_new(j, "root_volume", json_null());
        json_object_set_new(j, "volumes", vols);
        json_object_set_new(j, "nics", nics);
}
