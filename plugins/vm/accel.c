/* SPDX-License-Identifier: Apache-2.0 */
/* The accelerator choice and its bounded KVM boot probe (accel.h). */
#include "plugins/vm/accel.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "common/macro.h"
#include "common/util.h"

/* KVM runs the host's own architecture (cmdline.c's machines and consoles). */
#if defined(__aarch64__)
#define PROBE_MACHINE "virt,gic-version=host"
#define PROBE_CONSOLE "ttyAMA0"
#else
#define PROBE_MACHINE "q35"
#define PROBE_CONSOLE "ttyS0"
#endif

/* What is kept of a child's output: the latest 64 KiB, since the verdict needs the last lines. */
#define OUTPUT_MAX (64 * 1024)
#define CACHE_MAX 4096
/* `qemu --version` gets its own bound, so the guest keeps its whole timeout_usec. */
#define VERSION_TIMEOUT_USEC (1 * USEC_PER_SEC)

/* Printed only once the kernel has run all of its init on the probe's vCPUs. */
static const char *const booted_markers[] = {"Kernel panic", "VFS: Unable to mount root", "Run /init"};

enum { RUN_EXITED, RUN_MATCHED, RUN_TIMEOUT };

struct run {
        char *out; /* OUTPUT_MAX + 1 bytes, NUL-terminated; may hold NULs of its own */
        size_t len;
        int status; /* RUN_EXITED: the exit status, or 128+signal */
};

/* Kills the child's process group (a wrapper script's children with it) and reaps the child. The
 * group goes first: while the leader is an unreaped zombie, its pid, the group's id, cannot be
 * reused. SIGKILL also ends a vCPU stuck in KVM_RUN, so the wait is short. */
static void kill_and_reap(pid_t *pid) {
        if (*pid <= 0)
                return;
        (void) kill(-*pid, SIGKILL);
        (void) kill(*pid, SIGKILL);
        while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
                ;
        *pid = 0;
}

static bool booted(const char *s, size_t len) {
        for (size_t i = 0; i < ELEMENTSOF(booted_markers); i++)
                if (memmem(s, len, booted_markers[i], strlen(booted_markers[i])))
                        return true;
        return false;
}

/* Runs argv (stdin /dev/null, stdout and stderr into run->out) until it exits, until its output
 * shows a booted kernel (if match), or until deadline (CLOCK_MONOTONIC); never longer. Returns
 * RUN_* or -errno; whatever happens the child's group is killed and the child reaped. */
