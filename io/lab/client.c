/* SPDX-License-Identifier: Apache-2.0 */
/* The card's API from zerod's loop: libcurl's multi interface on sd-event (client.h). */
#include "io/lab/client.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/http_errors.h"
#include "common/util.h"

#define TIMEOUT_USEC_DEFAULT (120ULL * 1000000ULL)
#define CONNECT_TIMEOUT_MS 5000L
#define ANSWER_MAX (4U * 1024U * 1024U)

struct lab_client {
        sd_event *event;
        CURLM *multi;
        sd_event_source *timer;
        char *base;
        char *unix_socket;
        char *auth; /* "Authorization: Bearer ..." */
        struct lab_request *reqs;
};

struct lab_request {
        struct lab_client *c;
        CURL *easy;
        struct curl_slist *headers;
        char *body;
        int upload_fd;
        char *answer;
        size_t answer_len;
        bool too_long;
        char errbuf[CURL_ERROR_SIZE];
        lab_client_done_fn done;
        void *userdata;
        struct lab_request *next, *prev;
};

static size_t on_write(char *data, size_t size, size_t n, void *userdata) {
        struct lab_request *q = userdata;
        size_t len = size * n;
        char *p;

        if (q->answer_len + len > ANSWER_MAX) {
                q->too_long = true;
                return 0; /* curl fails the transfer */
        }
        p = realloc(q->answer, q->answer_len + len + 1);
        if (!p)
                return 0;
        memcpy(p + q->answer_len, data, len);
        q->answer = p;
        q->answer_len += len;
        q->answer[q->answer_len] = '\0';
        return len;
}

static size_t on_read(char *buf, size_t size, size_t n, void *userdata) {
        struct lab_request *q = userdata;
        ssize_t k = read(q->upload_fd, buf, size * n);
        return k < 0 ? CURL_READFUNC_ABORT : (size_t) k;
}

static void request_free(struct lab_request *q) {
        struct lab_client *c = q->c;

        if (q->easy) {
                if (c)
                        curl_multi_remove_handle(c->multi, q->easy);
                curl_easy_cleanup(q->easy);
        }
        if (c) {
                if (q->prev)
                        q->prev->next = q->next;
                else if (c->reqs == q)
                        c->reqs = q->next;
                if (q->next)
                        q->next->prev = q->prev;
        }
        curl_slist_free_all(q->headers);
        safe_close(q->upload_fd);
        free(q->body);
        free(q->answer);
        free(q);
}

struct lab_request *lab_request_cancel(struct lab_request *q) {
        if (q)
                request_free(q);
        return NULL;
}

/* The answer as the ABI wants it: r, the status, the body, err. */
static int outcome(CURLcode cr, long status, const char *errbuf, const char *answer, size_t len, bool too_long,
                   json_t **ret_body, struct zero_error *err) {
        json_t *body = NULL, *e;

        if (ret_body)
                *ret_body = NULL;
        if (too_long)
                return zero_error_set(err, -EMSGSIZE, ZERO_E_INTERNAL, "the card's answer is over %u bytes",
                                      ANSWER_MAX);
        if (cr == CURLE_OPERATION_TIMEDOUT)
                return zero_error_set(err, -ETIMEDOUT, ZERO_E_TIMEOUT, "the card did not answer in time: %s", errbuf);
        if (cr != CURLE_OK)
                return zero_error_set(err, -EHOSTUNREACH, ZERO_E_UNAVAILABLE, "the card does not answer: %s",
                                      errbuf[0] ? errbuf : curl_easy_strerror(cr));
        if (len > 0)
                body = json_loadb(answer, len, 0, NULL);
        if (status >= 400) {
                int r = status == 404   ? -ENOENT
                        : status == 409 ? -EBUSY
                        : status == 503 ? -EAGAIN
                        : status == 504 ? -ETIMEDOUT
                                        : -EIO;
                e = json_object_get(body, "error");
                zero_error_set(
                        err, r,
                        zero_http_errc_from_code(json_string_value(json_object_get(e, "code")), (unsigned) status),
                        "the card: %s",
                        json_string_value(json_object_get(e, "message"))
                                ?: (answer && len ? answer : "no reason given"));
                json_decref(body);
                return r;
        }
        if (ret_body)
                *ret_body = body;
        else
                json_decref(body);
        return 0;
}

