/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A server's listening sockets and the libmicrohttpd daemon on each, in external-epoll mode on
 * the server's loop: unix sockets, TCP, TCP with TLS (GnuTLS through libmicrohttpd).
 */
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/http_internal.h"
#include "common/log.h"
#include "common/util.h"

#define HTTP_LISTEN_BACKLOG 512
/* Per connection: headers and the response; request bodies are accumulated by us. */
#define CONNECTION_MEMORY_LIMIT (64 * 1024)
/* TLS 1.2 and 1.3 only, GnuTLS's default ciphers for them. */
#define TLS_PRIORITIES_DEFAULT "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

void http_daemon_update_timer(struct daemon *d) {
        MHD_UNSIGNED_LONG_LONG ms;

        if (MHD_get_timeout(d->mhd, &ms) == MHD_YES) {
                (void) sd_event_source_set_time_relative(d->timer, ms * USEC_PER_MSEC);
                (void) sd_event_source_set_enabled(d->timer, SD_EVENT_ONESHOT);
        } else
                (void) sd_event_source_set_enabled(d->timer, SD_EVENT_OFF);
}

static int on_daemon_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct daemon *d = userdata;
        (void) MHD_run(d->mhd);
        http_daemon_update_timer(d);
        return 0;
}

static int on_daemon_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        return on_daemon_io(NULL, -1, 0, userdata);
}

int zero_http_listen_unix(const char *path, gid_t gid, int *ret_fd) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *dir = NULL;
        char *slash;

        if (strlen(path) >= sizeof(sa.sun_path))
                return log_error_errno(ENAMETOOLONG, "Socket path too long: %s", path);
        dir = strdup(path);
        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = '\0';
                (void) zero_mkdir_p(dir, 0755);
        }
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return log_error_errno(errno, "Failed to create socket: %m");
        (void) unlink(path);
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return log_error_errno(errno, "Failed to bind %s: %m", path);
        /* Root's, and the group's when there is one: the peer check is the second lock. */
        if (gid != (gid_t) -1 && chown(path, 0, gid) < 0)
                return log_error_errno(errno, "Failed to give %s to group %u: %m", path, (unsigned) gid);
        (void) chmod(path, gid != (gid_t) -1 ? 0660 : 0600);
        if (listen(fd, HTTP_LISTEN_BACKLOG) < 0)
                return log_error_errno(errno, "Failed to listen on %s: %m", path);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int zero_http_listen_tcp(const char *spec, int *ret_fd) {
        _cleanup_free_ char *host = strdup(spec);
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
        struct addrinfo *res = NULL;
        _cleanup_close_ int fd = -EBADF;
        char *port;
        int r, one = 1;

        if (!host)
                return -ENOMEM;
        port = strrchr(host, ':');
        if (!port)
                return log_error_errno(EINVAL, "Listen address tcp:%s lacks a port", spec);
        *port++ = '\0';
        if (host[0] == '[' && host[strlen(host) - 1] == ']') {
                host[strlen(host) - 1] = '\0';
                memmove(host, host + 1, strlen(host));
        }
        r = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
        if (r != 0)
                return log_error_errno(EINVAL, "Cannot resolve listen address %s: %s", spec, gai_strerror(r));
        fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
            bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, HTTP_LISTEN_BACKLOG) < 0) {
                r = -errno;
                freeaddrinfo(res);
                return log_error_errno(r, "Failed to listen on tcp:%s: %m", spec);
        }
        freeaddrinfo(res);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static void mhd_logger(void *cls, const char *fmt, va_list ap) {
        char buf[512];
        vsnprintf(buf, sizeof(buf), fmt, ap);
        buf[strcspn(buf, "\n")] = '\0';
        log_debug("microhttpd: %s", buf);
}

/* Stops a daemon and drops its sources; run: let it finish what it has read first (the stop). */
static void daemon_free(struct daemon *d, bool run) {
        d->io = sd_event_source_disable_unref(d->io);
        d->timer = sd_event_source_disable_unref(d->timer);
        if (d->mhd) {
                if (run)
                        (void) MHD_run(d->mhd);
                MHD_stop_daemon(d->mhd);
                d->mhd = NULL;
        }
        if (d->unix_path)
                (void) unlink(d->unix_path);
        d->unix_path = mfree(d->unix_path);
}

