/*
 * The client: curl multi handle driven by libuv, requests and retries.
 * What a request may carry and when it is retried are in policy.c.
 *
 * Longer than 600 lines on purpose: curl's socket and timer callbacks,
 * the libuv handles that serve them and a call's life (send, back off,
 * retry, finish, cancel, shut down) are one state machine over the same
 * private structs; split, each half would need the other's internals.
 */
#include "httpc/httpc.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "httpc/internal.h"
#include "util/buf.h"

/* One polled socket: curl owns the fd, we own the uv_poll watching it. */
typedef struct sock_ctx {
    uv_poll_t poll;
    curl_socket_t fd;
    s6_httpc *c;
    struct sock_ctx *prev, *next;
} sock_ctx;

/* One request from s6_httpc_request until its callback has run. */
typedef struct call {
    s6_httpc *c;
    struct call *prev, *next;
    uint64_t id;
    s6_httpc_cb cb;
    void *ud;
    CURL *easy;             /* NULL while waiting for a retry */
    struct curl_slist *hdrs;
    char *method, *url, *body;
    size_t body_len;
    char **keep;            /* header names of interest */
    char **kept;            /* their values in the current response */
    size_t n_keep;
    s6_httpc_header *out_hdrs;
    bool has_retry, timer_open, too_large;
    s6_httpc_retry retry;
    uint64_t rng;
    unsigned timeout_ms, connect_timeout_ms, attempts;
    size_t max_body;
    s6_buf rbody;
    uv_timer_t backoff;     /* opened only for requests with a retry */
    char errbuf[CURL_ERROR_SIZE];
} call;

struct s6_httpc {
    uv_loop_t *loop;
    s6_log *log;
    s6_httpc_limits lim;
    CURLM *multi;
    uv_timer_t timer;       /* curl's single timeout */
    call *calls;
    size_t n_calls;
    sock_ctx *socks;
    uint64_t next_id;
    int handles;            /* open uv handles: timer, polls, backoffs */
    bool closing, notified;
    s6_httpc_closed_cb closed_cb;
    void *closed_ud;
};

static const char *const err_names[S6_HTTPC_E_COUNT] = {
    [S6_HTTPC_OK] = "ok",
    [S6_HTTPC_E_TIMEOUT] = "timeout",
    [S6_HTTPC_E_REFUSED] = "refused",
    [S6_HTTPC_E_RESET] = "reset",
    [S6_HTTPC_E_DNS] = "dns",
    [S6_HTTPC_E_TOO_LARGE] = "too_large",
    [S6_HTTPC_E_CANCELLED] = "cancelled",
    [S6_HTTPC_E_SHUTDOWN] = "shutdown",
    [S6_HTTPC_E_OTHER] = "other",
};

/* curl's codes for the transport failures callers tell apart. */
static const struct {
    CURLcode code;
    s6_httpc_err err;
} curl_errs[] = {
    { CURLE_OPERATION_TIMEDOUT, S6_HTTPC_E_TIMEOUT },
    { CURLE_COULDNT_CONNECT, S6_HTTPC_E_REFUSED },
    { CURLE_COULDNT_RESOLVE_HOST, S6_HTTPC_E_DNS },
    { CURLE_COULDNT_RESOLVE_PROXY, S6_HTTPC_E_DNS },
    { CURLE_GOT_NOTHING, S6_HTTPC_E_RESET },
    { CURLE_RECV_ERROR, S6_HTTPC_E_RESET },
    { CURLE_SEND_ERROR, S6_HTTPC_E_RESET },
    { CURLE_PARTIAL_FILE, S6_HTTPC_E_RESET },
    { CURLE_FILESIZE_EXCEEDED, S6_HTTPC_E_TOO_LARGE },
};

const char *s6_httpc_err_name(s6_httpc_err e)
{
    return (unsigned)e < S6_HTTPC_E_COUNT ? err_names[e] : "unknown";
}

s6_httpc_limits s6_httpc_limits_default(void)
{
    return (s6_httpc_limits){
        .timeout_ms = 10000,
        .connect_timeout_ms = 3000,
        .max_body = 4u << 20,
        .max_connections = 64,
        .max_host_connections = 0,
    };
}

/* ---- handles and shutdown ---- */

