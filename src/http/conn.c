/*
 * One client connection: reading, parsing with http-parser, queueing
 * exchanges so responses leave in request order, timers and closing.
 *
 * A connection is OPEN while it takes requests, DRAINING once it takes no
 * more (Connection: close, a refused request, the client's EOF, server
 * shutdown) but still owes answers, LINGER after its FIN until the client
 * closes too, then CLOSED.  Lingering matters when we refuse a request
 * early (413): closing with unread input would reset the connection and
 * the client could lose our answer.
 *
 * Longer than 600 lines on purpose: the parser callbacks decide the state
 * changes that the reading and writing halves carry out, through the same
 * static helpers (refuse, enqueue, after_io, stop_reading); split, most of
 * them would become the folder's API.  Exchanges are in exchange.c.
 */
#include "http/internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { PIECE_NONE, PIECE_URL, PIECE_FIELD, PIECE_VALUE };

static const char continue_100[] = "HTTP/1.1 100 Continue\r\n\r\n";

static void feed(s6__conn *c, const char *data, size_t len);
static void after_io(s6__conn *c);

/* ---- timers and closing ---- */

static void on_timeout(uv_timer_t *t)
{
    s6__conn *c = t->data;
    s6_log_debug(c->srv->log, "http", "connection timed out",
                 S6_LOG_INT("state", c->state),
                 S6_LOG_BOOL("mid_request", c->cur != NULL));
    s6__conn_close(c);
}

static void arm(s6__conn *c, unsigned ms)
{
    uv_timer_start(&c->timer, on_timeout, ms, 0);
}

static void disarm(s6__conn *c)
{
    uv_timer_stop(&c->timer);
}

static void detach_exchanges(s6__conn *c)
{
    s6_http_res *res = c->head, *next;
    for (; res != NULL; res = next) {
        next = res->next;
        res->next = NULL;
        if (res->done)
            s6__res_finish(res, S6_HTTP_CLIENT_GONE);
        else
            res->conn = NULL; /* its handler frees it on completion */
    }
    c->head = c->tail = NULL;
    if (c->cur != NULL)
        s6__res_free(c->cur);
    c->cur = NULL;
}

static void on_handle_closed(uv_handle_t *h)
{
    s6__conn *c = h->data;
    if (--c->handles > 0)
        return;
    s6_http_server *srv = c->srv;
    detach_exchanges(c);
    s6_buf_free(&c->stash);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    srv->n_conns--;
    free(c);
    s6__server_conn_gone(srv);
}

/* Memory stays valid until both handles report closed, so callbacks that
 * are still on the stack may look at the (CLOSED) connection. */
void s6__conn_close(s6__conn *c)
{
    if (c->state == S6__CONN_CLOSED)
        return;
    c->state = S6__CONN_CLOSED;
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

/* ---- reading ---- */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)hint;
    s6__conn *c = h->data;
    /* One buffer serves every connection: each read is parsed, or copied
     * into the connection's stash, before the next read starts. */
    *buf = uv_buf_init(c->srv->rbuf, sizeof c->srv->rbuf);
}

static void on_eof(s6__conn *c)
{
    c->peer_eof = true;
    c->reading = false; /* libuv stops reading at EOF */
    if (c->state != S6__CONN_OPEN && c->state != S6__CONN_DRAINING) {
        s6__conn_close(c);
        return;
    }
    /* The client sends nothing more; it may still read what it asked for. */
    c->state = S6__CONN_DRAINING;
    if (c->cur != NULL) {
        s6__res_free(c->cur);
        c->cur = NULL;
    }
    disarm(c);
    after_io(c);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    s6__conn *c = s->data;
    if (n == UV_EOF) {
        on_eof(c);
        return;
    }
    if (n < 0) {
        s6__conn_close(c);
        return;
    }
    if (n == 0 || c->state != S6__CONN_OPEN)
        return; /* draining or lingering: input is discarded */
    if (c->cur != NULL && c->cur->headers_done)
        arm(c, c->srv->lim.idle_timeout_ms); /* body inactivity */
    feed(c, buf->base, (size_t)n);
}