int zero_http_server_listen(struct zero_http *h, int fd, bool is_unix, const char *unix_path,
                            const struct zero_http_tls *tls) {
        struct MHD_OptionItem extra[8];
        unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_ALLOW_UPGRADE | MHD_USE_TURBO | MHD_USE_ERROR_LOG;
        const union MHD_DaemonInfo *info;
        struct daemon *d;
        size_t n = 0;
        int r;

        if (h->n_daemons >= ELEMENTSOF(h->daemons)) {
                safe_close(fd);
                return -E2BIG;
        }
        d = &h->daemons[h->n_daemons];
        *d = (struct daemon){.http = h, .is_unix = is_unix, .tls = !!tls, .index = (unsigned) h->n_daemons};
        if (tls) {
                flags |= MHD_USE_TLS;
                extra[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, (void *) tls->key_pem};
                extra[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, (void *) tls->cert_pem};
                extra[n++] = (struct MHD_OptionItem){
                        MHD_OPTION_HTTPS_PRIORITIES, 0,
                        (void *) (tls->priorities ? tls->priorities : TLS_PRIORITIES_DEFAULT)};
                if (tls->trust_pem) /* asks every client for a certificate; tokens still work */
                        extra[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, (void *) tls->trust_pem};
        }
        /* Unix clients all share one "address": their limit is the total. */
        if (!is_unix && h->s.max_connections_per_client > 0)
                extra[n++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                                                     (intptr_t) h->s.max_connections_per_client, NULL};
        extra[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
        d->mhd = MHD_start_daemon(flags, 0, NULL, NULL, http_on_access, d, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL,
                                  MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED, http_on_completed, d,
                                  MHD_OPTION_NOTIFY_CONNECTION, http_on_connection, d, MHD_OPTION_URI_LOG_CALLBACK,
                                  http_on_uri, d, MHD_OPTION_CONNECTION_LIMIT, h->s.max_connections,
                                  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) CONNECTION_MEMORY_LIMIT,
                                  MHD_OPTION_CONNECTION_TIMEOUT, h->s.idle_timeout_s, MHD_OPTION_ARRAY, extra,
                                  MHD_OPTION_END);
        if (!d->mhd) {
                safe_close(fd);
                return log_error_errno(EIO, "Failed to start the HTTP server%s", d->tls ? " with TLS" : "");
        }
        info = MHD_get_daemon_info(d->mhd, MHD_DAEMON_INFO_EPOLL_FD);
        if (!info) {
                daemon_free(d, false);
                return log_error_errno(EIO, "HTTP server has no epoll fd");
        }
        r = sd_event_add_io(h->s.event, &d->io, info->epoll_fd, EPOLLIN, on_daemon_io, d);
        /* Accuracy 1 µs: libmicrohttpd asks for "now" (timeout 0) when a resumed connection needs
         * work; the default accuracy (250 ms) would delay the next request on it that long. */
        if (r >= 0)
                r = sd_event_add_time_relative(h->s.event, &d->timer, CLOCK_MONOTONIC, 0, 1, on_daemon_timer, d);
        if (r >= 0 && unix_path && !(d->unix_path = strdup(unix_path)))
                r = -ENOMEM;
        if (r < 0) {
                /* not counted yet: http_daemons_stop() would not see it (the listening socket is
                 * libmicrohttpd's since it started, and goes with it) */
                daemon_free(d, false);
                return log_error_errno(r, "Failed to watch the HTTP server: %m");
        }
        (void) sd_event_source_set_enabled(d->timer, SD_EVENT_OFF);
        h->n_daemons++;
        return 0;
}

void http_daemons_stop(struct zero_http *h) {
        for (size_t i = 0; i < h->n_daemons; i++)
                daemon_free(&h->daemons[i], true);
        h->n_daemons = 0;
}
