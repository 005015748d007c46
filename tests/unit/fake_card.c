/* SPDX-License-Identifier: Apache-2.0 */
/* A fake card driver of card ABI 4 whose card is files (fake_card.h). */
#include "tests/unit/fake_card.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "common/util.h"

struct fake_card_ctl fake_card;

static const char *const op_names[_FAKE_OP_MAX] = {
        "create", "delete", "resize", "qos", "export", "unexport", "network_create", "network_delete",
        "attach", "detach", "handover", "tenant",
};

struct pending;

struct zero_card {
        char *state, *run;
        sd_event *event;
        struct pending *pending;
};

/* One op under way: its effect is applied when it answers. */
struct pending {
        struct zero_card *card;
        struct pending *next;
        enum fake_card_op op;
        char id[64];
        char arg[256]; /* a kind, "kind target", a size, "iops bps", a network's name */
        zero_card_done_fn done;
        void *userdata;
        sd_event_source *timer;
};

void fake_card_reset(void) {
        fake_card = (struct fake_card_ctl){.delay_ms = 5};
}

static char *file_of(const char *dir, const char *kind, const char *id) {
        return zero_strdup_printf("%s/%s/%s", dir, kind, id);
}

static char *read_text(const char *dir, const char *kind, const char *id) {
        _cleanup_free_ char *p = file_of(dir, kind, id);
        char *text = NULL;
        size_t n;

        if (!p || zero_read_file(p, 4096, &text, &n) < 0)
                return NULL;
        return text;
}

static int write_text(const char *dir, const char *kind, const char *id, const char *text) {
        _cleanup_free_ char *p = file_of(dir, kind, id);

        return p ? zero_write_file_replace(p, text, strlen(text), 0600) : -ENOMEM;
}

static void remove_file(const char *dir, const char *kind, const char *id) {
        _cleanup_free_ char *p = file_of(dir, kind, id);

        if (p)
                (void) unlink(p);
}

bool fake_card_volume_exists(const char *state_dir, const char *id) {
        _cleanup_free_ char *t = read_text(state_dir, "volumes", id);
        return t != NULL;
}

char *fake_card_export_kind(const char *state_dir, const char *id) {
        return read_text(state_dir, "exports", id);
}

char *fake_card_nic(const char *state_dir, const char *id) {
        return read_text(state_dir, "nics", id);
}

bool fake_card_network_exists(const char *state_dir, const char *id) {
        _cleanup_free_ char *t = read_text(state_dir, "networks", id);
        return t != NULL;
}

int fake_card_logged(const char *what, const char *id) {
        char want[80];

        snprintf(want, sizeof(want), "%s:%s", what, id);
        for (size_t i = 0; i < fake_card.n_log; i++)
                if (streq(fake_card.log[i], want))
                        return (int) i;
        return -1;
}

static void pending_free(struct pending *p) {
        for (struct pending **q = &p->card->pending; *q; q = &(*q)->next)
                if (*q == p) {
                        *q = p->next;
                        break;
                }
        p->timer = sd_event_source_disable_unref(p->timer);
        free(p);
}