static void start_reading(s6__conn *c)
{
    if (!c->reading && !c->peer_eof &&
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
        c->reading = true;
}

static void stop_reading(s6__conn *c)
{
    if (c->reading)
        uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
}

/* ---- writing ---- */

static void write_done(s6__conn *c, int status)
{
    c->writes--;
    if (status < 0)
        s6__conn_close(c);
    else
        after_io(c);
}

static void on_raw_written(uv_write_t *w, int status)
{
    s6__conn *c = w->data;
    free(w);
    write_done(c, status);
}

/* Writes static bytes outside the response queue (100 Continue). */
static void write_raw(s6__conn *c, const char *s, size_t n)
{
    uv_write_t *w = malloc(sizeof *w);
    uv_buf_t b = uv_buf_init((char *)s, (unsigned)n);
    if (w != NULL) {
        w->data = c;
        if (uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, on_raw_written) == 0) {
            c->writes++;
            return;
        }
    }
    free(w);
    s6__conn_close(c);
}

static void on_written(uv_write_t *w, int status)
{
    s6_http_res *res = w->data;
    s6__conn *c = res->conn;
    s6__res_finish(res, status < 0 ? S6_HTTP_WRITE_FAILED : S6_HTTP_SENT);
    write_done(c, status);
}

/* Drops the first n bytes of bufs; returns how many buffers are left. */
static unsigned skip_written(uv_buf_t *bufs, unsigned nbufs, size_t n)
{
    while (nbufs > 0 && n >= bufs[0].len) {
        n -= bufs[0].len;
        bufs[0] = bufs[1];
        nbufs--;
    }
    if (nbufs > 0) {
        bufs[0].base += n;
        bufs[0].len -= n;
    }
    return nbufs;
}

static void write_res(s6__conn *c, s6_http_res *res, bool close)
{
    if (s6__res_serialise(res, close) == 0) {
        uv_buf_t bufs[2] = {
            uv_buf_init(res->wire.data, (unsigned)res->wire.len),
            uv_buf_init(res->rbody.data, (unsigned)res->rbody.len),
        };
        unsigned nbufs = res->rbody.len > 0 ? 2 : 1;
        /* An answer usually fits the socket's buffer: written at once, it
         * needs no write request, which libuv follows with an epoll_ctl
         * per answer.  Behind a pending write this answers EAGAIN, so the
         * order stays. */
        int n = uv_try_write((uv_stream_t *)&c->tcp, bufs, nbufs);
        if (n >= 0)
            nbufs = skip_written(bufs, nbufs, (size_t)n);
        if (n >= 0 && nbufs == 0) {
            s6__res_finish(res, S6_HTTP_SENT);
            return;
        }
        if ((n >= 0 || n == UV_EAGAIN) &&
            uv_write(&res->wreq, (uv_stream_t *)&c->tcp, bufs, nbufs,
                     on_written) == 0) {
            c->writes++;
            return;
        }
    }
    s6__res_finish(res, S6_HTTP_WRITE_FAILED);
    s6__conn_close(c);
}

/* Writes every finished response at the head of the queue, in order. */
void s6__conn_flush(s6__conn *c)
{
    s6_http_res *res;
    while (c->state != S6__CONN_CLOSED && (res = c->head) && res->done) {
        c->head = res->next;
        if (c->head == NULL)
            c->tail = NULL;
        c->queued--;
        res->next = NULL;
        bool last = c->state != S6__CONN_OPEN && c->head == NULL;
        write_res(c, res, last || !res->keep_alive);
    }
    after_io(c);
}

static void enqueue(s6__conn *c, s6_http_res *res)
{
    if (c->tail != NULL)
        c->tail->next = res;
    else
        c->head = res;
    c->tail = res;
    c->queued++;
}

/* ---- state changes after reads and writes ---- */

static void on_shutdown(uv_shutdown_t *req, int status)
{
    s6__conn *c = req->data;
    if (status < 0 || c->peer_eof)
        s6__conn_close(c);
}

/* Everything owed is written: send our FIN and wait for the client's. */
static void finish(s6__conn *c)
{
    if (c->peer_eof) {
        s6__conn_close(c);
        return;
    }
    c->state = S6__CONN_LINGER;
    if (uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, on_shutdown) < 0) {
        s6__conn_close(c);
        return;
    }
    start_reading(c);
    arm(c, c->srv->lim.linger_ms);
}

static void resume(s6__conn *c)
{
    c->paused = false;
    http_parser_pause(&c->parser, 0);
    s6_buf pending = c->stash;
    c->stash = (s6_buf){ 0 };
    feed(c, pending.data, pending.len);
    s6_buf_free(&pending);
    if (c->state == S6__CONN_OPEN && !c->paused)
        start_reading(c);
}