static void maybe_closed(s6_httpc *c)
{
    if (c->closing && c->handles == 0 && !c->notified) {
        c->notified = true;
        if (c->closed_cb != NULL)
            c->closed_cb(c, c->closed_ud);
    }
}

static void on_handle_closed(uv_handle_t *h)
{
    s6_httpc *c = h->data;
    c->handles--;
    maybe_closed(c);
}

static void on_sock_closed(uv_handle_t *h)
{
    sock_ctx *s = (sock_ctx *)h;
    s6_httpc *c = s->c;
    free(s);
    c->handles--;
    maybe_closed(c);
}

static void sock_close(sock_ctx *s)
{
    s6_httpc *c = s->c;
    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        c->socks = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, on_sock_closed);
}

/* ---- calls ---- */

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++)
        free(v[i]);
    free(v);
}

static void call_free(call *k)
{
    free(k->method);
    free(k->url);
    free(k->body);
    strv_free(k->keep, k->n_keep);
    strv_free(k->kept, k->n_keep);
    free(k->out_hdrs);
    curl_slist_free_all(k->hdrs);
    s6_buf_free(&k->rbody);
    free(k);
}

static void on_backoff_closed(uv_handle_t *h)
{
    call *k = h->data;
    s6_httpc *c = k->c;
    call_free(k);
    c->handles--;
    maybe_closed(c);
}

static void call_detach_easy(call *k)
{
    if (k->easy == NULL)
        return;
    curl_multi_remove_handle(k->c->multi, k->easy);
    curl_easy_cleanup(k->easy);
    k->easy = NULL;
}

/* The one place a callback runs: unlinked first, so the id is gone and a
 * cancel from inside the callback finds nothing. */
static void call_finish(call *k, s6_httpc_result *r)
{
    s6_httpc *c = k->c;
    call_detach_easy(k);
    if (k->prev != NULL)
        k->prev->next = k->next;
    else
        c->calls = k->next;
    if (k->next != NULL)
        k->next->prev = k->prev;
    c->n_calls--;
    r->id = k->id;
    r->attempts = k->attempts;
    k->cb(r, k->ud);
    if (k->timer_open)
        uv_close((uv_handle_t *)&k->backoff, on_backoff_closed);
    else
        call_free(k);
}

static void call_fail(call *k, s6_httpc_err err, const char *msg)
{
    s6_httpc_result r = { .err = err, .err_msg = msg, .body = "" };
    call_finish(k, &r);
}

static void reset_response(call *k)
{
    s6_buf_reset(&k->rbody);
    k->too_large = false;
    k->errbuf[0] = '\0';
    for (size_t i = 0; i < k->n_keep; i++) {
        free(k->kept[i]);
        k->kept[i] = NULL;
    }
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    call *k = ud;
    size_t len = size * n;
    if (k->rbody.len + len > k->max_body) {
        k->too_large = true;
        return 0; /* curl ends the transfer with CURLE_WRITE_ERROR */
    }
    return s6_buf_append(&k->rbody, p, len) == 0 ? len : 0;
}

static char *trimmed_dup(const char *p, size_t len)
{
    while (len > 0 && isspace((unsigned char)*p))
        p++, len--;
    while (len > 0 && isspace((unsigned char)p[len - 1]))
        len--;
    return strndup(p, len);
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    call *k = ud;
    size_t len = size * n;
    /* A status line starts a new response (after a 100 Continue). */
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        reset_response(k);
        return len;
    }
    const char *colon = memchr(p, ':', len);
    if (colon == NULL)
        return len;
    size_t nlen = (size_t)(colon - p);
    for (size_t i = 0; i < k->n_keep; i++) {
        if (strlen(k->keep[i]) != nlen || strncasecmp(k->keep[i], p, nlen))
            continue;
        free(k->kept[i]);
        k->kept[i] = trimmed_dup(colon + 1, len - nlen - 1);
        if (k->kept[i] == NULL)
            return 0;
    }
    return len;
}

static int call_send(call *k);

static void on_backoff(uv_timer_t *t)
{
    call *k = t->data;
    if (call_send(k) < 0)
        call_fail(k, S6_HTTPC_E_OTHER, "could not start the retry");
}