static void request_done(struct lab_request *q, CURLcode cr) {
        struct zero_error err = {};
        json_t *body = NULL;
        long status = 0;
        int r;

        curl_easy_getinfo(q->easy, CURLINFO_RESPONSE_CODE, &status);
        r = outcome(cr, status, q->errbuf, q->answer, q->answer_len, q->too_long, &body, &err);
        lab_client_done_fn done = q->done;
        void *userdata = q->userdata;
        request_free(q);
        done(userdata, r, status, body, r < 0 ? &err : NULL);
        json_decref(body);
}

static void process_done(struct lab_client *c) {
        CURLMsg *m;
        int left;

        while ((m = curl_multi_info_read(c->multi, &left)))
                if (m->msg == CURLMSG_DONE) {
                        struct lab_request *q = NULL;
                        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **) &q);
                        if (q)
                                request_done(q, m->data.result);
                }
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct lab_client *c = userdata;
        int flags = (revents & EPOLLIN ? CURL_CSELECT_IN : 0) | (revents & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                    (revents & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
        int running;

        curl_multi_socket_action(c->multi, fd, flags, &running);
        process_done(c);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct lab_client *c = userdata;
        int running;

        curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        process_done(c);
        return 0;
}

/* curl says which sockets to watch for what. */
static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
        struct lab_client *c = userp;
        sd_event_source *src = socketp;
        uint32_t ev = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);

        if (what == CURL_POLL_REMOVE) {
                if (src)
                        sd_event_source_disable_unref(src);
                curl_multi_assign(c->multi, fd, NULL);
                return 0;
        }
        if (!src) {
                if (sd_event_add_io(c->event, &src, fd, ev, on_io, c) < 0)
                        return -1;
                curl_multi_assign(c->multi, fd, src);
                return 0;
        }
        (void) sd_event_source_set_io_events(src, ev);
        (void) sd_event_source_set_enabled(src, SD_EVENT_ON);
        return 0;
}

/* curl's next timeout: a timer on the loop (0: at once, from the loop). */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp) {
        struct lab_client *c = userp;

        if (timeout_ms < 0)
                return sd_event_source_set_enabled(c->timer, SD_EVENT_OFF) < 0 ? -1 : 0;
        (void) sd_event_source_set_time_relative(c->timer, (uint64_t) timeout_ms * USEC_PER_MSEC);
        return sd_event_source_set_enabled(c->timer, SD_EVENT_ONESHOT) < 0 ? -1 : 0;
}

int lab_client_new(sd_event *e, const char *base_url, const char *unix_socket, const char *token,
                   struct lab_client **ret) {
        struct lab_client *c = calloc(1, sizeof(*c));
        int r;

        if (!c)
                return -ENOMEM;
        c->event = e;
        c->base = strdup(base_url);
        c->unix_socket = unix_socket ? strdup(unix_socket) : NULL;
        c->auth = zero_strdup_printf("Authorization: Bearer %s", token);
        c->multi = curl_multi_init();
        if (!c->base || !c->auth || !c->multi || (unix_socket && !c->unix_socket)) {
                lab_client_free(c);
                return -ENOMEM;
        }
        r = sd_event_add_time_relative(e, &c->timer, CLOCK_MONOTONIC, 0, 1000, on_timer, c);
        if (r < 0) {
                lab_client_free(c);
                return r;
        }
        (void) sd_event_source_set_enabled(c->timer, SD_EVENT_OFF);
        curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
        curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
        curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
        curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
        *ret = c;
        return 0;
}

struct lab_client *lab_client_free(struct lab_client *c) {
        if (!c)
                return NULL;
        while (c->reqs)
                request_free(c->reqs);
        if (c->multi)
                curl_multi_cleanup(c->multi);
        c->timer = sd_event_source_disable_unref(c->timer);
        if (c->auth)
                explicit_bzero(c->auth, strlen(c->auth));
        free(c->auth);
        free(c->base);
        free(c->unix_socket);
        free(c);
        return NULL;
}