/* The op's effect on the card's files: 0 and the result's text, or -errno with err. */
static int apply(struct pending *p, struct zero_card_result *res, struct zero_error *err) {
        const char *st = p->card->state;
        _cleanup_free_ char *vol = read_text(st, "volumes", p->id), *exp = read_text(st, "exports", p->id);
        unsigned long long size = 0, iops = 0, bps = 0, want;
        char text[128];

        if (vol)
                (void) sscanf(vol, "%llu %llu %llu", &size, &iops, &bps);
        switch (p->op) {
        case FAKE_VOLUME_CREATE:
                return vol ? 0 : write_text(st, "volumes", p->id, p->arg);
        case FAKE_VOLUME_DELETE:
                remove_file(st, "exports", p->id);
                remove_file(st, "volumes", p->id);
                return 0;
        case FAKE_VOLUME_RESIZE:
                want = strtoull(p->arg, NULL, 10);
                if (!vol)
                        return zero_error_set(err, -ENOENT, ZERO_E_NOT_FOUND, "fake card: no volume %s", p->id);
                if (want < size)
                        return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "fake card: volumes only grow");
                snprintf(text, sizeof(text), "%llu %llu %llu", want, iops, bps);
                return write_text(st, "volumes", p->id, text);
        case FAKE_VOLUME_QOS:
                if (!vol)
                        return zero_error_set(err, -ENOENT, ZERO_E_NOT_FOUND, "fake card: no volume %s", p->id);
                snprintf(text, sizeof(text), "%llu %.64s", size, p->arg);
                return write_text(st, "volumes", p->id, text);
        case FAKE_EXPORT:
                if (!vol)
                        return zero_error_set(err, -ENOENT, ZERO_E_NOT_FOUND, "fake card: no volume %s", p->id);
                if (exp && !streq(exp, p->arg))
                        return zero_error_set(err, -EBUSY, ZERO_E_CONFLICT, "fake card: %s is exported as %s", p->id, exp);
                snprintf(res->text, sizeof(res->text), "%.160s/%.40s.%.16s", p->card->run, p->id, p->arg);
                return write_text(st, "exports", p->id, p->arg);
        case FAKE_UNEXPORT:
                remove_file(st, "exports", p->id);
                return 0;
        case FAKE_NETWORK_CREATE:
                snprintf(res->text, sizeof(res->text), "fk-%.32s", p->arg);
                return write_text(st, "networks", p->id, p->arg);
        case FAKE_NETWORK_DELETE:
                remove_file(st, "networks", p->id);
                return 0;
        case FAKE_NIC_ATTACH:
                if (strncmp(p->arg, "tap ", 4) == 0)
                        snprintf(res->text, sizeof(res->text), "%s", p->arg + 4);
                return write_text(st, "nics", p->id, p->arg);
        case FAKE_NIC_DETACH:
                remove_file(st, "nics", p->id);
                return 0;
        case FAKE_TENANT_HANDOVER: {
                _cleanup_free_ char *t = read_text(st, "tenant", p->id);
                return t ? 0 : write_text(st, "tenant", p->id, "running");
        }
        case FAKE_TENANT_STATUS: {
                _cleanup_free_ char *t = read_text(st, "tenant", p->id);
                snprintf(res->text, sizeof(res->text), "%s", t ? t : "none");
                return 0;
        }
        default:
                return -EINVAL;
        }
}

static void answer(struct pending *p) {
        struct zero_card_result res = {};
        struct zero_error err = {};
        zero_card_done_fn done = p->done;
        void *userdata = p->userdata;
        int r;

        if (fake_card.fail[p->op] < 0)
                r = zero_error_set(&err, fake_card.fail[p->op], ZERO_E_RUNTIME, "fake card: %s of %s failed",
                                   op_names[p->op], p->id);
        else
                r = apply(p, &res, &err);
        if (r < 0)
                zero_error_default(&err, r, "fake card");
        fake_card.in_flight--;
        pending_free(p);
        done(userdata, r, &res, &err);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        answer(userdata);
        return 0;
}

/* Starts op on object id: refused at once, held, or answered after delay_ms. */
static int start(struct zero_card *c, enum fake_card_op op, const char *id, const char *arg, zero_card_done_fn done,
                 void *userdata, struct zero_error *err) {
        struct pending *p;

        if (!done || !id)
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL, "fake card: no done or object");
        if (fake_card.refuse[op] < 0)
                return zero_error_set(err, fake_card.refuse[op], ZERO_E_UNAVAILABLE, "fake card: %s of %s refused",
                                      op_names[op], id);
        for (p = c->pending; p; p = p->next)
                if (streq(p->id, id))
                        fake_card.overlaps++;
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        *p = (struct pending){.card = c, .op = op, .done = done, .userdata = userdata};
        snprintf(p->id, sizeof(p->id), "%s", id);
        snprintf(p->arg, sizeof(p->arg), "%s", strempty(arg));
        if (!fake_card.hold[op] && sd_event_add_time_relative(c->event, &p->timer, CLOCK_MONOTONIC,
                                                              fake_card.delay_ms * 1000ULL, 0, on_timer, p) < 0) {
                free(p);
                return -ENOMEM;
        }
        p->next = c->pending;
        c->pending = p;
        fake_card.calls[op]++;
        if (++fake_card.in_flight > fake_card.max_in_flight)
                fake_card.max_in_flight = fake_card.in_flight;
        if (fake_card.n_log < FAKE_CARD_LOG_MAX)
                snprintf(fake_card.log[fake_card.n_log++], sizeof(fake_card.log[0]), "%s:%s", op_names[op], id);
        return 0;
}

/* Held ops are answered by the loop once released: a timer each, armed now. */
void fake_card_release(struct zero_card *c) {
        for (int op = 0; op < _FAKE_OP_MAX; op++)
                fake_card.hold[op] = false;
        for (struct pending *p = c->pending; p; p = p->next)
                if (!p->timer)
                        (void) sd_event_add_time_relative(c->event, &p->timer, CLOCK_MONOTONIC, 1000, 0, on_timer, p);
}

