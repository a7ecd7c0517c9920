/* Exchanges: the request view handlers see, and completing, serialising
 * and logging their responses. */
#include "http/internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* What goes out when even the error body cannot be built. */
static const char internal_error_body[] =
    "{\"error\":{\"code\":\"internal\",\"message\":\"response could not be "
    "encoded\",\"field\":null}}";

/* v's decimal digits, ending at end; returns where they start. */
static char *digits(char *end, unsigned long long v)
{
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    return end;
}

/* Appends v in decimal: the head's numbers, without printf's parse of a
 * format on every request. */
static int put_uint(s6_buf *b, unsigned long long v)
{
    char t[24];
    char *p = digits(t + sizeof t, v);
    return s6_buf_append(b, p, (size_t)(t + sizeof t - p));
}

/* "<prefix>-<n>": 8 hex digits, '-', at most 20 digits. */
static void request_id(char out[65], const char *prefix, unsigned long long n)
{
    char t[24];
    char *e = t + sizeof t, *p = digits(e, n);
    size_t lp = strnlen(prefix, 8);
    memcpy(out, prefix, lp);
    out[lp] = '-';
    memcpy(out + lp + 1, p, (size_t)(e - p));
    out[lp + 1 + (size_t)(e - p)] = '\0';
}

/* "name: value\r\n" */
static int put_header(s6_buf *b, const char *name, const char *value)
{
    int rc = s6_buf_puts(b, name);
    if (rc == 0)
        rc = s6_buf_append(b, ": ", 2);
    if (rc == 0)
        rc = s6_buf_puts(b, value);
    return rc == 0 ? s6_buf_append(b, "\r\n", 2) : rc;
}

/* A C string into out[size], cut to fit. */
static void copy_cut(char *out, size_t size, const char *s)
{
    size_t n = strnlen(s, size - 1);
    memcpy(out, s, n);
    out[n] = '\0';
}

/* The buffers an exchange keeps when it goes back to the pool: what they
 * hold is dropped, their memory kept, unless a large request or answer
 * grew them past what a usual one needs. */
enum { SPARE_MAX = 64, SPARE_BUF_MAX = 16 << 10 };

static void keep_buf(s6_buf *b)
{
    if (b->cap > SPARE_BUF_MAX)
        s6_buf_free(b);
    else
        s6_buf_reset(b);
}

/* Exchanges are reused from the server's pool: a request then costs no
 * allocation once its buffers have grown to the usual sizes. */
static s6_http_res *res_take(s6_http_server *srv)
{
    s6_http_res *res = srv->spare;
    if (res == NULL)
        return calloc(1, sizeof *res);
    srv->spare = res->next;
    srv->n_spare--;
    s6_http_res kept = *res;
    *res = (s6_http_res){ .head = kept.head, .hat = kept.hat,
                          .body = kept.body, .rhead = kept.rhead,
                          .rbody = kept.rbody, .wire = kept.wire,
                          .headers = kept.headers,
                          .headers_cap = kept.headers_cap };
    return res;
}

s6_http_res *s6__res_new(s6_http_server *srv, s6__conn *c)
{
    s6_http_res *res = res_take(srv);
    if (res == NULL)
        return NULL;
    res->srv = srv;
    res->conn = c;
    res->started_ms = uv_now(srv->loop);
    res->started_ns = uv_hrtime();
    request_id(res->request_id, srv->id_prefix, ++srv->next_id);
    res->req.request_id = res->request_id;
    /* A request refused before its method was parsed still logs one. */
    res->req.method = res->req.path = res->req.query = res->req.body = "";
    res->wreq.data = res;
    return res;
}

static void res_destroy(s6_http_res *res)
{
    s6_buf_free(&res->head);
    s6_buf_free(&res->hat);
    s6_buf_free(&res->body);
    s6_buf_free(&res->rhead);
    s6_buf_free(&res->rbody);
    s6_buf_free(&res->wire);
    free(res->headers);
    free(res);
}

void s6__res_free(s6_http_res *res)
{
    s6_http_server *srv = res->srv;
    if (srv == NULL || srv->n_spare >= SPARE_MAX) {
        res_destroy(res);
        return;
    }
    s6_buf *bufs[] = { &res->head, &res->hat, &res->body,
                       &res->rhead, &res->rbody, &res->wire };
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        keep_buf(bufs[i]);
    res->next = srv->spare;
    srv->spare = res;
    srv->n_spare++;
}

void s6__res_pool_free(s6_http_server *srv)
{
    while (srv->spare != NULL) {
        s6_http_res *res = srv->spare;
        srv->spare = res->next;
        res_destroy(res);
    }
    srv->n_spare = 0;
}

