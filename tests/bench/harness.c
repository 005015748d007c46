/* SPDX-License-Identifier: Apache-2.0 */
#include "tests/bench/harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <linux/loop.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

#include "common/util.h"

void bench_sleep_ms(long ms) {
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

long bench_proc_status_kib(pid_t pid, const char *key) {
        char path[64], line[256];
        size_t n = strlen(key);
        long v = -1;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
        if (!(f = fopen(path, "re")))
                return -1;
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, key, n) == 0 && line[n] == ':')
                        v = strtol(line + n + 1, NULL, 10);
        fclose(f);
        return v;
}

char *bench_path(const struct bench *b, const char *name) {
        return zero_strdup_printf("%s/%s", b->tmp, name);
}

int bench_run(struct bench *b, char *const argv[]) {
        _cleanup_free_ char *out = NULL;
        int r = zero_run_wait(argv, &out);

        if (out)
                out[strcspn(out, "\n")] = '\0';
        return r == 0 ? 0 : bench_fail(b, r < 0 ? r : -EIO, "%s exited with %d: %.300s", argv[0], r, strempty(out));
}

bool bench_proc_names(pid_t pid, const char *s) {
        char path[64], buf[4096];
        _cleanup_close_ int fd = -EBADF;
        ssize_t len;

        snprintf(path, sizeof(path), "/proc/%d/cmdline", (int) pid);
        if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || (len = read(fd, buf, sizeof(buf) - 1)) <= 0)
                return false;
        for (ssize_t i = 0; i < len; i++)
                buf[i] = buf[i] ? buf[i] : ' ';
        buf[len] = '\0';
        return strstr(buf, s) != NULL;
}

int bench_tmp_new(struct bench *b) {
        snprintf(b->tmp, sizeof(b->tmp), "/tmp/zero-bench.XXXXXX");
        if (!mkdtemp(b->tmp)) {
                b->tmp[0] = '\0';
                return bench_fail(b, -errno, "mkdtemp: %m");
        }
        b->sock = bench_path(b, "zerod.sock");
        b->run_dir = bench_path(b, "run");
        b->state_dir = bench_path(b, "state");
        b->log = bench_path(b, "zerod.log");
        if (!b->sock || !b->run_dir || !b->state_dir || !b->log || !(b->curl = curl_easy_init()))
                return bench_fail(b, -ENOMEM, "out of memory");
        return 0;
}