/* --- the ops --- */

static int fk_open(const struct zero_card_env *env, struct zero_card **ret, struct zero_error *err) {
        struct zero_card *c = calloc(1, sizeof(*c));
        const char *subdirs[] = {"volumes", "exports", "nics", "networks", "tenant"};

        if (!c)
                return -ENOMEM;
        c->state = strdup(env->state_dir);
        c->run = strdup(env->run_dir);
        c->event = env->event;
        for (size_t i = 0; c->state && i < ELEMENTSOF(subdirs); i++) {
                _cleanup_free_ char *d = zero_strdup_printf("%s/%s", c->state, subdirs[i]);
                (void) zero_mkdir_p(d, 0700);
        }
        if (!c->state || !c->run) {
                free(c->state);
                free(c->run);
                free(c);
                return zero_error_default(err, -ENOMEM, "fake card");
        }
        *ret = c;
        return 0;
}

static void fk_close(struct zero_card *c) {
        if (!c)
                return;
        fake_card.closes++;
        while (c->pending) { /* done never called (card.h) */
                fake_card.in_flight--;
                pending_free(c->pending);
        }
        free(c->state);
        free(c->run);
        free(c);
}

static int fk_place(struct zero_card *c, const struct zero_card_volume *v, struct zero_card_placement *ret,
                    struct zero_error *err) {
        snprintf(ret->locator, sizeof(ret->locator), "fake:%s", v->id);
        snprintf(ret->format, sizeof(ret->format), "fake");
        return 0;
}

static int fk_validate(struct zero_card *c, const struct zero_card_volume *v, uint64_t size, struct zero_error *err) {
        if ((size ? size : v->size_bytes) > (1ULL << 40))
                return zero_error_set(err, -EFBIG, ZERO_E_INVALID, "size_bytes: beyond the fake card's 1 TiB");
        return 0;
}

static int fk_stats(struct zero_card *c, const struct zero_card_volume *v, struct zero_card_volume_stats *ret,
                    struct zero_error *err) {
        _cleanup_free_ char *exp = read_text(c->state, "exports", v->id);

        *ret = (struct zero_card_volume_stats){.exported = exp != NULL};
        return 0;
}

/* A kept list's files are made where missing; every other file of the kind goes. */
static int fk_sync(struct zero_card *c, const struct zero_card_network *networks, size_t n_networks,
                   struct zero_card_want_export *exports, size_t n_exports, struct zero_card_want_nic *nics,
                   size_t n_nics, struct zero_error *err) {
        fake_card.syncs++;
        if (fake_card.in_flight > 0)
                fake_card.syncs_busy++;
        for (size_t i = 0; i < n_exports; i++) {
                _cleanup_free_ char *k = read_text(c->state, "exports", exports[i].volume->id);
                const char *kind = zero_card_export_kind_to_string(exports[i].kind);

                exports[i].recreated = !k || !streq(k, kind);
                snprintf(exports[i].path, sizeof(exports[i].path), "%s/%s.%s", c->run, exports[i].volume->id, kind);
                if (exports[i].recreated)
                        (void) write_text(c->state, "exports", exports[i].volume->id, kind);
        }
        for (size_t i = 0; i < n_nics; i++) {
                _cleanup_free_ char *t = read_text(c->state, "nics", nics[i].nic->id);

                nics[i].recreated = !t;
                if (!t)
                        (void) write_text(c->state, "nics", nics[i].nic->id, zero_card_nic_kind_to_string(nics[i].kind));
        }
        for (size_t i = 0; i < n_networks; i++)
                if (!fake_card_network_exists(c->state, networks[i].id))
                        (void) write_text(c->state, "networks", networks[i].id, networks[i].name);
        return 0;
}

static int fk_volume_create(struct zero_card *c, const struct zero_card_volume *v, zero_card_done_fn done,
                            void *userdata, struct zero_error *err) {
        char arg[96];

        snprintf(arg, sizeof(arg), "%llu %llu %llu", (unsigned long long) v->size_bytes,
                 (unsigned long long) v->qos_iops, (unsigned long long) v->qos_bps);
        return start(c, FAKE_VOLUME_CREATE, v->id, arg, done, userdata, err);
}

static int fk_volume_delete(struct zero_card *c, const struct zero_card_volume *v, zero_card_done_fn done,
                            void *userdata, struct zero_error *err) {
        return start(c, FAKE_VOLUME_DELETE, v->id, NULL, done, userdata, err);
}