const char *s6_http_req_header(const s6_http_req *req, const char *name)
{
    for (size_t i = 0; i < req->n_headers; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}

const char *s6_http_req_param(const s6_http_req *req, const char *name)
{
    for (size_t i = 0; i < req->n_params; i++)
        if (strcmp(req->params[i].name, name) == 0)
            return req->params[i].value;
    return NULL;
}

const s6_http_req *s6_http_res_req(const s6_http_res *res)
{
    return &res->req;
}

bool s6_http_res_aborted(const s6_http_res *res)
{
    return res->conn == NULL || res->conn->state == S6__CONN_CLOSED;
}

static bool token_ok(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s; s++)
        if (!isgraph((unsigned char)*s) || strchr("()<>@,;:\\\"/[]?={}", *s))
            return false;
    return true;
}

/* Header values must not split the response: no CR, LF or NUL inside. */
static bool value_ok(const char *s)
{
    return strpbrk(s, "\r\n") == NULL;
}

int s6_http_res_header(s6_http_res *res, const char *name, const char *value)
{
    if (res == NULL || name == NULL || value == NULL)
        return -EINVAL;
    if (res->done)
        return -EALREADY;
    if (!token_ok(name) || !value_ok(value))
        return -EINVAL;
    return put_header(&res->rhead, name, value);
}

static int complete(s6_http_res *res)
{
    res->done = true;
    s6__conn *c = res->conn;
    if (c == NULL)
        s6__res_finish(res, S6_HTTP_CLIENT_GONE);
    else if (c->state != S6__CONN_CLOSED)
        s6__conn_flush(c);
    return 0;
}

int s6_http_res_send(s6_http_res *res, int status, const char *content_type,
                     const char *body, size_t len)
{
    if (res == NULL)
        return -EINVAL;
    if (res->done)
        return -EALREADY;
    int rc = 0;
    if (status < 200 || status > 599 || (body == NULL && len > 0) ||
        (content_type != NULL && !value_ok(content_type)))
        rc = -EINVAL;
    if (rc == 0 && content_type != NULL)
        rc = put_header(&res->rhead, "Content-Type", content_type);
    if (rc == 0)
        rc = s6_buf_append(&res->rbody, body, len);
    /* A handle must always complete, or its connection would hang. */
    if (rc < 0) {
        s6_buf_reset(&res->rhead);
        s6_buf_reset(&res->rbody);
        s6_buf_puts(&res->rhead, "Content-Type: application/json\r\n");
        s6_buf_puts(&res->rbody, internal_error_body);
        status = 500;
    }
    res->status = status;
    complete(res);
    return rc;
}

void s6_http_res_json_begin(s6_http_res *res, s6_jw *w)
{
    /* A complete response's body may be on its way out: a writer on it
     * writes nothing (the end then refuses). */
    if (res == NULL || res->done) {
        s6_jw_init(w, NULL);
        w->err = res == NULL ? -EINVAL : -EALREADY;
        return;
    }
    s6_buf_reset(&res->rbody);
    s6_jw_init(w, &res->rbody);
}

int s6_http_res_json_end(s6_http_res *res, int status, const s6_jw *w)
{
    if (res == NULL)
        return -EINVAL;
    if (res->done)
        return -EALREADY;
    if (s6_jw_finish(w) == 0)
        return s6_http_res_send(res, status, "application/json", NULL, 0);
    s6_buf_reset(&res->rbody);
    return s6_http_res_send(res, 500, "application/json", internal_error_body,
                            sizeof internal_error_body - 1);
}

int s6_http_res_send_json(s6_http_res *res, int status, json_t *doc)
{
    /* jansson's default 17 digits: every double reads back bit for bit
     * (0.8 shows as 0.80000000000000004, the price of exactness). */
    s6_jw w;
    s6_http_res_json_begin(res, &w);
    if (doc == NULL)
        w.err = -EINVAL;
    s6_jw_json(&w, doc);
    json_decref(doc);
    return s6_http_res_json_end(res, status, &w);
}

int s6_http_res_error(s6_http_res *res, int status, const char *code,
                      const char *message, const char *field)
{
    s6_jw w;
    s6_http_res_json_begin(res, &w);
    s6_jw_obj(&w);
    s6_jw_kobj(&w, "error");
    s6_jw_kstr(&w, "code", code);
    s6_jw_kstr(&w, "message", message);
    s6_jw_kstr(&w, "field", field);
    s6_jw_end_obj(&w);
    s6_jw_end_obj(&w);
    return s6_http_res_json_end(res, status, &w);
}

/* 1xx, 204 and 304 responses carry no body and no Content-Length
 * (RFC 9110 §8.6); every other response says how long it is. */