static void after_io(s6__conn *c)
{
    if (c->in_parse)
        return; /* feed() calls again once the parser has returned */
    if (c->state == S6__CONN_DRAINING && c->head == NULL && c->writes == 0)
        finish(c);
    if (c->state != S6__CONN_OPEN)
        return;
    if (c->paused && c->queued < c->srv->lim.max_pipeline)
        resume(c);
    else if (c->cur == NULL && c->head == NULL && !c->paused)
        arm(c, c->srv->lim.idle_timeout_ms); /* also bounds a stuck write */
}

/* ---- refusing a request ---- */

static const char *const piece_limit_msg = "request head too large";

/* Answers the request being parsed with an error and takes no more
 * requests on this connection.  Returns -1 for parser callbacks to pass on,
 * which stops the parser. */
static int refuse(s6__conn *c, int status, const char *code, const char *msg)
{
    if (c->state != S6__CONN_OPEN)
        return -1;
    s6_http_res *res = c->cur ? c->cur : s6__res_new(c->srv, c);
    c->cur = NULL;
    if (res == NULL) {
        s6__conn_close(c);
        return -1;
    }
    res->keep_alive = false;
    c->state = S6__CONN_DRAINING;
    disarm(c);
    s6_log_info(c->srv->log, "http", "request refused",
                S6_LOG_INT("status", status), S6_LOG_STR("code", code),
                S6_LOG_STR("reason", msg),
                S6_LOG_STR("request_id", res->request_id));
    enqueue(c, res);
    s6_http_res_error(res, status, code, msg, NULL);
    return -1;
}

static int out_of_memory(s6__conn *c)
{
    return refuse(c, 500, "internal", "out of memory");
}

/* ---- parser callbacks ---- */

static s6__conn *parsing(http_parser *p)
{
    s6__conn *c = p->data;
    return c->state == S6__CONN_OPEN && c->cur != NULL ? c : NULL;
}

static int on_begin(http_parser *p)
{
    s6__conn *c = p->data;
    if (c->state != S6__CONN_OPEN)
        return -1;
    c->cur = s6__res_new(c->srv, c);
    if (c->cur == NULL) {
        s6__conn_close(c);
        return -1;
    }
    arm(c, c->srv->lim.header_timeout_ms);
    return 0;
}

static int push_header(s6__conn *c, s6_http_res *res)
{
    s6__hdr_at at = { .name = res->head.len, .value = SIZE_MAX };
    if (res->hat.len / sizeof at >= c->srv->lim.max_headers)
        return refuse(c, 431, "too_many_headers", "too many header lines");
    return s6_buf_append(&res->hat, &at, sizeof at) ? out_of_memory(c) : 0;
}

/* The URL, each header name and each value end with a NUL in `head`; a
 * piece may arrive split over several reads, so it ends only when the
 * parser moves on to another kind of piece. */
static int end_piece(s6__conn *c, s6_http_res *res, int next)
{
    s6__hdr_at *at = res->hat.len
        ? (s6__hdr_at *)(res->hat.data + res->hat.len - sizeof *at) : NULL;
    int prev = res->piece;
    res->piece = next;
    if (prev != PIECE_NONE && s6_buf_append(&res->head, "", 1) < 0)
        return out_of_memory(c);
    if (prev == PIECE_FIELD && next != PIECE_VALUE) { /* empty value */
        at->value = res->head.len;
        if (s6_buf_append(&res->head, "", 1) < 0)
            return out_of_memory(c);
    }
    if (next == PIECE_VALUE)
        at->value = res->head.len;
    return next == PIECE_FIELD ? push_header(c, res) : 0;
}

static int add_piece(http_parser *p, int piece, const char *at, size_t len)
{
    s6__conn *c = parsing(p);
    if (c == NULL)
        return -1;
    s6_http_res *res = c->cur;
    if (res->piece != piece && end_piece(c, res, piece) < 0)
        return -1;
    if (res->head.len + len > c->srv->lim.max_header_bytes)
        return refuse(c, 431, "headers_too_large", piece_limit_msg);
    return s6_buf_append(&res->head, at, len) ? out_of_memory(c) : 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    return add_piece(p, PIECE_URL, at, len);
}

static int on_field(http_parser *p, const char *at, size_t len)
{
    return add_piece(p, PIECE_FIELD, at, len);
}

static int on_value(http_parser *p, const char *at, size_t len)
{
    return add_piece(p, PIECE_VALUE, at, len);
}

static bool request_id_ok(const char *s)
{
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                         "0123456789._:-");
    return n > 0 && n < 65 && s[n] == '\0';
}

