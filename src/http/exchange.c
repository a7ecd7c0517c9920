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

s6_http_res *s6__res_new(s6_http_server *srv, s6__conn *c)
{
    s6_http_res *res = calloc(1, sizeof *res);
    if (res == NULL)
        return NULL;
    res->srv = srv;
    res->conn = c;
    res->started_ms = uv_now(srv->loop);
    res->started_ns = uv_hrtime();
    snprintf(res->request_id, sizeof res->request_id, "%s-%llu",
             srv->id_prefix, (unsigned long long)++srv->next_id);
    res->req.request_id = res->request_id;
    /* A request refused before its method was parsed still logs one. */
    res->req.method = res->req.path = res->req.query = res->req.body = "";
    res->wreq.data = res;
    return res;
}

void s6__res_free(s6_http_res *res)
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
    return s6_buf_printf(&res->rhead, "%s: %s\r\n", name, value);
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
        rc = s6_buf_printf(&res->rhead, "Content-Type: %s\r\n", content_type);
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

int s6_http_res_send_json(s6_http_res *res, int status, json_t *doc)
{
    /* jansson's default 17 digits: every double reads back bit for bit
     * (0.8 shows as 0.80000000000000004, the price of exactness). */
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    int rc = text ? s6_http_res_send(res, status, "application/json", text,
                                     strlen(text))
                  : s6_http_res_send(res, 500, "application/json",
                                     internal_error_body,
                                     sizeof internal_error_body - 1);
    free(text);
    return rc;
}

int s6_http_res_error(s6_http_res *res, int status, const char *code,
                      const char *message, const char *field)
{
    json_t *doc = json_pack("{s:{s:s,s:s,s:s?}}", "error", "code", code,
                            "message", message, "field", field);
    return s6_http_res_send_json(res, status, doc);
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
    int rc = s6_buf_printf(w, "HTTP/1.1 %d %s\r\nDate: %s\r\n", res->status,
                           reason(res->status), s6__server_date(res->srv));
    if (rc == 0 && res->rhead.len)
        rc = s6_buf_append(w, res->rhead.data, res->rhead.len);
    if (rc == 0 && has_length(res->status))
        rc = s6_buf_printf(w, "Content-Length: %zu\r\n", res->rbody.len);
    if (rc == 0)
        rc = s6_buf_printf(w, "X-Request-Id: %s\r\n%s\r\n", res->request_id,
                           close        ? "Connection: close\r\n"
                           : res->http10 ? "Connection: keep-alive\r\n"
                                         : "");
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
    snprintf(res->note_keys[i], sizeof res->note_keys[i], "%s", key);
    snprintf(res->note_values[i], sizeof res->note_values[i], "%s", value);
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