static s6_httpc_err map_curl(CURLcode rc, bool too_large)
{
    if (rc == CURLE_OK)
        return S6_HTTPC_OK;
    if (rc == CURLE_WRITE_ERROR && too_large)
        return S6_HTTPC_E_TOO_LARGE;
    for (size_t i = 0; i < sizeof curl_errs / sizeof curl_errs[0]; i++)
        if (curl_errs[i].code == rc)
            return curl_errs[i].err;
    return S6_HTTPC_E_OTHER;
}

static size_t collect_headers(call *k)
{
    size_t n = 0;
    for (size_t i = 0; i < k->n_keep; i++)
        if (k->kept[i] != NULL)
            k->out_hdrs[n++] =
                (s6_httpc_header){ .name = k->keep[i], .value = k->kept[i] };
    return n;
}

/* One send finished: hand the result over, or back off and send again. */
static void call_done(call *k, CURLcode rc)
{
    s6_httpc *c = k->c;
    long status = 0, connects = 0;
    curl_easy_getinfo(k->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(k->easy, CURLINFO_NUM_CONNECTS, &connects);
    call_detach_easy(k);
    s6_httpc_err err = map_curl(rc, k->too_large);
    if (s6_buf_append(&k->rbody, "", 1) < 0)
        err = S6_HTTPC_E_OTHER;
    else
        k->rbody.len--;
    s6_httpc_result r = {
        .err = err,
        .err_msg = err == S6_HTTPC_OK ? ""
                   : k->errbuf[0]     ? k->errbuf
                                      : curl_easy_strerror(rc),
        .status = err == S6_HTTPC_OK ? (int)status : 0,
        .body = err == S6_HTTPC_OK && k->rbody.data ? k->rbody.data : "",
        .body_len = err == S6_HTTPC_OK ? k->rbody.len : 0,
        .headers = k->out_hdrs,
        .n_headers = err == S6_HTTPC_OK ? collect_headers(k) : 0,
        .attempts = k->attempts,
        .reused = err == S6_HTTPC_OK && connects == 0,
        .id = k->id,
    };
    s6_httpc_retry_pred pred =
        k->retry.pred ? k->retry.pred : s6_httpc_retryable;
    if (k->has_retry && !c->closing && k->attempts < k->retry.max_attempts &&
        pred(&r, k->retry.pred_ud)) {
        unsigned ms = s6_httpc_backoff_ms(&k->retry, k->attempts, &k->rng);
        s6_log_info(c->log, "httpc", "retrying", S6_LOG_STR("url", k->url),
                    S6_LOG_STR("error", s6_httpc_err_name(err)),
                    S6_LOG_INT("status", r.status),
                    S6_LOG_INT("attempt", k->attempts),
                    S6_LOG_INT("backoff_ms", ms));
        uv_timer_start(&k->backoff, on_backoff, ms, 0);
        return;
    }
    call_finish(k, &r);
}

static int easy_setup(call *k)
{
    CURL *e = k->easy;
    int bad = 0;
    bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, k);
    bad |= curl_easy_setopt(e, CURLOPT_URL, k->url);
    bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, k->hdrs);
    bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)k->timeout_ms);
    bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                            (long)k->connect_timeout_ms);
    bad |= curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
                            (curl_off_t)k->max_body);
    bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, k);
    bad |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    bad |= curl_easy_setopt(e, CURLOPT_HEADERDATA, k);
    bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, k->errbuf);
    if (k->body != NULL) {
        bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                                (curl_off_t)k->body_len);
        bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, k->body);
    }
    if (strcmp(k->method, "HEAD") == 0)
        bad |= curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    else if (strcmp(k->method, k->body ? "POST" : "GET") != 0)
        bad |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, k->method);
    return bad ? -EINVAL : 0;
}

static int call_send(call *k)
{
    reset_response(k);
    k->easy = curl_easy_init();
    if (k->easy == NULL)
        return -ENOMEM;
    if (easy_setup(k) < 0 || curl_multi_add_handle(k->c->multi, k->easy)) {
        curl_easy_cleanup(k->easy);
        k->easy = NULL;
        return -EINVAL;
    }
    k->attempts++;
    return 0;
}

/* ---- curl <-> libuv ---- */