/* Appends bytes plus a NUL to `head`; returns their offset.  The caller
 * has reserved room, so a source inside `head` cannot move while copied. */
static size_t copy_span(s6_buf *head, const char *from, size_t len)
{
    size_t at = head->len;
    s6_buf_append(head, from, len);
    s6_buf_append(head, "", 1);
    return at;
}

static size_t copy_field(s6_buf *head, const struct http_parser_url *u,
                         int field, const char *absent)
{
    if (u->field_set & (1 << field))
        return copy_span(head, head->data + u->field_data[field].off,
                         u->field_data[field].len);
    return copy_span(head, absent, strlen(absent));
}

/* Everything after the header block: path and query split out, the route
 * looked up, parameters copied, and the request view pointed into `head`
 * (which must not grow after this). */
static int build_request(s6__conn *c, s6_http_res *res)
{
    s6_buf *h = &res->head;
    size_t url_len = strlen(h->data);
    struct http_parser_url u;
    http_parser_url_init(&u);
    if (http_parser_parse_url(h->data, url_len,
                              c->parser.method == HTTP_CONNECT, &u) != 0)
        return refuse(c, 400, "bad_request", "unparsable request target");
    /* path + query + parameter values, each at most the URL, and NULs */
    if (s6_buf_reserve(h, 3 * url_len + 3 + S6__HTTP_MAX_PARAMS) < 0)
        return out_of_memory(c);
    size_t path = copy_field(h, &u, UF_PATH, "/");
    size_t query = copy_field(h, &u, UF_QUERY, "");

    s6__route_match m;
    s6_buf allow = { 0 };
    res->status = s6__route_find(c->srv, res->req.method, h->data + path, &m,
                                 &allow);
    if (res->status == 405)
        s6_http_res_header(res, "Allow", allow.data);
    s6_buf_free(&allow);
    if (m.route != NULL) {
        res->route_copy = *m.route;
        res->route = &res->route_copy;
    } else {
        res->route = NULL;
    }
    size_t vals[S6__HTTP_MAX_PARAMS];
    unsigned np = m.route ? m.route->n_params : 0;
    for (unsigned i = 0; i < np; i++)
        vals[i] = copy_span(h, m.values[i].at, m.values[i].len);

    size_t nh = res->hat.len / sizeof(s6__hdr_at);
    const s6__hdr_at *at = (const s6__hdr_at *)res->hat.data;
    if (nh > res->headers_cap) {
        s6_http_header *grown = realloc(res->headers, nh * sizeof *grown);
        if (grown == NULL)
            return out_of_memory(c);
        res->headers = grown;
        res->headers_cap = nh;
    }
    for (size_t i = 0; i < nh; i++)
        res->headers[i] = (s6_http_header){ h->data + at[i].name,
                                            h->data + at[i].value };
    for (unsigned i = 0; i < np; i++)
        res->params[i] = (s6_http_param){ m.route->names[i], h->data + vals[i] };
    res->req = (s6_http_req){
        .method = res->req.method, .path = h->data + path,
        .query = h->data + query, .headers = res->headers, .n_headers = nh,
        .params = res->params, .n_params = np, .body = "",
        .request_id = res->request_id,
    };
    const char *rid = s6_http_req_header(&res->req, "X-Request-Id");
    if (rid != NULL && request_id_ok(rid))
        strcpy(res->request_id, rid);
    return 0;
}

static bool body_expected(const http_parser *p)
{
    return (p->flags & F_CHUNKED) ||
           ((p->flags & F_CONTENTLENGTH) && p->content_length > 0);
}

static int on_headers(http_parser *p)
{
    s6__conn *c = parsing(p);
    if (c == NULL)
        return -1;
    s6_http_res *res = c->cur;
    if (end_piece(c, res, PIECE_NONE) < 0)
        return -1;
    /* before any refusal, so its access line names the method */
    res->req.method = http_method_str((enum http_method)p->method);
    if ((p->flags & F_CONTENTLENGTH) && p->content_length > c->srv->lim.max_body)
        return refuse(c, 413, "body_too_large", "request body exceeds the limit");
    res->keep_alive = http_should_keep_alive(p);
    res->http10 = p->http_major == 1 && p->http_minor == 0;
    if (build_request(c, res) < 0)
        return -1;
    res->headers_done = true;
    if (!body_expected(p)) {
        disarm(c);
        return 0;
    }
    arm(c, c->srv->lim.idle_timeout_ms);
    const char *expect = s6_http_req_header(&res->req, "Expect");
    /* Behind unanswered requests the interim reply would jump the queue;
     * the client then sends its body after its own short wait. */
    if (expect && strcasecmp(expect, "100-continue") == 0 && c->head == NULL)
        write_raw(c, continue_100, sizeof continue_100 - 1);
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    s6__conn *c = parsing(p);
    if (c == NULL)
        return -1;
    s6_http_res *res = c->cur;
    if (len > c->srv->lim.max_body - res->body.len)
        return refuse(c, 413, "body_too_large", "request body exceeds the limit");
    return s6_buf_append(&res->body, at, len) ? out_of_memory(c) : 0;
}