/* An easy handle for method on path with q's buffers. */
static int request_setup(struct lab_client *c, struct lab_request *q, const char *method, const char *path,
                         json_t *body, const char *upload_path, uint64_t timeout_usec) {
        _cleanup_free_ char *url = zero_strdup_printf("%s%s", c->base, path);
        struct stat st;

        q->upload_fd = -EBADF;
        q->easy = curl_easy_init();
        if (!url || !q->easy)
                return -ENOMEM;
        q->headers = curl_slist_append(NULL, c->auth);
        if (!q->headers)
                return -ENOMEM;
        if (body) {
                q->body = json_dumps(body, JSON_COMPACT);
                if (!q->body || !(q->headers = curl_slist_append(q->headers, "Content-Type: application/json")))
                        return -ENOMEM;
                curl_easy_setopt(q->easy, CURLOPT_POSTFIELDS, q->body);
                curl_easy_setopt(q->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) strlen(q->body));
        } else if (upload_path) {
                q->upload_fd = open(upload_path, O_RDONLY | O_CLOEXEC);
                if (q->upload_fd < 0 || fstat(q->upload_fd, &st) < 0)
                        return -errno;
                if (!(q->headers = curl_slist_append(q->headers, "Content-Type: application/octet-stream")))
                        return -ENOMEM;
                curl_easy_setopt(q->easy, CURLOPT_UPLOAD, 1L);
                curl_easy_setopt(q->easy, CURLOPT_READFUNCTION, on_read);
                curl_easy_setopt(q->easy, CURLOPT_READDATA, q);
                curl_easy_setopt(q->easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t) st.st_size);
        } else if (!streq(method, "GET") && !streq(method, "DELETE"))
                curl_easy_setopt(q->easy, CURLOPT_POSTFIELDSIZE, 0L);
        /* curl's own "Expect: 100-continue" waits a second for a server that answers nothing. */
        if (!(q->headers = curl_slist_append(q->headers, "Expect:")))
                return -ENOMEM;
        curl_easy_setopt(q->easy, CURLOPT_URL, url);
        if (c->unix_socket)
                curl_easy_setopt(q->easy, CURLOPT_UNIX_SOCKET_PATH, c->unix_socket);
        curl_easy_setopt(q->easy, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(q->easy, CURLOPT_HTTPHEADER, q->headers);
        curl_easy_setopt(q->easy, CURLOPT_WRITEFUNCTION, on_write);
        curl_easy_setopt(q->easy, CURLOPT_WRITEDATA, q);
        curl_easy_setopt(q->easy, CURLOPT_ERRORBUFFER, q->errbuf);
        curl_easy_setopt(q->easy, CURLOPT_PRIVATE, q);
        curl_easy_setopt(q->easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(q->easy, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(q->easy, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
        curl_easy_setopt(q->easy, CURLOPT_TIMEOUT_MS, (long) ((timeout_usec ?: TIMEOUT_USEC_DEFAULT) / USEC_PER_MSEC));
        return 0;
}

int lab_client_request(struct lab_client *c, const char *method, const char *path, json_t *body,
                       const char *upload_path, uint64_t timeout_usec, lab_client_done_fn done, void *userdata,
                       struct lab_request **ret) {
        json_auto_t *b = body;
        struct lab_request *q = calloc(1, sizeof(*q));
        int r;

        if (!q)
                return -ENOMEM;
        r = request_setup(c, q, method, path, b, upload_path, timeout_usec);
        if (r < 0) {
                request_free(q);
                return r;
        }
        q->done = done;
        q->userdata = userdata;
        q->c = c;
        q->next = c->reqs;
        if (c->reqs)
                c->reqs->prev = q;
        c->reqs = q;
        /* curl asks for its timer (0: from the loop) and sockets: the work starts there. */
        if (curl_multi_add_handle(c->multi, q->easy) != CURLM_OK) {
                request_free(q);
                return -ENOMEM;
        }
        if (ret)
                *ret = q;
        return 0;
}

int lab_client_call(struct lab_client *c, const char *method, const char *path, json_t *body, uint64_t timeout_usec,
                    long *ret_status, json_t **ret_body, struct zero_error *err) {
        json_auto_t *b = body;
        struct lab_request *q = calloc(1, sizeof(*q));
        long status = 0;
        CURLcode cr;
        int r;

        if (!q)
                return -ENOMEM;
        r = request_setup(c, q, method, path, b, NULL, timeout_usec);
        if (r < 0) {
                request_free(q);
                return zero_error_default(err, r, "the card");
        }
        cr = curl_easy_perform(q->easy);
        curl_easy_getinfo(q->easy, CURLINFO_RESPONSE_CODE, &status);
        r = outcome(cr, status, q->errbuf, q->answer, q->answer_len, q->too_long, ret_body, err);
        request_free(q);
        if (ret_status)
                *ret_status = status;
        return r;
}
