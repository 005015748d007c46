/* SPDX-License-Identifier: Apache-2.0 */
/* The rtnetlink socket: opening it (here or in another namespace), building requests, reading
 * answers. The operations are in link.c and addr.c. */
#include "io/netlink/netlink.h"

#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

/* A guard only: the kernel answers from within sendmsg(), so a read never waits in practice. */
#define ZERO_NL_TIMEOUT_SEC 5
/* The kernel never puts more than 32 KiB in one netlink datagram (netlink_dump()). */
#define ZERO_NL_RX_SIZE 32768
#define ZERO_NL_TX_SIZE 4096

struct zero_nl {
        int fd;
        bool foreign; /* made by zero_nl_open_netns() */
        uint32_t seq;
        size_t tx_len;
        bool tx_overflow;
        char error[256];
        /* Aligned for struct nlmsghdr access. */
        _Alignas(NLMSG_ALIGNTO) uint8_t tx[ZERO_NL_TX_SIZE];
        _Alignas(NLMSG_ALIGNTO) uint8_t rx[ZERO_NL_RX_SIZE];
};

static int nl_new(int fd, struct zero_nl **ret) {
        _cleanup_close_ int sock = fd;
        struct timeval tv = {.tv_sec = ZERO_NL_TIMEOUT_SEC};
        struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
        int one = 1;
        struct zero_nl *nl;

        if (setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
                return -errno;
        /* Best effort: error texts from the kernel, and acks without a copy of our request. */
        (void) setsockopt(sock, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
        (void) setsockopt(sock, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
        if (bind(sock, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return -errno;

        nl = calloc(1, sizeof(*nl));
        if (!nl)
                return -ENOMEM;
        nl->fd = TAKE_FD(sock);
        /* Any start will do; like iproute2's, it tells handles apart in strace output. */
        nl->seq = (uint32_t) time(NULL);
        *ret = nl;
        return 0;
}

int zero_nl_open(struct zero_nl **ret) {
        int fd;

        if (!ret)
                return -EINVAL;
        fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        if (fd < 0)
                return -errno;
        return nl_new(fd, ret);
}

/* In the forked child: enter the namespace, make the socket, send it (or the errno) back. Only
 * system calls here, no allocation: the child of a forked process. */
_Noreturn static void netns_socket_child(int netns_fd, int sock) {
        char control[CMSG_SPACE(sizeof(int))] = {};
        int err = 0, fd = -1;
        struct iovec iov = {.iov_base = &err, .iov_len = sizeof(err)};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

        if (setns(netns_fd, CLONE_NEWNET) < 0)
                err = errno;
        else {
                fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
                if (fd < 0)
                        err = errno;
        }
        if (fd >= 0) {
                struct cmsghdr *c;

                mh.msg_control = control;
                mh.msg_controllen = sizeof(control);
                c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &fd, sizeof(int));
        }
        _exit(sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? 1 : 0);
}

static int netns_socket_receive(int sock) {
        char control[CMSG_SPACE(sizeof(int))] = {};
        int err = 0, fd = -EBADF;
        struct iovec iov = {.iov_base = &err, .iov_len = sizeof(err)};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                            .msg_controllen = sizeof(control)};
        ssize_t n;

        do
                n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
                    c->cmsg_len == CMSG_LEN(sizeof(int)))
                        memcpy(&fd, CMSG_DATA(c), sizeof(int));
        if (n != (ssize_t) sizeof(err) || (mh.msg_flags & MSG_CTRUNC)) {
                safe_close(fd);
                return -EIO;
        }
        if (err != 0) {
                safe_close(fd);
                return -err;
        }
        return fd >= 0 ? fd : -EIO;
}

int zero_nl_open_netns(int netns_fd, struct zero_nl **ret) {
        _cleanup_close_ int parent = -EBADF, child = -EBADF;
        int sv[2], fd, r, status;
        pid_t pid;

        if (netns_fd < 0 || !ret)
                return -EINVAL;
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        parent = sv[0];
        child = sv[1];

        /* Not sd_event_add_child(): the child lives for a few system calls and is reaped right
         * here with waitpid() on its own pid, which leaves every other child of zerod alone. */
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0)
                netns_socket_child(netns_fd, child);
        child = safe_close(child);

        fd = netns_socket_receive(parent);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (fd < 0)
                return fd;
        r = nl_new(fd, ret);
        if (r >= 0)
                (*ret)->foreign = true;
        return r;
}

struct zero_nl *zero_nl_close(struct zero_nl *nl) {
        if (nl) {
                safe_close(nl->fd);
                free(nl);
        }
        return NULL;
}

bool zero_nl_is_foreign(const struct zero_nl *nl) {
        return nl->foreign;
}

const char *zero_nl_last_error(const struct zero_nl *nl) {
        return nl ? nl->error : "";
}

int zero_netns_open_pid(pid_t pid) {
        char path[64];
        int fd;

        if (pid <= 0)
                return -EINVAL;
        snprintf(path, sizeof(path), "/proc/%d/ns/net", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

/* ---- Building requests ---- */

static struct nlmsghdr *tx_header(struct zero_nl *nl) {
        return (struct nlmsghdr *) nl->tx;
}

static void *tx_reserve(struct zero_nl *nl, size_t len) {
        size_t aligned = NLMSG_ALIGN(len);
        void *p;

        if (nl->tx_overflow || aligned > sizeof(nl->tx) - nl->tx_len) {
                nl->tx_overflow = true;
                return NULL;
        }
        p = nl->tx + nl->tx_len;
        memset(p, 0, aligned);
        nl->tx_len += aligned;
        tx_header(nl)->nlmsg_len = (uint32_t) nl->tx_len;
        return p;
}

void zero_nl_msg_begin(struct zero_nl *nl, uint16_t type, uint16_t flags, const void *hdr, size_t hdr_len) {
        struct nlmsghdr *h;

        nl->tx_len = 0;
        nl->tx_overflow = false;
        h = tx_reserve(nl, NLMSG_HDRLEN);
        h->nlmsg_type = type;
        h->nlmsg_flags = NLM_F_REQUEST | flags;
        zero_nl_msg_append(nl, hdr, hdr_len);
}

void zero_nl_msg_put(struct zero_nl *nl, uint16_t type, const void *data, size_t len) {
        struct rtattr *a;

        if (len > UINT16_MAX - RTA_LENGTH(0)) {
                nl->tx_overflow = true;
                return;
        }
        a = tx_reserve(nl, RTA_LENGTH(len));
        if (!a)
                return;
        a->rta_type = type;
        a->rta_len = (uint16_t) RTA_LENGTH(len);
        if (len > 0)
                memcpy(RTA_DATA(a), data, len);
}

void zero_nl_msg_append(struct zero_nl *nl, const void *data, size_t len) {
        void *p = tx_reserve(nl, len);

        if (p)
                memcpy(p, data, len);
}

void zero_nl_msg_put_u32(struct zero_nl *nl, uint16_t type, uint32_t v) {
        zero_nl_msg_put(nl, type, &v, sizeof(v));
}

void zero_nl_msg_put_str(struct zero_nl *nl, uint16_t type, const char *s) {
        zero_nl_msg_put(nl, type, s, strlen(s) + 1);
}

size_t zero_nl_msg_nest_begin(struct zero_nl *nl, uint16_t type) {
        size_t offset = nl->tx_len;

        zero_nl_msg_put(nl, type, NULL, 0);
        return offset;
}

void zero_nl_msg_nest_end(struct zero_nl *nl, size_t offset) {
        struct rtattr *a = (struct rtattr *) (nl->tx + offset);

        if (nl->tx_overflow)
                return;
        if (nl->tx_len - offset > UINT16_MAX) {
                nl->tx_overflow = true;
                return;
        }
        a->rta_len = (uint16_t) (nl->tx_len - offset);
}

/* ---- Reading answers ---- */

void zero_nl_attrs_parse(const struct rtattr *rta, size_t len, const struct rtattr **tb, size_t max) {
        unsigned int left = len > UINT32_MAX ? UINT32_MAX : (unsigned int) len;

        memset(tb, 0, (max + 1) * sizeof(*tb));
        for (; RTA_OK(rta, left); rta = RTA_NEXT(rta, left)) {
                /* Nested attributes may carry NLA_F_NESTED; byte-order flag likewise. */
                unsigned type = rta->rta_type & NLA_TYPE_MASK;
                if (type <= max)
                        tb[type] = rta;
        }
}

uint32_t zero_nl_attr_u32(const struct rtattr *a) {
        uint32_t v;

        if (!a || RTA_PAYLOAD(a) < sizeof(v))
                return 0;
        memcpy(&v, RTA_DATA(a), sizeof(v));
        return v;
}

/* Keeps the kernel's text from an extended ack (NLMSGERR_ATTR_MSG). */
static void save_ext_ack(struct zero_nl *nl, const struct nlmsghdr *h, const struct nlmsgerr *e) {
        const struct rtattr *tb[NLMSGERR_ATTR_MAX + 1];
        size_t off = NLMSG_HDRLEN + sizeof(*e);

        if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
                return;
        if (!(h->nlmsg_flags & NLM_F_CAPPED))
                off += NLMSG_ALIGN(e->msg.nlmsg_len - NLMSG_HDRLEN);
        if (off >= h->nlmsg_len)
                return;
        zero_nl_attrs_parse((const struct rtattr *) ((const uint8_t *) h + off), h->nlmsg_len - off, tb,
                            NLMSGERR_ATTR_MAX);
        if (tb[NLMSGERR_ATTR_MSG])
                snprintf(nl->error, sizeof(nl->error), "%.*s", (int) RTA_PAYLOAD(tb[NLMSGERR_ATTR_MSG]),
                         (const char *) RTA_DATA(tb[NLMSGERR_ATTR_MSG]));
}

/* 1 when the answer is complete (its result in *result), 0 to read on. */
static int handle_reply(struct zero_nl *nl, const struct nlmsghdr *h, bool dump, zero_nl_reply_fn cb,
                        void *userdata, int *cb_result, int *result) {
        if (h->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *e = NLMSG_DATA(h);

                if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e))) {
                        *result = -EBADMSG;
                        return 1;
                }
                if (e->error < 0) {
                        save_ext_ack(nl, h, e);
                        *result = e->error;
                } else
                        *result = *cb_result;
                return 1;
        }
        if (h->nlmsg_type == NLMSG_DONE && dump) {
                int err = 0;

                if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(int)))
                        memcpy(&err, NLMSG_DATA(h), sizeof(int));
                *result = err < 0 ? err : *cb_result;
                return 1;
        }
        if (h->nlmsg_type < NLMSG_MIN_TYPE)
                return 0;
        /* After a callback failed, drain the rest so that the socket is clean. */
        if (cb && *cb_result >= 0) {
                int r = cb(h, userdata);
                if (r < 0)
                        *cb_result = r;
        }
        return 0;
}