static void drain_done(s6_httpc *c)
{
    CURLMsg *m;
    int left;
    while (c->multi != NULL && (m = curl_multi_info_read(c->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        call *k = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&k);
        call_done(k, m->data.result);
    }
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    sock_ctx *s = (sock_ctx *)h;
    s6_httpc *c = s->c;
    int flags = 0, running;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(c->multi, s->fd, flags, &running);
    drain_done(c);
}

static int on_curl_socket(CURL *e, curl_socket_t fd, int what, void *ud,
                          void *sockp)
{
    (void)e;
    s6_httpc *c = ud;
    sock_ctx *s = sockp;
    if (what == CURL_POLL_REMOVE) {
        if (s != NULL) {
            curl_multi_assign(c->multi, fd, NULL);
            sock_close(s);
        }
        return 0;
    }
    if (s == NULL) {
        s = calloc(1, sizeof *s);
        if (s == NULL || uv_poll_init_socket(c->loop, &s->poll, fd) < 0) {
            free(s);
            s6_log_error(c->log, "httpc", "cannot poll a socket",
                         S6_LOG_INT("fd", fd));
            return -1;
        }
        s->fd = fd;
        s->c = c;
        s->poll.data = s;
        s->next = c->socks;
        if (c->socks != NULL)
            c->socks->prev = s;
        c->socks = s;
        c->handles++;
        curl_multi_assign(c->multi, fd, s);
    }
    int ev = (what & CURL_POLL_IN ? UV_READABLE : 0) |
             (what & CURL_POLL_OUT ? UV_WRITABLE : 0);
    uv_poll_start(&s->poll, ev, on_poll);
    return 0;
}

static void on_timer(uv_timer_t *t)
{
    s6_httpc *c = t->data;
    int running;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    drain_done(c);
}

/* curl asks for one timeout at a time; 0 means "as soon as possible",
 * which a 0 ms uv timer gives without calling back into curl from here. */
static int on_curl_timer(CURLM *m, long ms, void *ud)
{
    (void)m;
    s6_httpc *c = ud;
    if (ms < 0)
        uv_timer_stop(&c->timer);
    else
        uv_timer_start(&c->timer, on_timer, (uint64_t)ms, 0);
    return 0;
}

/* ---- life cycle ---- */

int s6_httpc_new(s6_httpc **out, uv_loop_t *loop,
                 const s6_httpc_limits *limits, s6_log *log)
{
    s6_httpc_limits lim = limits ? *limits : s6_httpc_limits_default();
    /* A zero here would fail every request; refuse it where it is made. */
    if (out == NULL || loop == NULL || lim.timeout_ms == 0 ||
        lim.connect_timeout_ms == 0 || lim.max_body == 0)
        return -EINVAL;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -ENOMEM;
    s6_httpc *c = calloc(1, sizeof *c);
    if (c == NULL || (c->multi = curl_multi_init()) == NULL) {
        free(c);
        curl_global_cleanup();
        return -ENOMEM;
    }
    c->loop = loop;
    c->log = log;
    c->lim = lim;
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS,
                      (long)c->lim.max_connections);
    curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                      (long)c->lim.max_host_connections);
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    c->handles = 1;
    *out = c;
    return 0;
}

static bool has_header(const s6_httpc_opts *o, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < o->n_headers; i++)
        if (strncasecmp(o->headers[i], name, n) == 0 && o->headers[i][n] == ':')
            return true;
    return false;
}

static struct curl_slist *slist_add(struct curl_slist *l, const char *s,
                                    bool *ok)
{
    struct curl_slist *n = *ok ? curl_slist_append(l, s) : NULL;
    if (n == NULL)
        *ok = false;
    return n ? n : l;
}

