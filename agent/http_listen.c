/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zerod's listening sockets: [agent] listen (unix sockets, for peer credentials; TCP with TLS and
 * bearer tokens, or plain TCP only behind --insecure-tcp) and systemd's socket activation, each
 * served by the front's server (common/http.h).
 */
#include <grp.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>

#include "agent/agent.h"
#include "agent/http_front.h"
#include "common/log.h"
#include "common/util.h"

static int resolve_group(const char *name, gid_t *ret) {
        struct group *g;
        int64_t n;

        if (!name || !name[0]) {
                *ret = (gid_t) -1;
                return 0;
        }
        if (zero_parse_int64(name, 0, INT32_MAX - 1, &n) >= 0) {
                *ret = (gid_t) n;
                return 0;
        }
        g = getgrnam(name);
        if (!g)
                return log_error_errno(ENOENT, "[api] socket_group=%s: no such group", name);
        *ret = g->gr_gid;
        return 0;
}

/* TLS for every TCP listener, unless the operator said --insecure-tcp. */
static int tcp_security(struct zero_front *h, bool any_tcp) {
        struct zero_config *cfg = h->agent->config;
        struct zero_error err = {};
        int r;

        if (!any_tcp)
                return 0;
        if (cfg->insecure_tcp) {
                log_warning("INSECURE: --insecure-tcp: the TCP API is plain HTTP; bearer tokens and every reply "
                            "cross the network in clear text. Meant for tests on loopback only.");
                return 0;
        }
        r = zero_tls_load(cfg, &h->tls, &err);
        if (r < 0)
                return log_error_errno(r, "Cannot set up TLS for the TCP API: %s", err.message);
        h->have_tls = true;
        log_info("TCP API over TLS, certificate SHA-256 %s", h->tls.fingerprint);
        return 0;
}

/* The TLS of a TCP listener, when there is one. */
static const struct zero_http_tls *tcp_tls(struct zero_front *h, bool is_unix, struct zero_http_tls *buf) {
        if (is_unix || !h->have_tls)
                return NULL;
        *buf = (struct zero_http_tls){.cert_pem = h->tls.cert_pem,
                                      .key_pem = h->tls.key_pem,
                                      .trust_pem = h->tls.trust_pem,
                                      .priorities = zero_config_get(h->agent->config, "api", "tls_priorities")};
        return buf;
}

int http_listen_all(struct zero_front *h) {
        struct zero_http_tls tls;
        struct zero_config *cfg = h->agent->config;
        int n_activated = sd_listen_fds(1);
        bool any_tcp = false;
        int r;

        r = resolve_group(zero_config_get(cfg, "api", "socket_group"), &h->socket_gid);
        if (r < 0)
                return r;
        for (int i = 0; i < n_activated; i++)
                any_tcp |= sd_is_socket(SD_LISTEN_FDS_START + i, AF_UNIX, SOCK_STREAM, 1) <= 0;
        for (size_t i = 0; i < cfg->n_listen; i++)
                any_tcp |= strncmp(cfg->listen[i], "tcp:", 4) == 0;
        r = tcp_security(h, any_tcp);
        if (r < 0)
                return r;

        /* systemd socket activation: the passed sockets replace our own unix listeners. */
        for (int i = 0; i < n_activated; i++) {
                int fd = SD_LISTEN_FDS_START + i;
                bool is_unix = sd_is_socket(fd, AF_UNIX, SOCK_STREAM, 1) > 0;
                r = zero_http_server_listen(h->http, fd, is_unix, NULL, tcp_tls(h, is_unix, &tls));
                if (r < 0)
                        return r;
                log_info("Listening on socket-activated fd %d%s", fd, is_unix ? "" : h->have_tls ? " (TLS)" : " (plain HTTP)");
        }
        for (size_t i = 0; i < cfg->n_listen; i++) {
                const char *l = cfg->listen[i];
                int fd = -EBADF;
                bool is_unix = strncmp(l, "unix:", 5) == 0;

                if (is_unix && n_activated > 0)
                        continue;
                r = is_unix ? zero_http_listen_unix(l + 5, h->socket_gid, &fd) : zero_http_listen_tcp(l + 4, &fd);
                if (r < 0)
                        return r;
                r = zero_http_server_listen(h->http, fd, is_unix, is_unix ? l + 5 : NULL, tcp_tls(h, is_unix, &tls));
                if (r < 0)
                        return r;
                log_info("Listening on %s%s", l, is_unix ? "" : h->have_tls ? " (TLS)" : " (plain HTTP, insecure)");
        }
        return 0;
}