int bench_zerod_start(struct bench *b, const char *conf) {
        _cleanup_free_ char *listen = zero_strdup_printf("unix:%s", b->sock), *conf_path = bench_path(b, "zerod.conf");
        /* images are imported from host paths in the benchmark's own directory */
        _cleanup_free_ char *text = zero_strdup_printf("[images]\nimport_dirs = %s\n%s", b->tmp, strempty(conf));
        _cleanup_close_ int log_fd = open(b->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        int r;

        if (!listen || !conf_path || !text || log_fd < 0)
                return bench_fail(b, log_fd < 0 ? -errno : -ENOMEM, "cannot open zerod's log: %m");
        if ((r = zero_write_file_atomic(conf_path, text, strlen(text), 0600)) < 0)
                return bench_fail(b, r, "cannot write %s: %s", conf_path, strerror(-r));
        if ((b->zerod_pid = fork()) < 0)
                return bench_fail(b, -errno, "fork: %m");
        if (b->zerod_pid == 0) {
                int null = open("/dev/null", O_RDWR);
                (void) setpgid(0, 0); /* ^C reaches the benchmark, which cleans up */
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (null < 0 || dup2(null, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0)
                        _exit(127);
                (void) signal(SIGPIPE, SIG_DFL); /* the benchmark ignores it; zerod decides itself */
                char *args[32] = {"zerod", "--config", conf_path, "--state-dir", b->state_dir, "--run-dir", b->run_dir,
                                  "--listen", listen, "--plugin-dir", (char *) b->plugin_dir, "--shim", (char *) b->shim,
                                  "--log-level", "debug"};
                size_t k = 15;
                for (char *const *e = b->zerod_args; e && *e && k < ELEMENTSOF(args) - 1; e++)
                        args[k++] = *e;
                execv(b->zerod, args);
                _exit(127);
        }
        for (int i = 0; i < 500; i++, bench_sleep_ms(20)) {
                if (waitpid(b->zerod_pid, NULL, WNOHANG) == b->zerod_pid) {
                        b->zerod_pid = 0;
                        return bench_fail(b, -ESRCH, "zerod exited while starting");
                }
                if (access(b->sock, F_OK) == 0 && bench_api(b, "GET", "/v1/node", NULL, 200, NULL) >= 0)
                        return 0;
        }
        return bench_fail(b, -ETIMEDOUT, "zerod did not answer on %s within 10 s", b->sock);
}

int bench_image_import(struct bench *b, const char *name) {
        _cleanup_free_ char *script = zero_strdup_printf("%s/deploy/make-busybox-rootfs", b->source_dir);
        _cleanup_free_ char *rootfs = zero_strdup_printf("%s/rootfs-%s", b->tmp, name);
        _cleanup_free_ char *body = zero_strdup_printf("{\"name\":\"%s\",\"source\":\"%s\"}", name, strempty(rootfs));
        int r;

        if (!script || !rootfs || !body)
                return bench_fail(b, -ENOMEM, "out of memory");
        if ((r = bench_run(b, (char *const[]){script, rootfs, NULL})) < 0)
                return r;
        return bench_act(b, "POST", "/v1/images", body, NULL, NULL);
}

static size_t on_body(char *data, size_t size, size_t n, void *userdata) {
        struct bench *b = userdata;
        char *nb = realloc(b->body, b->body_len + size * n + 1);

        if (!nb)
                return 0;
        memcpy(nb + b->body_len, data, size * n);
        b->body = nb;
        b->body_len += size * n;
        b->body[b->body_len] = '\0';
        return size * n;
}

/* curl_easy_reset() keeps live connections: every request reuses the one to zerod. */
int bench_api(struct bench *b, const char *method, const char *path, const char *json, long want, json_t **ret) {
        struct curl_slist *hdr = NULL;
        char url[256];
        long status = 0;
        CURLcode c;

        snprintf(url, sizeof(url), "http://zero%s", path);
        b->body_len = 0;
        curl_easy_reset(b->curl);
        curl_easy_setopt(b->curl, CURLOPT_UNIX_SOCKET_PATH, b->sock);
        curl_easy_setopt(b->curl, CURLOPT_URL, url);
        curl_easy_setopt(b->curl, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(b->curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(b->curl, CURLOPT_TIMEOUT, (long) BENCH_OP_WAIT_S + 10);
        curl_easy_setopt(b->curl, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(b->curl, CURLOPT_WRITEDATA, b);
        if (json) {
                hdr = curl_slist_append(NULL, "Content-Type: application/json");
                curl_easy_setopt(b->curl, CURLOPT_HTTPHEADER, hdr);
                curl_easy_setopt(b->curl, CURLOPT_POSTFIELDS, json);
        }
        c = curl_easy_perform(b->curl);
        curl_slist_free_all(hdr);
        if (c != CURLE_OK)
                return bench_fail(b, -EIO, "%s %s: %s", method, path, curl_easy_strerror(c));
        curl_easy_getinfo(b->curl, CURLINFO_RESPONSE_CODE, &status);
        if (status != want)
                return bench_fail(b, -EIO, "%s %s: HTTP %ld, expected %ld: %.300s", method, path, status, want,
                                  b->body_len ? b->body : "");
        if (ret) {
                json_error_t je;
                if (!(*ret = json_loadb(b->body_len ? b->body : "", b->body_len, 0, &je)))
                        return bench_fail(b, -EBADMSG, "%s %s: the answer is not JSON: %s", method, path, je.text);
        }
        return 0;
}

int bench_act(struct bench *b, const char *method, const char *path, const char *json, char *ret_id,
              uint64_t *ret_accept_usec) {
        uint64_t t0 = zero_monotonic_usec();
        char id[40], poll[128];
        json_auto_t *op = NULL;
        int r = bench_api(b, method, path, json, 202, &op);

        if (r < 0)
                return r;
        if (ret_accept_usec)
                *ret_accept_usec = zero_monotonic_usec() - t0;
        if (!json_is_string(json_object_get(op, "id")))
                return bench_fail(b, -EBADMSG, "%s %s: no operation id in %.200s", method, path, b->body);
        snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(op, "id")));
        snprintf(poll, sizeof(poll), "/v1/operations/%s?wait=%d", id, BENCH_OP_WAIT_S);
        if (ret_id)
                memcpy(ret_id, id, sizeof(id));
        for (int i = 0; i < 4; i++) {
                json_auto_t *o = NULL;
                if ((r = bench_api(b, "GET", poll, NULL, 200, &o)) < 0)
                        return r;
                const char *status = json_string_value(json_object_get(o, "status"));
                if (status && streq(status, "succeeded"))
                        return 0;
                if (!status || !streq(status, "running"))
                        return bench_fail(b, -EIO, "%s %s: operation %s ended: %.300s", method, path, id, b->body);
        }
        return bench_fail(b, -ETIMEDOUT, "%s %s: operation %s runs after %d s", method, path, id, 4 * BENCH_OP_WAIT_S);
}

static int cmp_u64(const void *x, const void *y) {
        uint64_t a = *(const uint64_t *) x, c = *(const uint64_t *) y;
        return a < c ? -1 : a > c;
}

double bench_stats(const char *what, uint64_t *v, size_t n) {
        if (n == 0)
                return 0;
        qsort(v, n, sizeof(*v), cmp_u64);
        double med = n % 2 ? (double) v[n / 2] : ((double) v[n / 2 - 1] + (double) v[n / 2]) / 2;
        size_t rank = (99 * n + 99) / 100; /* ceil(0.99 n) */
        printf("  %-32s %8.2f %8.2f %8.2f %8.2f\n", what, med / 1000, (double) v[rank - 1] / 1000,
               (double) v[0] / 1000, (double) v[n - 1] / 1000);
        return med;
}

void bench_step_stats(const struct bench *b, char (*ids)[40], size_t n) {
        struct {
                char kind[16], step[32];
                uint64_t *v;
                size_t n;
        } t[16] = {};
        size_t nt = 0, cap = 0, i;
        char *line = NULL;
        FILE *f = fopen(b->log, "re");

        while (f && getline(&line, &cap, f) > 0) {
                char id[40], kind[16], step[32];
                unsigned long long us;
                const char *s = strstr(line, "Operation ");
                size_t k = 0;

                if (!s)
                        continue;
                /* zerod's "Operation ID KIND: N store commits (...)" at the end: the count, in the
                 * figures' unit (printed as a count, below). */
                if (sscanf(s, "Operation %39s %15[^:]: %llu store commits", id, kind, &us) == 3) {
                        snprintf(step, sizeof(step), "%s", "(commits)");
                        us *= 1000;
                } else if (sscanf(s, "Operation %39s %15[^:]: step %31s took %llu", id, kind, step, &us) != 4)
                        continue;
                while (k < n && !streq(id, ids[k]))
                        k++;
                if (k == n)
                        continue;
                for (i = 0; i < nt && !(streq(t[i].kind, kind) && streq(t[i].step, step)); i++)
                        ;
                if (i == nt) {
                        if (nt == ELEMENTSOF(t) || !(t[i].v = calloc(n, sizeof(uint64_t))))
                                continue;
                        snprintf(t[i].kind, sizeof(t[i].kind), "%s", kind);
                        snprintf(t[i].step, sizeof(t[i].step), "%s", step);
                        nt++;
                }
                if (t[i].n < n)
                        t[i].v[t[i].n++] = us;
        }
        free(line);
        if (f)
                fclose(f);
        for (i = 0; i < nt; i++) {
                char what[64];
                if (streq(t[i].step, "(commits)"))
                        snprintf(what, sizeof(what), "%.15s: store commits (count)", t[i].kind);
                else
                        snprintf(what, sizeof(what), "%.15s: step %.31s", t[i].kind, t[i].step);
                (void) bench_stats(what, t[i].v, t[i].n);
                free(t[i].v);
        }
}

/* SIGKILLs what still runs with the temp dir in its command line; returns how many. */
static int kill_leftovers(const char *tmp) {
        DIR *d = opendir("/proc");
        struct dirent *de;
        int n = 0;

        while (d && (de = readdir(d))) {
                int64_t pid;

                if (zero_parse_int64(de->d_name, 2, INT32_MAX, &pid) < 0 || pid == getpid())
                        continue;
                if (bench_proc_names((pid_t) pid, tmp) && kill((pid_t) pid, SIGKILL) >= 0) {
                        fprintf(stderr, "cleanup: killed pid %s, still running\n", de->d_name);
                        n++;
                }
        }
        if (d)
                closedir(d);
        return n;
}

/* Unmounts everything under the temp dir, innermost first; returns how many there were. */
/* Loop devices over files under tmp (the card's exports). Detached before the mounts: once the
 * FUSE mount under a loop device is gone, its backing file no longer names the directory. */
static int detach_loop_leftovers(const char *tmp) {
        DIR *d = opendir("/sys/block");
        struct dirent *de;
        int n = 0;

        while (d && (de = readdir(d))) {
                _cleanup_free_ char *path = NULL, *backing = NULL, *dev = NULL;
                int fd;

                if (strncmp(de->d_name, "loop", 4) != 0)
                        continue;
                path = zero_strdup_printf("/sys/block/%s/loop/backing_file", de->d_name);
                if (!path || zero_read_file(path, 4096, &backing, NULL) < 0 || strncmp(backing, tmp, strlen(tmp)) != 0)
                        continue;
                dev = zero_strdup_printf("/dev/%s", de->d_name);
                fd = dev ? open(dev, O_RDONLY | O_CLOEXEC) : -1;
                if (fd >= 0) {
                        (void) ioctl(fd, LOOP_CLR_FD, 0);
                        close(fd);
                        fprintf(stderr, "cleanup: detached %s (%s)\n", dev, backing);
                        n++;
                }
        }
        if (d)
                closedir(d);
        return n;
}

static int umount_leftovers(const char *tmp) {
        char *line = NULL, *mp[256];
        size_t cap = 0, n = 0, tl = strlen(tmp);
        FILE *f = fopen("/proc/self/mountinfo", "re");

        while (f && getline(&line, &cap, f) > 0 && n < ELEMENTSOF(mp)) {
                char point[4096];
                if (sscanf(line, "%*s %*s %*s %*s %4095s", point) == 1 && strncmp(point, tmp, tl) == 0 &&
                    (point[tl] == '/' || point[tl] == '\0'))
                        mp[n++] = strdup(point);
        }
        free(line);
        if (f)
                fclose(f);
        for (size_t i = n; i > 0; i--) {
                if (mp[i - 1]) {
                        fprintf(stderr, "cleanup: unmounted %s\n", mp[i - 1]);
                        (void) umount2(mp[i - 1], MNT_DETACH);
                }
                free(mp[i - 1]);
        }
        return (int) n;
}

/* `crun delete -f` of every container under root; returns how many there were. */
static int crun_delete_all(const struct bench *b, const char *root) {
        _cleanup_free_ char *out = NULL;
        char *save = NULL;
        int n = 0;

        if (access(root, F_OK) < 0 ||
            zero_run_wait((char *const[]){(char *) b->crun, "--root", (char *) root, "list", "-q", NULL}, &out) != 0)
                return 0;
        for (char *id = strtok_r(out, "\n", &save); id; id = strtok_r(NULL, "\n", &save), n++) {
                fprintf(stderr, "cleanup: crun container %s deleted\n", id);
                (void) zero_run_wait((char *const[]){(char *) b->crun, "--root", (char *) root,
                                                     "--cgroup-manager=disabled", "delete", "-f", id, NULL}, NULL);
        }
        return n;
}

/* The card's qemu-storage-daemon outlives zerod by design: stop it like an operator would, so
 * that it does not count as a leftover. */
static void stop_card_daemon(struct bench *b) {
        _cleanup_free_ char *pidf = b->run_dir ? zero_strdup_printf("%s/card/qsd/pid", b->run_dir) : NULL;
        _cleanup_free_ char *text = NULL;
        int64_t pid;

        if (!pidf || zero_read_file(pidf, 32, &text, NULL) < 0)
                return;
        text[strcspn(text, "\n")] = '\0';
        if (zero_parse_int64(text, 1, INT32_MAX, &pid) < 0 || kill((pid_t) pid, SIGTERM) < 0)
                return;
        for (int k = 0; k < 100 && kill((pid_t) pid, 0) == 0; k++)
                bench_sleep_ms(20);
        bench_sleep_ms(100); /* its shim writes the exit record and goes */
}

int bench_cleanup(struct bench *b, const char *const *crun_roots) {
        _cleanup_free_ char *zerod_crun = b->run_dir ? zero_strdup_printf("%s/crun", b->run_dir) : NULL;
        int forced = 0, left;

        if (!b->tmp[0])
                return 0;
        if (b->zerod_pid > 0 && b->curl) {
                json_auto_t *list = NULL;
                json_t *inst;
                size_t i;

                if (bench_api(b, "GET", "/v1/instances", NULL, 200, &list) >= 0)
                        json_array_foreach(json_object_get(list, "instances"), i, inst) {
                                char path[128];
                                snprintf(path, sizeof(path), "/v1/instances/%s?force=true",
                                         strempty(json_string_value(json_object_get(inst, "name"))));
                                if (bench_act(b, "DELETE", path, NULL, NULL, NULL) < 0)
                                        fprintf(stderr, "cleanup: %s\n", b->err.message);
                        }
                (void) kill(b->zerod_pid, SIGTERM); /* as systemd stops it */
                for (int k = 0; k < 500 && b->zerod_pid > 0; k++, bench_sleep_ms(20))
                        if (waitpid(b->zerod_pid, NULL, WNOHANG) != 0)
                                b->zerod_pid = 0;
        }
        if (b->zerod_pid > 0 && kill(b->zerod_pid, SIGKILL) >= 0)
                (void) waitpid(b->zerod_pid, NULL, 0);
        b->zerod_pid = 0;
        stop_card_daemon(b);
        for (; crun_roots && *crun_roots; crun_roots++)
                forced += crun_delete_all(b, *crun_roots);
        forced += zerod_crun ? crun_delete_all(b, zerod_crun) : 0;
        forced += detach_loop_leftovers(b->tmp);
        forced += kill_leftovers(b->tmp);
        if (forced)
                bench_sleep_ms(200);
        forced += umount_leftovers(b->tmp);
        if (forced)
                fprintf(stderr, "cleanup: %d containers, processes or mounts had to be cleared by force\n", forced);
        left = kill_leftovers(b->tmp) + umount_leftovers(b->tmp);
        if (zero_rm_rf(b->tmp) < 0 || left > 0) {
                fprintf(stderr, "cleanup: %s could not be removed completely\n", b->tmp);
                return -EBUSY;
        }
        free(b->sock);
        free(b->run_dir);
        free(b->state_dir);
        free(b->log);
        free(b->body);
        curl_easy_cleanup(b->curl);
        *b = (struct bench){.err = b->err};
        return forced ? -EBUSY : 0;
}