/* Copies everything the request needs across retries. */
static int call_fill(call *k, const s6_httpc_opts *o, const s6_httpc_limits *lim)
{
    bool ok = true;
    for (size_t i = 0; i < o->n_headers; i++)
        k->hdrs = slist_add(k->hdrs, o->headers[i], &ok);
    if (o->body != NULL && !has_header(o, "Content-Type"))
        k->hdrs = slist_add(k->hdrs, "Content-Type: application/json", &ok);
    /* No 100-continue round trip: the peers are ours and answer at once. */
    k->hdrs = slist_add(k->hdrs, "Expect:", &ok);
    k->method = strdup(o->method);
    k->url = strdup(o->url);
    if (o->body != NULL && (k->body = malloc(o->body_len + 1)) != NULL) {
        memcpy(k->body, o->body, o->body_len);
        k->body[o->body_len] = '\0';
        k->body_len = o->body_len;
    }
    k->n_keep = o->n_keep_headers;
    k->keep = calloc(k->n_keep + 1, sizeof *k->keep);
    k->kept = calloc(k->n_keep + 1, sizeof *k->kept);
    k->out_hdrs = calloc(k->n_keep + 1, sizeof *k->out_hdrs);
    for (size_t i = 0; k->keep != NULL && i < k->n_keep; i++)
        ok = ok && (k->keep[i] = strdup(o->keep_headers[i])) != NULL;
    k->timeout_ms = o->timeout_ms ? o->timeout_ms : lim->timeout_ms;
    k->connect_timeout_ms =
        o->connect_timeout_ms ? o->connect_timeout_ms : lim->connect_timeout_ms;
    k->max_body = o->max_body ? o->max_body : lim->max_body;
    if (!ok || !k->method || !k->url || (o->body && !k->body) || !k->keep ||
        !k->kept || !k->out_hdrs)
        return -ENOMEM;
    return 0;
}

int s6_httpc_request(s6_httpc *c, const s6_httpc_opts *o, s6_httpc_cb cb,
                     void *ud, uint64_t *id_out)
{
    if (c == NULL || o == NULL || cb == NULL)
        return -EINVAL;
    if (c->closing)
        return -ESHUTDOWN;
    const char *bad = s6__httpc_opts_check(o);
    if (bad != NULL) {
        s6_log_warn(c->log, "httpc", "request refused: invalid option",
                    S6_LOG_STR("field", bad));
        return -EINVAL;
    }
    call *k = calloc(1, sizeof *k);
    if (k == NULL)
        return -ENOMEM;
    k->c = c;
    k->cb = cb;
    k->ud = ud;
    int rc = call_fill(k, o, &c->lim);
    if (rc == 0 && o->retry != NULL) {
        k->has_retry = true;
        k->retry = *o->retry;
        k->rng = o->retry->seed;
    }
    if (rc == 0)
        rc = call_send(k);
    if (rc < 0) {
        call_free(k);
        return rc;
    }
    if (k->has_retry) {
        uv_timer_init(c->loop, &k->backoff);
        k->backoff.data = k;
        k->timer_open = true;
        c->handles++;
    }
    k->id = ++c->next_id;
    k->next = c->calls;
    if (c->calls != NULL)
        c->calls->prev = k;
    c->calls = k;
    c->n_calls++;
    if (id_out != NULL)
        *id_out = k->id;
    return 0;
}

int s6_httpc_cancel(s6_httpc *c, uint64_t id)
{
    if (c == NULL)
        return -EINVAL;
    for (call *k = c->calls; k != NULL; k = k->next) {
        if (k->id != id)
            continue;
        if (k->timer_open)
            uv_timer_stop(&k->backoff);
        call_fail(k, S6_HTTPC_E_CANCELLED, "cancelled");
        return 0;
    }
    return -ENOENT;
}

size_t s6_httpc_pending(const s6_httpc *c)
{
    return c ? c->n_calls : 0;
}

void s6_httpc_shutdown(s6_httpc *c, s6_httpc_closed_cb cb, void *ud)
{
    if (c == NULL || c->closing)
        return;
    c->closing = true;
    c->closed_cb = cb;
    c->closed_ud = ud;
    while (c->calls != NULL) {
        call *k = c->calls;
        if (k->timer_open)
            uv_timer_stop(&k->backoff);
        call_fail(k, S6_HTTPC_E_SHUTDOWN, "client shutting down");
    }
    /* Our polls go first, so curl closing its sockets finds none to stop. */
    while (c->socks != NULL) {
        curl_multi_assign(c->multi, c->socks->fd, NULL);
        sock_close(c->socks);
    }
    curl_multi_cleanup(c->multi);
    c->multi = NULL;
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

void s6_httpc_free(s6_httpc *c)
{
    if (c == NULL)
        return;
    free(c);
    curl_global_cleanup();
}
