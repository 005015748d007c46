/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The orchestrator reaches zerod through the card: a TCP port on the card's address ([host] listen,
 * 127.0.0.1 in the lab) whose connections the card carries to zerod's TLS port in the host, byte
 * for byte (TLS ends in zerod: the card sees no request), unless a tenant holds the host (below).
 *
 * Why a forward of the card's own rather than QEMU's hostfwd in the machine's namespace: the card's
 * bridges, taps and its storage daemon live in the lab's network namespace, and so does the host's
 * QEMU (it opens the NICs' taps by name there, as the vm plugin does). QEMU's hostfwd listens in
 * that namespace (127.0.0.1:HOST_FORWARD_PORT, always free in a namespace of its own); the
 * listening socket here was made in the namespace the card was started in, before it entered the
 * lab's (a socket keeps the namespace it was made in). So nothing of the lab touches the machine's
 * interfaces, the developer's shell reaches ZERO_URL as it is, and the port stays the same across
 * the host's power cycles and QEMU's restarts (it is the card's, chosen once and kept in the
 * store). The other way, QEMU in the machine's namespace, would need every tap passed to it as an
 * fd over QMP (getfd, SCM_RIGHTS) and QEMU to be given a new port to listen on at each start. The
 * cost: the orchestrator's bytes cross the card's loop (two copies), which a card's management path
 * can afford.
 *
 * While a tenant holds the host (a bms instance, tenant.c), zerod is gone and the host's link is
 * down: a connection is carried to the card's own orchestrator socket instead (api_auth.c), where
 * the card terminates TLS with zerod's certificate (it made it: fwcfg.c) and answers for the node
 * with the orchestrator's token. Decided at each connection: one opened before the hand-over
 * stays zerod's (and ends with the host's link), one opened under the tenant stays the card's (its
 * answers say 409 once the host is back: ask again).
 *
 * Bounded: FORWARD_CONNECTIONS_MAX connections, FORWARD_BUFFER bytes a direction each; a connection
 * to the host that cannot be made (the host is off, zerod not up yet) closes the orchestrator's at
 * once, as a refused connection would.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "card/card.h"
#include "card/host.h"
#include "common/http.h"
#include "common/log.h"
#include "common/util.h"

#define FORWARD_BUFFER (64 * 1024)
#define FORWARD_CONNECTIONS_MAX 256

struct half {
        char buf[FORWARD_BUFFER];
        size_t len, off;
        bool eof; /* its reader saw the end: shut the writer's side once the buffer is out */
};

struct link {
        struct zc_forward *fw;
        int fd[2]; /* 0: the orchestrator's, 1: the host's */
        sd_event_source *io[2];
        struct half to[2]; /* to[i]: bytes bound for fd[i] */
        bool connected;    /* fd[1]'s connect() is done */
        bool shut[2];      /* fd[i]'s writing side is shut */
        struct link *next, *prev;
};

struct zc_forward {
        struct zc *zc;
        int listen_fd;
        sd_event_source *accept;
        struct link *links;
        unsigned n_links;
        uint16_t port;
};

static void link_free(struct link *l) {
        struct zc_forward *fw = l->fw;

        for (int i = 0; i < 2; i++) {
                l->io[i] = sd_event_source_disable_unref(l->io[i]);
                safe_close(l->fd[i]);
        }
        if (l->prev)
                l->prev->next = l->next;
        else
                fw->links = l->next;
        if (l->next)
                l->next->prev = l->prev;
        fw->n_links--;
        free(l);
}

/* What each side waits for: room to read into the other's buffer, bytes of its own to write. */
static void link_update(struct link *l) {
        for (int i = 0; i < 2; i++) {
                uint32_t ev = 0;
                struct half *in = &l->to[!i], *out = &l->to[i];

                if (i == 1 && !l->connected)
                        ev = EPOLLOUT;
                else {
                        if (!in->eof && in->len < FORWARD_BUFFER)
                                ev |= EPOLLIN;
                        if (out->len > out->off)
                                ev |= EPOLLOUT;
                }
                (void) sd_event_source_set_io_events(l->io[i], ev);
                (void) sd_event_source_set_enabled(l->io[i], ev ? SD_EVENT_ON : SD_EVENT_OFF);
        }
        /* Both ways done: the connection is over. */
        if (l->to[0].eof && l->to[1].eof && l->shut[0] && l->shut[1])
                link_free(l);
}

