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
    snprintf(res->request_id, sizeof res->request_id, "%s-%llu",
             srv->id_prefix, (unsigned long long)++srv->next_id);
    res->req.request_id = res->request_id;
    res->req.path = res->req.query = res->req.body = "";
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
        s6__res_free(res);
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

void s6__res_log(const s6_http_res *res, int status)
{
    s6_http_server *srv = res->srv;
    s6_log_debug(srv->log, "http", "request",
                 S6_LOG_STR("method", res->req.method),
                 S6_LOG_STR("path", res->req.path),
                 S6_LOG_INT("status", res->status),
                 S6_LOG_INT("ms", (long long)(uv_now(srv->loop) - res->started_ms)),
                 S6_LOG_STR("request_id", res->request_id),
                 S6_LOG_INT("write_status", status));
}