static const struct {
    int status;
    const char *code, *message;
} misses[] = {
    { 404, "not_found", "no route for this path" },
    { 405, "method_not_allowed", "method not allowed on this path" },
};

static void dispatch(s6_http_res *res)
{
    if (res->route != NULL) {
        res->route->fn(res, &res->req, res->route->ud);
        return;
    }
    for (size_t i = 0; i < sizeof misses / sizeof *misses; i++)
        if (misses[i].status == res->status)
            s6_http_res_error(res, res->status, misses[i].code,
                              misses[i].message, NULL);
}

static int on_complete(http_parser *p)
{
    s6__conn *c = parsing(p);
    if (c == NULL)
        return -1;
    s6_http_res *res = c->cur;
    c->cur = NULL;
    disarm(c);
    res->req.body = res->body.data ? res->body.data : "";
    res->req.body_len = res->body.len;
    if (p->upgrade) /* no protocol switch here: answer, then close */
        res->keep_alive = false;
    if (!res->keep_alive)
        c->state = S6__CONN_DRAINING;
    enqueue(c, res);
    dispatch(res); /* may complete, and so free, res right away */
    if (c->state == S6__CONN_OPEN && c->queued >= c->srv->lim.max_pipeline) {
        /* Back-pressure: parse no further until answers catch up. */
        http_parser_pause(p, 1);
        c->paused = true;
    }
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_begin,
    .on_url = on_url,
    .on_header_field = on_field,
    .on_header_value = on_value,
    .on_headers_complete = on_headers,
    .on_body = on_body,
    .on_message_complete = on_complete,
};

static void feed(s6__conn *c, const char *data, size_t len)
{
    size_t used = 0;
    if (len > 0) { /* a zero length would tell the parser "EOF" */
        c->in_parse = true;
        used = http_parser_execute(&c->parser, &settings, data, len);
        c->in_parse = false;
    }
    enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
    if (c->state == S6__CONN_OPEN && e == HPE_PAUSED) {
        if (s6_buf_append(&c->stash, data + used, len - used) < 0)
            s6__conn_close(c);
        stop_reading(c);
        return;
    }
    if (c->state == S6__CONN_OPEN && e != HPE_OK)
        refuse(c, 400, "bad_request", http_errno_description(e));
    if (c->state != S6__CONN_OPEN && c->cur != NULL) {
        s6__res_free(c->cur); /* a request cut off by closing */
        c->cur = NULL;
    }
    after_io(c);
}

/* ---- life cycle ---- */

void s6__conn_accept(s6_http_server *srv)
{
    s6__conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        s6_log_error(srv->log, "http", "out of memory accepting a connection");
        return;
    }
    c->srv = srv;
    uv_tcp_init(srv->loop, &c->tcp);
    uv_timer_init(srv->loop, &c->timer);
    c->handles = 2;
    c->tcp.data = c->timer.data = c->sreq.data = c;
    c->next = srv->conns;
    if (srv->conns != NULL)
        srv->conns->prev = c;
    srv->conns = c;
    srv->n_conns++;
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    int rc = uv_accept((uv_stream_t *)&srv->listener, (uv_stream_t *)&c->tcp);
    if (rc == 0 && srv->n_conns > srv->lim.max_connections) {
        s6_log_warn(srv->log, "http", "connection limit reached",
                    S6_LOG_INT("max_connections", srv->lim.max_connections));
        rc = -EBUSY;
    }
    if (rc < 0) {
        s6__conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    start_reading(c);
    arm(c, srv->lim.header_timeout_ms);
}

void s6__conn_drain(s6__conn *c)
{
    if (c->state != S6__CONN_OPEN)
        return;
    c->state = S6__CONN_DRAINING;
    c->paused = false;
    s6_buf_free(&c->stash);
    if (c->cur != NULL && !c->in_parse) {
        s6__res_free(c->cur);
        c->cur = NULL;
    }
    disarm(c);
    after_io(c);
}