static int run_bounded(char *const argv[], uint64_t deadline, bool match, struct run *run) {
        _cleanup_(kill_and_reap) pid_t pid = 0;
        _cleanup_close_ int rfd = -EBADF, wfd = -EBADF;
        pid_t parent = getpid();
        int p[2];

        run->len = 0;
        run->out[0] = '\0';
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        rfd = p[0];
        wfd = p[1];
        pid = fork();
        if (pid < 0) {
                pid = 0;
                return -errno;
        }
        if (pid == 0) {
                (void) setpgid(0, 0);
                /* QEMU must not outlive us if we die between fork and kill_and_reap. */
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                        _exit(127);
                zero_child_exec(argv, wfd);
        }
        (void) setpgid(pid, pid); /* as in the child: the group exists whichever runs first */
        wfd = safe_close(wfd);

        for (;;) {
                uint64_t now = zero_monotonic_usec();
                if (now >= deadline)
                        return RUN_TIMEOUT;
                uint64_t wait_ms = (deadline - now + USEC_PER_MSEC - 1) / USEC_PER_MSEC;
                struct pollfd pfd = {.fd = rfd, .events = POLLIN};
                int n = poll(&pfd, 1, wait_ms > 1000 ? 1000 : (int) wait_ms);
                if (n < 0 && errno != EINTR)
                        return -errno;
                if (n <= 0)
                        continue;
                if (run->len == OUTPUT_MAX) {
                        memmove(run->out, run->out + OUTPUT_MAX / 2, OUTPUT_MAX / 2);
                        run->len = OUTPUT_MAX / 2;
                }
                ssize_t k = read(rfd, run->out + run->len, OUTPUT_MAX - run->len);
                if (k < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        break; /* EOF: every writer is gone */
                /* Search only the new bytes and a marker's length before them. */
                size_t from = run->len > 64 ? run->len - 64 : 0;
                run->len += (size_t) k;
                run->out[run->len] = '\0';
                if (match && booted(run->out + from, run->len - from))
                        return RUN_MATCHED;
        }
        /* The output is closed; the child's status, still against the deadline and without
         * reaping it (kill_and_reap does, after the group). */
        for (;;) {
                siginfo_t si = {0};
                if (waitid(P_PID, (id_t) pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 && errno != EINTR)
                        return -errno;
                if (si.si_pid == pid) {
                        run->status = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
                        return RUN_EXITED;
                }
                if (zero_monotonic_usec() >= deadline)
                        return RUN_TIMEOUT;
                (void) usleep(10 * USEC_PER_MSEC);
        }
}

/* Copies the line at p (up to '\n' or end) into buf, dropping control characters (serial
 * consoles print escape sequences and \r). */
static void copy_line(const char *p, const char *end, char *buf, size_t size) {
        size_t n = 0;
        for (; p < end && *p != '\n' && n + 1 < size; p++)
                if ((unsigned char) *p >= 0x20 && *p != 0x7f)
                        buf[n++] = *p;
        buf[n] = '\0';
}

static void last_line(const struct run *run, char *buf, size_t size) {
        const char *start = run->out, *end = run->out + run->len;
        while (end > start && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
                end--;
        const char *p = end;
        while (p > start && p[-1] != '\n')
                p--;
        copy_line(p, end, buf, size);
}

/* What the verdict depends on: QEMU's version, the host kernel, the probe kernel. -ETIME when
 * QEMU does not even answer --version. */
static int cache_key(const struct zero_vm_accel_args *a, const struct stat *st, struct run *run, char **ret) {
        char *const argv[] = {(char *) a->qemu, "--version", NULL};
        char version[256];
        struct utsname u;
        int r;

        r = run_bounded(argv, zero_monotonic_usec() + VERSION_TIMEOUT_USEC, false, run);
        if (r < 0)
                return r;
        if (r != RUN_EXITED)
                return -ETIME;
        copy_line(run->out, run->out + run->len, version, sizeof(version));
        if (uname(&u) < 0)
                return -errno;
        *ret = zero_strdup_printf("qemu=%s\nversion=%s\nhost=%s %s\nkernel=%s\nkernel-size=%lld\n"
                                  "kernel-mtime=%lld.%09ld\n",
                                  a->qemu, version, u.release, u.version, a->kernel, (long long) st->st_size,
                                  (long long) st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
        return *ret ? 0 : -ENOMEM;
}

/* A cache file is the key followed by "accel=kvm|tcg\nreason=...\n". */
static bool cache_lookup(const char *content, const char *key, char accel[static 4], char *reason, size_t size) {
        size_t n = strlen(key);
        if (strncmp(content, key, n) != 0)
                return false;
        content += n;
        if (strncmp(content, "accel=kvm\nreason=", 17) != 0 && strncmp(content, "accel=tcg\nreason=", 17) != 0)
                return false;
        memcpy(accel, content + 6, 3);
        accel[3] = '\0';
        copy_line(content + 17, content + strlen(content), reason, size);
        return true;
}

static int verdict(const char *accel, const char *reason, char *ret_accel, size_t accel_size, char *ret_reason,
                   size_t reason_size) {
        snprintf(ret_accel, accel_size, "%s", accel);
        if (ret_reason && reason_size > 0)
                snprintf(ret_reason, reason_size, "%s", reason);
        return 0;
}

int zero_vm_accel_choose(const struct zero_vm_accel_args *a, char *ret_accel, size_t accel_size, char *ret_reason,
                         size_t reason_size) {
        _cleanup_free_ char *out = NULL, *key = NULL, *cached = NULL, *content = NULL;
        const char *kvm_dev;
        char accel[4] = "tcg", reason[512] = "", line[256];
        struct stat st;
        uint64_t timeout;
        int fd, r;

        if (!a || !a->requested || !ret_accel || accel_size < 4)
                return -EINVAL;
        if (streq(a->requested, "kvm") || streq(a->requested, "tcg"))
                return verdict(a->requested, "", ret_accel, accel_size, ret_reason, reason_size);
        if (!streq(a->requested, "auto") || !a->qemu)
                return -EINVAL;

        kvm_dev = a->kvm_dev ? a->kvm_dev : "/dev/kvm";
        fd = open(kvm_dev, O_RDWR | O_CLOEXEC);
        if (fd < 0) {
                snprintf(reason, sizeof(reason), "no usable %s: %s", kvm_dev, strerror(errno));
                return verdict("tcg", reason, ret_accel, accel_size, ret_reason, reason_size);
        }
        safe_close(fd);
        if (!a->kernel)
                return verdict("tcg", "no kernel to probe KVM with (set [vm] accel=kvm to skip the probe)", ret_accel,
                               accel_size, ret_reason, reason_size);
        if (stat(a->kernel, &st) < 0) {
                snprintf(reason, sizeof(reason), "cannot probe KVM with %s: %s", a->kernel, strerror(errno));
                return verdict("tcg", reason, ret_accel, accel_size, ret_reason, reason_size);
        }

        out = malloc(OUTPUT_MAX + 1);
        if (!out)
                return -ENOMEM;
        struct run run = {.out = out};
        r = cache_key(a, &st, &run, &key);
        if (r == -ETIME)
                return verdict("tcg", "KVM boot probe: QEMU --version did not answer within 1 s", ret_accel,
                               accel_size, ret_reason, reason_size);
        if (r < 0)
                return r;
        if (a->cache_path && zero_read_file(a->cache_path, CACHE_MAX, &cached, NULL) >= 0 &&
            cache_lookup(cached, key, accel, reason, sizeof(reason)))
                return verdict(accel, reason, ret_accel, accel_size, ret_reason, reason_size);

        /* No initrd: the kernel boots all the way to mounting root, fails, panics; panic=-1
         * reboots at once and -no-reboot turns that into QEMU's exit. */
        char *const argv[] = {(char *) a->qemu, "-accel", "kvm", "-nodefaults", "-no-user-config", "-machine",
                              PROBE_MACHINE, "-cpu", "host", "-m", "256", "-display", "none", "-serial", "stdio",
                              "-no-reboot", "-kernel", (char *) a->kernel, "-append", "console=" PROBE_CONSOLE " panic=-1",
                              NULL};
        timeout = a->timeout_usec ? a->timeout_usec : ZERO_VM_ACCEL_TIMEOUT_USEC_DEFAULT;
        r = run_bounded(argv, zero_monotonic_usec() + timeout, true, &run);
        if (r < 0)
                return r;
        if (r == RUN_MATCHED)
                snprintf(accel, sizeof(accel), "kvm");
        else if (r == RUN_TIMEOUT)
                snprintf(reason, sizeof(reason), "KVM boot probe: the guest did not boot within %.1f s (nested KVM?)",
                         (double) timeout / USEC_PER_SEC);
        else {
                last_line(&run, line, sizeof(line));
                snprintf(reason, sizeof(reason), "KVM boot probe: QEMU exited with status %d%s%s", run.status,
                         line[0] ? ": " : " before the guest booted", line);
        }

        if (a->cache_path) {
                content = zero_strdup_printf("%saccel=%s\nreason=%s\n", key, accel, reason);
                if (!content)
                        return -ENOMEM;
                (void) zero_write_file_atomic(a->cache_path, content, strlen(content), 0644);
        }
        return verdict(accel, reason, ret_accel, accel_size, ret_reason, reason_size);
}