static int on_link(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct link *l = userdata;
        int i = fd == l->fd[0] ? 0 : 1;
        struct half *in = &l->to[!i], *out = &l->to[i];

        if (i == 1 && !l->connected) {
                int e = 0;
                socklen_t len = sizeof(e);
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0 || e != 0) {
                        log_debug("The host's zerod does not take connections: %s", strerror(e ?: errno));
                        link_free(l);
                        return 0;
                }
                l->connected = true;
                link_update(l);
                return 0;
        }
        if ((revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !in->eof && in->len < FORWARD_BUFFER) {
                ssize_t n = recv(fd, in->buf + in->len, FORWARD_BUFFER - in->len, MSG_DONTWAIT);
                if (n > 0)
                        in->len += (size_t) n;
                else if (n == 0 || (errno != EAGAIN && errno != EINTR))
                        in->eof = true;
        }
        if ((revents & (EPOLLOUT | EPOLLERR)) && out->len > out->off) {
                ssize_t n = send(fd, out->buf + out->off, out->len - out->off, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n > 0)
                        out->off += (size_t) n;
                else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                        link_free(l); /* the reader went away: nothing more can be said */
                        return 0;
                }
                if (out->off == out->len)
                        out->off = out->len = 0;
        }
        /* Bytes out and the other side done: pass its end on. */
        for (int k = 0; k < 2; k++)
                if (l->to[k].eof == false)
                        continue;
                else if (l->to[k].len == l->to[k].off && !l->shut[k] && (k == 0 || l->connected)) {
                        (void) shutdown(l->fd[k], SHUT_WR);
                        l->shut[k] = true;
                }
        link_update(l);
        return 0;
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct zc_forward *fw = userdata;
        struct sockaddr_in sa = {
                .sin_family = AF_INET, .sin_port = htons(HOST_FORWARD_PORT), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        struct sockaddr_un su = {.sun_family = AF_UNIX};
        bool card = zc_tenant(fw->zc) != NULL;
        struct link *l;
        int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), u;

        if (c < 0)
                return 0;
        if (fw->n_links >= FORWARD_CONNECTIONS_MAX) {
                log_warning("Refusing an orchestrator's connection: %d are open", FORWARD_CONNECTIONS_MAX);
                safe_close(c);
                return 0;
        }
        /* In the lab's namespace (the card's now): QEMU's hostfwd to zerod; under a tenant, the
         * card's own TLS listener for the orchestrator. */
        if (card)
                snprintf(su.sun_path, sizeof(su.sun_path), "%s", fw->zc->orchestrator_socket);
        u = socket(card ? AF_UNIX : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (u < 0 || ((card ? connect(u, (struct sockaddr *) &su, sizeof(su))
                            : connect(u, (struct sockaddr *) &sa, sizeof(sa))) < 0 &&
                      errno != EINPROGRESS)) {
                safe_close(u);
                safe_close(c);
                return 0;
        }
        l = calloc(1, sizeof(*l));
        if (!l) {
                safe_close(u);
                safe_close(c);
                return 0;
        }
        *l = (struct link){.fw = fw, .fd = {c, u}, .next = fw->links};
        if (fw->links)
                fw->links->prev = l;
        fw->links = l;
        fw->n_links++;
        if (sd_event_add_io(fw->zc->event, &l->io[0], c, 0, on_link, l) < 0 ||
            sd_event_add_io(fw->zc->event, &l->io[1], u, EPOLLOUT, on_link, l) < 0) {
                link_free(l);
                return 0;
        }
        link_update(l);
        return 0;
}

int zc_forward_listen(struct zc *zc, struct zero_error *err) {
        struct zc_forward *fw = calloc(1, sizeof(*fw));
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int r;

        if (!fw)
                return -ENOMEM;
        fw->zc = zc;
        fw->listen_fd = -EBADF;
        zc->forward = fw;
        r = zero_http_listen_tcp(zc->config->listen, &fw->listen_fd);
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_INTERNAL, "cannot listen on %s for the orchestrator: %s",
                                      zc->config->listen, strerror(-r));
        if (getsockname(fw->listen_fd, (struct sockaddr *) &ss, &len) < 0)
                return zero_error_set(err, -errno, ZERO_E_INTERNAL, "getsockname: %m");
        fw->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *) &ss)->sin6_port
                                                  : ((struct sockaddr_in *) &ss)->sin_port);
        return fw->port;
}

int zc_forward_start(struct zc *zc) {
        struct zc_forward *fw = zc->forward;
        return sd_event_add_io(zc->event, &fw->accept, fw->listen_fd, EPOLLIN, on_accept, fw);
}

void zc_forward_free(struct zc *zc) {
        struct zc_forward *fw = zc->forward;

        if (!fw)
                return;
        while (fw->links)
                link_free(fw->links);
        fw->accept = sd_event_source_disable_unref(fw->accept);
        safe_close(fw->listen_fd);
        free(fw);
        zc->forward = NULL;
}