int zero_nl_msg_send(struct zero_nl *nl, zero_nl_reply_fn cb, void *userdata) {
        struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
        struct nlmsghdr *req = tx_header(nl);
        bool dump = (req->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
        int cb_result = 0;
        uint32_t seq;
        ssize_t n;

        nl->error[0] = '\0';
        if (nl->tx_overflow)
                return -ENOBUFS;
        seq = ++nl->seq;
        req->nlmsg_seq = seq;
        /* A dump ends with NLMSG_DONE; an ack after it would only be one more message to skip. */
        if (!dump)
                req->nlmsg_flags |= NLM_F_ACK;
        do
                n = sendto(nl->fd, nl->tx, nl->tx_len, 0, (struct sockaddr *) &kernel, sizeof(kernel));
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        if ((size_t) n != nl->tx_len)
                return -EIO;

        for (;;) {
                struct sockaddr_nl from = {};
                struct iovec iov = {.iov_base = nl->rx, .iov_len = sizeof(nl->rx)};
                struct msghdr mh = {.msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov,
                                    .msg_iovlen = 1};
                unsigned int left;

                n = recvmsg(nl->fd, &mh, 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return errno == EAGAIN ? -ETIMEDOUT : -errno;
                }
                if (mh.msg_flags & MSG_TRUNC)
                        return -EMSGSIZE;
                if (from.nl_pid != 0) /* not from the kernel */
                        continue;
                left = (unsigned int) n;
                for (const struct nlmsghdr *h = (const struct nlmsghdr *) nl->rx; NLMSG_OK(h, left);
                     h = NLMSG_NEXT(h, left)) {
                        int result;

                        /* Left over from an earlier request that gave up half way. */
                        if (h->nlmsg_seq != seq)
                                continue;
                        if (handle_reply(nl, h, dump, cb, userdata, &cb_result, &result))
                                return result;
                }
        }
}
