/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Docker's default seccomp profile as a table. Source: moby's profiles/seccomp/default.json at
 * commit 00f3d189e420 (the profile with the AF_VSOCK socket rule, memfd_secret and the CAP_BPF /
 * CAP_PERFMON rules). Deliberate differences, each the way moby itself resolves the profile on
 * the hosts we run on:
 *   - rules for ppc64le, s390(x), mips and riscv64 are left out: zerod is built for x86_64 and
 *     aarch64 only (an other build gets the arch-independent rules, libseccomp's native arch);
 *   - the "minKernel 4.8" rule (ptrace, process_vm_*) is unconditional: every kernel we support
 *     is newer (before 4.8 ptrace could bypass seccomp, hence moby's condition);
 *   - capability conditions are resolved here against the container's bounding set, as moby's
 *     loader does, so config.json carries only the rules that apply.
 * Everything not allowed fails with EPERM (defaultErrnoRet 1), as with Docker, rather than
 * killing the process: programs probe for syscalls and cope with EPERM.
 */
#include "plugins/container/seccomp.h"

#include <seccomp.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"

#define ARCH(a) (1u << (a))
#define ALL_ARCHES 0u
#define ERRNO_ENOSYS 38 /* the x86_64 and aarch64 value, written as the profile has it */

/* Clone flags that make namespaces (CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER |
 * NEWPID | NEWNET): a clone without CAP_SYS_ADMIN must have none of them. */
#define CLONE_NS_FLAGS 0x7E020000ull
/* The kernel's BPF_MAXINSNS (4096) instructions of 8 bytes. */
#define BPF_MAX_BYTES (4096 * 8)

enum cmp { CMP_NONE, CMP_NE, CMP_EQ, CMP_MASKED_EQ };

static const struct {
        const char *name;
        enum scmp_compare op;
} cmps[] = {
        [CMP_NE] = {"SCMP_CMP_NE", SCMP_CMP_NE},
        [CMP_EQ] = {"SCMP_CMP_EQ", SCMP_CMP_EQ},
        [CMP_MASKED_EQ] = {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

struct arg_cond {
        enum cmp op; /* CMP_NONE: no condition */
        unsigned index;
        uint64_t value;
};

struct rule {
        const char *names;   /* space-separated */
        const char *cap;     /* applies only with this capability */
        const char *not_cap; /* applies only without it */
        unsigned arches;     /* ARCH() bits; ALL_ARCHES */
        int errno_ret;       /* 0: SCMP_ACT_ALLOW; else SCMP_ACT_ERRNO with this errno */
        struct arg_cond arg;
};

static const struct rule rules[] = {
        {.names = "accept accept4 access adjtimex alarm bind brk capget capset chdir chmod chown chown32 "
                  "clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime "
                  "clock_gettime64 clock_nanosleep clock_nanosleep_time64 close close_range connect "
                  "copy_file_range creat dup dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old "
                  "epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2 execve execveat exit "
                  "exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate fanotify_mark fchdir "
                  "fchmod fchmodat fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr flistxattr "
                  "flock fork fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64 fsync "
                  "ftruncate ftruncate64 futex futex_time64 futex_waitv futimesat getcpu getcwd getdents "
                  "getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups getgroups32 "
                  "getitimer getpeername getpgid getpgrp getpid getppid getpriority getrandom getresgid "
                  "getresgid32 getresuid getresuid32 getrlimit get_robust_list getrusage getsid getsockname "
                  "getsockopt get_thread_area gettid gettimeofday getuid getuid32 getxattr inotify_add_watch "
                  "inotify_init inotify_init1 inotify_rm_watch io_cancel ioctl io_destroy io_getevents "
                  "io_pgetevents io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit "
                  "io_uring_enter io_uring_register io_uring_setup ipc kill landlock_add_rule "
                  "landlock_create_ruleset landlock_restrict_self lchown lchown32 lgetxattr link linkat "
                  "listen listxattr llistxattr _llseek lremovexattr lseek lsetxattr lstat lstat64 madvise "
                  "membarrier memfd_create memfd_secret mincore mkdir mkdirat mknod mknodat mlock mlock2 "
                  "mlockall mmap mmap2 mprotect mq_getsetattr mq_notify mq_open mq_timedreceive "
                  "mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink mremap msgctl msgget "
                  "msgrcv msgsnd msync munlock munlockall munmap name_to_handle_at nanosleep newfstatat "
                  "_newselect open openat openat2 pause pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc "
                  "pkey_free pkey_mprotect poll ppoll ppoll_time64 prctl pread64 preadv preadv2 prlimit64 "
                  "process_mrelease pselect6 pselect6_time64 pwrite64 pwritev pwritev2 read readahead "
                  "readlink readlinkat readv recv recvfrom recvmmsg recvmmsg_time64 recvmsg "
                  "remap_file_pages removexattr rename renameat renameat2 restart_syscall rmdir rseq "
                  "rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend "
                  "rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_getaffinity "
                  "sched_getattr sched_getparam sched_get_priority_max sched_get_priority_min "
                  "sched_getscheduler sched_rr_get_interval sched_rr_get_interval_time64 "
                  "sched_setaffinity sched_setattr sched_setparam sched_setscheduler sched_yield seccomp "
                  "select semctl semget semop semtimedop semtimedop_time64 send sendfile sendfile64 "
                  "sendmmsg sendmsg sendto setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32 "
                  "setgroups setgroups32 setitimer setpgid setpriority setregid setregid32 setresgid "
                  "setresgid32 setresuid setresuid32 setreuid setreuid32 setrlimit set_robust_list setsid "
                  "setsockopt set_thread_area set_tid_address setuid setuid32 setxattr shmat shmctl shmdt "
                  "shmget shutdown sigaltstack signalfd signalfd4 sigprocmask sigreturn socketcall "
                  "socketpair splice stat stat64 statfs statfs64 statx symlink symlinkat sync "
                  "sync_file_range syncfs sysinfo tee tgkill time timer_create timer_delete "
                  "timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64 "
                  "timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64 "
                  "times tkill truncate truncate64 ugetrlimit umask uname unlink unlinkat utime utimensat "
                  "utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid write writev"},
        {.names = "process_vm_readv process_vm_writev ptrace"},
        /* Every socket family but AF_VSOCK (40): a container must not reach the host's vsock. */
        {.names = "socket", .arg = {CMP_NE, 0, 40}},
        /* personality(): the query and the harmless personas only (PER_LINUX, PER_LINUX32,
         * UNAME26, PER_LINUX32|UNAME26). */
        {.names = "personality", .arg = {CMP_EQ, 0, 0x0}},
        {.names = "personality", .arg = {CMP_EQ, 0, 0x8}},
        {.names = "personality", .arg = {CMP_EQ, 0, 0x20000}},
        {.names = "personality", .arg = {CMP_EQ, 0, 0x20008}},
        {.names = "personality", .arg = {CMP_EQ, 0, 0xffffffff}},
        {.names = "arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls",
         .arches = ARCH(ZERO_SECCOMP_ARCH_AARCH64)},
        {.names = "arch_prctl modify_ldt", .arches = ARCH(ZERO_SECCOMP_ARCH_X86_64)},
        {.names = "open_by_handle_at", .cap = "CAP_DAC_READ_SEARCH"},
        {.names = "bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount "
                  "mount_setattr move_mount open_tree perf_event_open quotactl quotactl_fd setdomainname "
                  "sethostname setns syslog umount umount2 unshare",
         .cap = "CAP_SYS_ADMIN"},
        /* Without CAP_SYS_ADMIN: threads and forks, no new namespaces (so no new user namespace,
         * the way around every other rule). clone3's flags sit in memory seccomp cannot read:
         * ENOSYS makes libc fall back to clone. */
        {.names = "clone", .not_cap = "CAP_SYS_ADMIN", .arg = {CMP_MASKED_EQ, 0, CLONE_NS_FLAGS}},
        {.names = "clone3", .not_cap = "CAP_SYS_ADMIN", .errno_ret = ERRNO_ENOSYS},
        {.names = "reboot", .cap = "CAP_SYS_BOOT"},
        {.names = "chroot", .cap = "CAP_SYS_CHROOT"},
        {.names = "delete_module init_module finit_module", .cap = "CAP_SYS_MODULE"},
        {.names = "acct", .cap = "CAP_SYS_PACCT"},
        {.names = "kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace",
         .cap = "CAP_SYS_PTRACE"},
        {.names = "iopl ioperm", .cap = "CAP_SYS_RAWIO"},
        {.names = "settimeofday stime clock_settime clock_settime64", .cap = "CAP_SYS_TIME"},
        {.names = "vhangup", .cap = "CAP_SYS_TTY_CONFIG"},
        {.names = "get_mempolicy mbind set_mempolicy set_mempolicy_home_node", .cap = "CAP_SYS_NICE"},
        {.names = "syslog", .cap = "CAP_SYSLOG"},
        {.names = "bpf", .cap = "CAP_BPF"},
        {.names = "perf_event_open", .cap = "CAP_PERFMON"},
};

static const char *const arch_lists[][4] = {
        [ZERO_SECCOMP_ARCH_X86_64] = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", NULL},
        [ZERO_SECCOMP_ARCH_AARCH64] = {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", NULL},
        [ZERO_SECCOMP_ARCH_OTHER] = {NULL},
};

static bool has_cap(const char *const *caps, const char *cap) {
        for (; caps && *caps; caps++)
                if (streq(*caps, cap))
                        return true;
        return false;
}

static bool applies(const struct rule *r, enum zero_seccomp_arch arch, const char *const *caps) {
        if (r->arches != ALL_ARCHES && !(r->arches & ARCH(arch)))
                return false;
        if (r->cap && !has_cap(caps, r->cap))
                return false;
        return !(r->not_cap && has_cap(caps, r->not_cap));
}

/* json_*_set_new() and _append_new() consume the value even when they fail. */
static int put(json_t *o, const char *key, json_t *v) {
        return v && json_object_set_new(o, key, v) >= 0 ? 0 : -ENOMEM;
}

static int push(json_t *a, json_t *v) {
        return v && json_array_append_new(a, v) >= 0 ? 0 : -ENOMEM;
}

static json_t *names_to_json(const char *s) {
        json_auto_t *a = json_array();

        if (!a)
                return NULL;
        while (*s) {
                size_t n = strcspn(s, " ");

                if (n > 0 && push(a, json_stringn(s, n)) < 0)
                        return NULL;
                s += n;
                s += strspn(s, " ");
        }
        return TAKE_PTR(a);
}

static json_t *rule_to_json(const struct rule *r) {
        json_auto_t *o = json_object();

        if (!o || put(o, "names", names_to_json(r->names)) < 0 ||
            put(o, "action", json_string(r->errno_ret ? "SCMP_ACT_ERRNO" : "SCMP_ACT_ALLOW")) < 0)
                return NULL;
        if (r->errno_ret && put(o, "errnoRet", json_integer(r->errno_ret)) < 0)
                return NULL;
        /* MASKED_EQ: value is the mask, valueTwo (0 here) what the masked argument must equal. */
        if (r->arg.op != CMP_NONE &&
            put(o, "args", json_pack("[{s:i,s:I,s:i,s:s}]", "index", (int) r->arg.index, "value",
                                     (json_int_t) r->arg.value, "valueTwo", 0, "op", cmps[r->arg.op].name)) < 0)
                return NULL;
        return TAKE_PTR(o);
}

json_t *zero_seccomp_profile_new(enum zero_seccomp_arch arch, const char *const *caps) {
        json_auto_t *p = json_object(), *arches = json_array(), *syscalls = json_array();

        if (!p || !arches || !syscalls || (size_t) arch >= ELEMENTSOF(arch_lists))
                return NULL;
        for (const char *const *a = arch_lists[arch]; *a; a++)
                if (push(arches, json_string(*a)) < 0)
                        return NULL;
        for (size_t i = 0; i < ELEMENTSOF(rules); i++)
                if (applies(&rules[i], arch, caps) && push(syscalls, rule_to_json(&rules[i])) < 0)
                        return NULL;
        if (put(p, "defaultAction", json_string("SCMP_ACT_ERRNO")) < 0 ||
            put(p, "defaultErrnoRet", json_integer(1)) < 0 || put(p, "architectures", TAKE_PTR(arches)) < 0 ||
            put(p, "syscalls", TAKE_PTR(syscalls)) < 0)
                return NULL;
        return TAKE_PTR(p);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(scmp_filter_ctx, seccomp_release);

/* libseccomp's names are the profile's without the prefix, in lower case ("SCMP_ARCH_X32"). */
static int add_arch(scmp_filter_ctx ctx, const char *profile_name) {
        char name[32];
        size_t i;
        uint32_t token;
        int r;

        profile_name += strlen("SCMP_ARCH_");
        for (i = 0; profile_name[i] && i < sizeof(name) - 1; i++)
                name[i] = (char) (profile_name[i] >= 'A' && profile_name[i] <= 'Z' ? profile_name[i] + 32
                                                                                    : profile_name[i]);
        name[i] = '\0';
        token = seccomp_arch_resolve_name(name);
        if (token == 0)
                return -EINVAL;
        r = seccomp_arch_add(ctx, token);
        return r == -EEXIST ? 0 : r;
}

static int add_rule(scmp_filter_ctx ctx, const struct rule *rule) {
        uint32_t action = rule->errno_ret ? SCMP_ACT_ERRNO((uint32_t) rule->errno_ret) : SCMP_ACT_ALLOW;
        struct scmp_arg_cmp cmp = {};

        if (rule->arg.op != CMP_NONE)
                cmp = (struct scmp_arg_cmp){rule->arg.index, cmps[rule->arg.op].op, rule->arg.value, 0};
        for (const char *s = rule->names; *s;) {
                size_t n = strcspn(s, " ");
                char name[64];
                int nr, r;

                snprintf(name, sizeof(name), "%.*s", (int) n, s);
                s += n;
                s += strspn(s, " ");
                /* A name this libseccomp does not know is skipped, as crun does by default: the
                 * kernel then answers EPERM for it, like for everything not listed. */
                nr = seccomp_syscall_resolve_name(name);
                if (nr == __NR_SCMP_ERROR)
                        continue;
                r = seccomp_rule_add_array(ctx, action, nr, rule->arg.op != CMP_NONE ? 1 : 0, &cmp);
                if (r < 0 && r != -EEXIST)
                        return r;
        }
        return 0;
}

int zero_seccomp_bpf_base64(const char *const *caps, char **ret) {
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        _cleanup_free_ void *bpf = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        ssize_t n;
        int r;

        ctx = seccomp_init(SCMP_ACT_ERRNO(1));
        if (!ctx)
                return -ENOMEM;
        for (const char *const *a = arch_lists[ZERO_SECCOMP_ARCH_NATIVE]; *a; a++)
                if ((r = add_arch(ctx, *a)) < 0)
                        return r;
        for (size_t i = 0; i < ELEMENTSOF(rules); i++)
                if (applies(&rules[i], ZERO_SECCOMP_ARCH_NATIVE, caps) && (r = add_rule(ctx, &rules[i])) < 0)
                        return r;

        /* libseccomp 2.5 exports to a file descriptor only. */
        fd = memfd_create("zero-seccomp", MFD_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                return r;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_size <= 0 || st.st_size > BPF_MAX_BYTES)
                return -E2BIG;
        bpf = malloc((size_t) st.st_size);
        if (!bpf)
                return -ENOMEM;
        n = pread(fd, bpf, (size_t) st.st_size, 0);
        if (n != st.st_size)
                return n < 0 ? -errno : -EIO;
        *ret = zero_base64(bpf, (size_t) n);
        return *ret ? 0 : -ENOMEM;
}
