/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zero-test-pinger HOST [INTERVAL_MS] [SECONDS]: ICMP echo requests to HOST every INTERVAL_MS
 * (5 by default) for SECONDS (0, the default: until SIGINT or SIGTERM), then one line:
 *
 *   sent N received M lost K gap_ms G first_ms F
 *
 * gap_ms: the longest time between two answers, as the guest's peer sees it across a live
 * migration (the Debian machines here have no ping(8), and busybox's stamps no answers). Lost:
 * requests never answered (an answer that comes after the next request still counts). Run it as
 * root (a raw socket), in the namespace of the peer (nsenter). The migration tests and
 * bench_migrate use it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
        (void) sig;
        stop = 1;
}

static double now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static uint16_t checksum(const void *data, size_t len) {
        const uint16_t *p = data;
        uint32_t sum = 0;

        for (; len > 1; len -= 2)
                sum += *p++;
        if (len)
                sum += *(const uint8_t *) p;
        sum = (sum >> 16) + (sum & 0xffff);
        sum += sum >> 16;
        return (uint16_t) ~sum;
}

int main(int argc, char **argv) {
        struct sockaddr_in to = {.sin_family = AF_INET};
        double interval = argc > 2 ? atof(argv[2]) : 5, seconds = argc > 3 ? atof(argv[3]) : 0;
        double start, next, last = 0, gap = 0, first = -1;
        uint16_t id = (uint16_t) getpid();
        unsigned sent = 0, received = 0;
        struct sigaction sa = {.sa_handler = on_signal};
        int fd;

        if (argc < 2 || inet_pton(AF_INET, argv[1], &to.sin_addr) != 1 || interval <= 0) {
                fprintf(stderr, "usage: %s IPV4 [INTERVAL_MS] [SECONDS]\n", argv[0]);
                return 2;
        }
        fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
        if (fd < 0) {
                perror("socket(raw ICMP)");
                return 1;
        }
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        start = next = now_ms();
        while (!stop && (seconds <= 0 || now_ms() - start < seconds * 1e3)) {
                double t = now_ms();
                struct pollfd p = {.fd = fd, .events = POLLIN};
                int wait = next > t ? (int) (next - t) : 0;

                if (t >= next) {
                        struct icmphdr h = {.type = ICMP_ECHO, .un.echo.id = htons(id),
                                            .un.echo.sequence = htons((uint16_t) sent)};
                        char pkt[sizeof(h) + 16] = {0};

                        memcpy(pkt, &h, sizeof(h));
                        ((struct icmphdr *) pkt)->checksum = checksum(pkt, sizeof(pkt));
                        if (sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *) &to, sizeof(to)) >= 0)
                                sent++;
                        next += interval;
                        if (next < t) /* a stall of ours: no burst to catch up */
                                next = t + interval;
                        continue;
                }
                if (poll(&p, 1, wait) <= 0)
                        continue;
                char buf[1500];
                ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
                const struct iphdr *ip = (const struct iphdr *) buf;
                const struct icmphdr *h;

                if (n < (ssize_t) sizeof(*ip) || n < (ssize_t) (ip->ihl * 4 + sizeof(*h)))
                        continue;
                h = (const struct icmphdr *) (buf + ip->ihl * 4);
                if (h->type != ICMP_ECHOREPLY || ntohs(h->un.echo.id) != id || ip->saddr != to.sin_addr.s_addr)
                        continue;
                t = now_ms();
                if (received > 0 && t - last > gap)
                        gap = t - last;
                if (first < 0)
                        first = t - start;
                last = t;
                received++;
        }
        printf("sent %u received %u lost %u gap_ms %.1f first_ms %.1f\n", sent, received,
               sent > received ? sent - received : 0, gap, first);
        return 0;
}