static bool has_length(int status)
{
    return status >= 200 && status != 204 && status != 304;
}

static const char *reason(int status)
{
    const char *s = http_status_str((enum http_status)status);
    return s[0] == '<' ? "" : s; /* "<unknown>" for codes it lacks */
}

int s6__res_serialise(s6_http_res *res, bool close)
{
    s6_buf *w = &res->wire;
    int rc = s6_buf_reserve(w, 160 + res->rhead.len);
    if (rc == 0) { /* then none of the appends below can fail */
        s6_buf_puts(w, "HTTP/1.1 ");
        put_uint(w, (unsigned)res->status);
        s6_buf_puts(w, " ");
        s6_buf_puts(w, reason(res->status));
        s6_buf_puts(w, "\r\n");
        put_header(w, "Date", s6__server_date(res->srv));
        rc = s6_buf_append(w, res->rhead.data, res->rhead.len);
    }
    if (rc == 0 && has_length(res->status)) {
        rc = s6_buf_puts(w, "Content-Length: ");
        if (rc == 0)
            rc = put_uint(w, res->rbody.len);
        if (rc == 0)
            rc = s6_buf_puts(w, "\r\n");
    }
    if (rc == 0)
        rc = put_header(w, "X-Request-Id", res->request_id);
    if (rc == 0)
        rc = s6_buf_puts(w, close        ? "Connection: close\r\n\r\n"
                            : res->http10 ? "Connection: keep-alive\r\n\r\n"
                                          : "\r\n");
    if (!has_length(res->status))
        s6_buf_reset(&res->rbody);
    return rc;
}

int s6_http_res_note(s6_http_res *res, const char *key, const char *value)
{
    if (res == NULL || key == NULL || *key == '\0' || value == NULL ||
        strlen(key) >= sizeof res->note_keys[0])
        return -EINVAL;
    if (res->done)
        return -EALREADY;
    unsigned i = 0;
    while (i < res->n_notes && strcmp(res->note_keys[i], key) != 0)
        i++;
    if (i == S6_HTTP_MAX_NOTES)
        return -ENOSPC;
    copy_cut(res->note_keys[i], sizeof res->note_keys[i], key);
    copy_cut(res->note_values[i], sizeof res->note_values[i], value);
    if (i == res->n_notes)
        res->n_notes++;
    return 0;
}

void s6_http_on_done(s6_http_server *srv, s6_http_done_cb fn, void *ud)
{
    srv->done_cb = fn;
    srv->done_ud = ud;
}

static const char *const outcome_names[] = {
    [S6_HTTP_SENT] = "sent",
    [S6_HTTP_WRITE_FAILED] = "write_failed",
    [S6_HTTP_CLIENT_GONE] = "client_gone",
};

enum { ACCESS_FIXED_FIELDS = 7 };

/* One line per request, at info: the ids a handler noted follow the
 * fixed fields, so a request threads into the position's story. */
static void access_log(const s6_http_res *res, const s6_http_done *d)
{
    s6_log *lg = res->srv->log;
    if (!s6_log_enabled(lg, S6_LOG_INFO))
        return;
    s6_log_field f[ACCESS_FIXED_FIELDS + S6_HTTP_MAX_NOTES] = {
        S6_LOG_STR("method", res->req.method),
        S6_LOG_STR("path", res->req.path),
        S6_LOG_STR("route", d->route),
        S6_LOG_INT("status", d->status),
        S6_LOG_NUM("ms", d->seconds * 1e3),
        S6_LOG_STR("request_id", res->request_id),
        S6_LOG_STR("outcome", outcome_names[d->outcome]),
    };
    for (unsigned i = 0; i < res->n_notes; i++)
        f[ACCESS_FIXED_FIELDS + i] = S6_LOG_STR(d->notes[i].key, d->notes[i].value);
    s6_log_write(lg, S6_LOG_INFO, "http", "request", f,
                 ACCESS_FIXED_FIELDS + res->n_notes);
}

void s6__res_finish(s6_http_res *res, int outcome)
{
    s6_http_server *srv = res->srv;
    s6_http_note notes[S6_HTTP_MAX_NOTES];
    for (unsigned i = 0; i < res->n_notes; i++)
        notes[i] = (s6_http_note){ res->note_keys[i], res->note_values[i] };
    s6_http_done d = {
        .req = &res->req,
        .route = res->route ? res->route->pattern : NULL,
        .status = res->status,
        .seconds = (double)(uv_hrtime() - res->started_ns) / 1e9,
        .outcome = outcome,
        .notes = notes,
        .n_notes = res->n_notes,
    };
    access_log(res, &d);
    if (srv->done_cb != NULL)
        srv->done_cb(srv->done_ud, &d);
    s6__res_free(res);
}