static int fk_volume_resize(struct zero_card *c, const struct zero_card_volume *v, uint64_t size, zero_card_done_fn done,
                            void *userdata, struct zero_error *err) {
        char arg[32];

        snprintf(arg, sizeof(arg), "%llu", (unsigned long long) size);
        return start(c, FAKE_VOLUME_RESIZE, v->id, arg, done, userdata, err);
}

static int fk_volume_qos(struct zero_card *c, const struct zero_card_volume *v, zero_card_done_fn done, void *userdata,
                         struct zero_error *err) {
        char arg[64];

        snprintf(arg, sizeof(arg), "%llu %llu", (unsigned long long) v->qos_iops, (unsigned long long) v->qos_bps);
        return start(c, FAKE_VOLUME_QOS, v->id, arg, done, userdata, err);
}

static int fk_export(struct zero_card *c, const struct zero_card_volume *v, enum zero_card_export_kind kind,
                     zero_card_done_fn done, void *userdata, struct zero_error *err) {
        const char *k = zero_card_export_kind_to_string(kind);

        if (!k) /* refused at once: nothing runs */
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "fake card: unknown export kind %d", (int) kind);
        return start(c, FAKE_EXPORT, v->id, k, done, userdata, err);
}

static int fk_unexport(struct zero_card *c, const struct zero_card_volume *v, zero_card_done_fn done, void *userdata,
                       struct zero_error *err) {
        return start(c, FAKE_UNEXPORT, v->id, NULL, done, userdata, err);
}

static int fk_network_create(struct zero_card *c, const struct zero_card_network *n, zero_card_done_fn done,
                             void *userdata, struct zero_error *err) {
        return start(c, FAKE_NETWORK_CREATE, n->id, n->name, done, userdata, err);
}

static int fk_network_delete(struct zero_card *c, const struct zero_card_network *n, zero_card_done_fn done,
                             void *userdata, struct zero_error *err) {
        return start(c, FAKE_NETWORK_DELETE, n->id, n->name, done, userdata, err);
}

static int fk_nic_attach(struct zero_card *c, const struct zero_card_nic *nic, enum zero_card_nic_kind kind,
                         const char *netns_path, zero_card_done_fn done, void *userdata, struct zero_error *err) {
        char arg[256];

        if (kind == ZERO_CARD_NIC_VETH && (!netns_path || access(netns_path, F_OK) < 0))
                return zero_error_set(err, -ENOENT, ZERO_E_INVALID, "fake card: no namespace at %s", strempty(netns_path));
        if (kind == ZERO_CARD_NIC_VETH)
                snprintf(arg, sizeof(arg), "veth %s", netns_path);
        else
                snprintf(arg, sizeof(arg), "tap ft-%.8s", nic->id);
        return start(c, FAKE_NIC_ATTACH, nic->id, arg, done, userdata, err);
}

static int fk_nic_detach(struct zero_card *c, const struct zero_card_nic *nic, zero_card_done_fn done, void *userdata,
                         struct zero_error *err) {
        return start(c, FAKE_NIC_DETACH, nic->id, NULL, done, userdata, err);
}

static int fk_tenant_handover(struct zero_card *c, const struct zero_card_tenant *t, zero_card_done_fn done,
                              void *userdata, struct zero_error *err) {
        return start(c, FAKE_TENANT_HANDOVER, t ? t->operation : NULL, t ? t->name : NULL, done, userdata, err);
}

static int fk_tenant_status(struct zero_card *c, const char *operation, zero_card_done_fn done, void *userdata,
                            struct zero_error *err) {
        return start(c, FAKE_TENANT_STATUS, operation, NULL, done, userdata, err);
}

static const struct zero_card_driver driver = {
        .abi_version = ZERO_CARD_ABI_VERSION,
        .size = sizeof(struct zero_card_driver),
        .name = "fake",
        .ops = {
                .open = fk_open,
                .close = fk_close,
                .volume_place = fk_place,
                .volume_validate = fk_validate,
                .volume_stats = fk_stats,
                .sync = fk_sync,
                .volume_create = fk_volume_create,
                .volume_delete = fk_volume_delete,
                .volume_resize = fk_volume_resize,
                .volume_set_qos = fk_volume_qos,
                .volume_export = fk_export,
                .volume_unexport = fk_unexport,
                .network_create = fk_network_create,
                .network_delete = fk_network_delete,
                .nic_attach = fk_nic_attach,
                .nic_detach = fk_nic_detach,
                .tenant_handover = fk_tenant_handover,
                .tenant_status = fk_tenant_status,
        },
};

const struct zero_card_driver *fake_card_driver(void) {
        return &driver;
}
