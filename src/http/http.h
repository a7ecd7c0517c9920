/*
 * http.h — the service's HTTP/1.1 server (libuv + http-parser).
 *
 * One server per loop.  Requests are routed by method and path to
 * handlers; every response is answered in request order on its connection
 * (pipelining), always with Content-Length.  docs/http.md describes the
 * limits, timeouts and shutdown.
 *
 * A handler receives the request and a response handle.  It completes the
 * handle exactly once with s6_http_res_send*() or s6_http_res_error(),
 * either before returning or later from any loop callback (an outbound call,
 * a timer).  Until then the request stays valid (s6_http_res_req()), and
 * later responses on the same connection wait behind it.  After the
 * completing call the handle is gone.  If the client disconnects first,
 * s6_http_res_aborted() turns true; the handler still completes the handle,
 * which then just frees it.
 *
 * Errors are negative errno values (the same numbers as libuv's UV_E*).
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "util/json_out.h"
#include "util/log.h"

typedef struct s6_http_server s6_http_server;
typedef struct s6_http_res s6_http_res;

typedef struct s6_http_header {
    const char *name;  /* as the client spelt it */
    const char *value; /* surrounding blanks removed by the parser */
} s6_http_header;

typedef struct s6_http_param {
    const char *name;  /* from the route pattern: "id" in /positions/{id} */
    const char *value; /* the path segment, raw (not percent-decoded) */
} s6_http_param;

typedef struct s6_http_req {
    const char *method;      /* "GET", "POST", ... */
    const char *path;        /* "/positions/42", without the query */
    const char *query;       /* after '?', "" when there is none */
    const s6_http_header *headers;
    size_t n_headers;
    const s6_http_param *params;
    size_t n_params;
    const char *body;        /* NUL-terminated; body_len excludes the NUL */
    size_t body_len;
    const char *request_id;  /* the client's X-Request-Id when sane, else ours */
} s6_http_req;

typedef void (*s6_http_handler)(s6_http_res *res, const s6_http_req *req,
                                void *ud);
typedef void (*s6_http_closed_cb)(s6_http_server *srv, void *ud);

typedef struct s6_http_limits {
    size_t max_body;             /* bytes; larger -> 413 and close */
    size_t max_header_bytes;     /* request line + headers; larger -> 431 */
    unsigned max_headers;        /* header lines; more -> 431 */
    unsigned max_pipeline;       /* requests queued per connection before
                                    the server stops reading from it */
    unsigned max_connections;    /* more are accepted and closed at once */
    unsigned header_timeout_ms;  /* connect or first byte -> end of headers */
    unsigned idle_timeout_ms;    /* keep-alive wait, and body inactivity */
    unsigned linger_ms;          /* reading after our FIN before closing */
    unsigned drain_timeout_ms;   /* shutdown: in-flight work gets this long */
} s6_http_limits;

s6_http_limits s6_http_limits_default(void);

/* `limits` NULL means the defaults; `log` may be NULL. */
int s6_http_server_new(s6_http_server **out, uv_loop_t *loop,
                       const s6_http_limits *limits, s6_log *log);

/* Pattern: an exact path ("/health"), or segments of the form {name} that
 * each match one non-empty path segment ("/positions/{id}").  An exact
 * route wins over a pattern; among patterns, fewer parameters win.  A path
 * that matches only under other methods answers 405 with Allow. */
int s6_http_route(s6_http_server *srv, const char *method,
                  const char *pattern, s6_http_handler fn, void *ud);

/* host "0.0.0.0", "127.0.0.1", "::" ...; port 0 picks a free port. */
int s6_http_listen(s6_http_server *srv, const char *host, int port);
int s6_http_port(const s6_http_server *srv); /* the bound port, or 0 */

/* Stops accepting, answers what has been received, closes connections,
 * then calls cb from the loop.  Work still running after drain_timeout_ms
 * is cut off; a second call cuts it off at once. */
void s6_http_shutdown(s6_http_server *srv, s6_http_closed_cb cb, void *ud);
/* Only after the shutdown callback, or before s6_http_listen. */
void s6_http_server_free(s6_http_server *srv);

/* ---- completion: one call per finished exchange (logs, metrics) ---- */

enum { S6_HTTP_MAX_NOTES = 4 };

/* An id a handler attached to its exchange (s6_http_res_note). */
typedef struct s6_http_note {
    const char *key;   /* "pos_id", "plan_id", ... */
    const char *value;
} s6_http_note;

typedef enum s6_http_outcome {
    S6_HTTP_SENT = 0,     /* the response was written to the socket */
    S6_HTTP_WRITE_FAILED, /* the write failed (the client reset, say) */
    S6_HTTP_CLIENT_GONE   /* the connection closed before it could be sent */
} s6_http_outcome;

typedef struct s6_http_done {
    const s6_http_req *req;   /* method, path, request_id, headers... */
    const char *route;        /* the matched pattern ("/positions/{id}"), or
                                 NULL: no route (404, 405) or refused
                                 before routing (400, 413, 431) */
    int status;               /* the status of the response */
    double seconds;           /* first byte of the request -> end of the
                                 write (or the moment it was given up) */
    int outcome;              /* s6_http_outcome */
    const s6_http_note *notes;
    size_t n_notes;
} s6_http_done;

typedef void (*s6_http_done_cb)(void *ud, const s6_http_done *d);

/* Called on the loop thread once for every response a handler (or the
 * server itself, for a refusal) completed, after the server's access log
 * line; never for a request cut off before it was complete.  One hook per
 * server; NULL removes it. */
void s6_http_on_done(s6_http_server *srv, s6_http_done_cb fn, void *ud);

/* Attaches an id to the exchange: it goes into the access log line and
 * the completion hook.  The value is copied (at most 63 bytes, longer is
 * cut).  A key set twice keeps its last value.  -ENOSPC beyond
 * S6_HTTP_MAX_NOTES keys, -EINVAL for NULL, an empty key or one over 15
 * bytes, -EALREADY once the response is complete. */
int s6_http_res_note(s6_http_res *res, const char *key, const char *value);

/* Request accessors: header names compare case-insensitively. */
const char *s6_http_req_header(const s6_http_req *req, const char *name);
const char *s6_http_req_param(const s6_http_req *req, const char *name);

const s6_http_req *s6_http_res_req(const s6_http_res *res);
bool s6_http_res_aborted(const s6_http_res *res);
/* An extra response header (no CR or LF allowed); before completing. */
int s6_http_res_header(s6_http_res *res, const char *name, const char *value);
/* Completing calls.  content_type may be NULL (no body expected). */
int s6_http_res_send(s6_http_res *res, int status, const char *content_type,
                     const char *body, size_t len);
/* Takes the reference to doc (NULL answers 500). */
int s6_http_res_send_json(s6_http_res *res, int status, json_t *doc);
/* A JSON body written straight into the response (fixed-shape answers,
 * no tree): begin points w at the body, end completes with what w wrote
 * as application/json, or with 500 "internal" when the writer failed. */
void s6_http_res_json_begin(s6_http_res *res, s6_jw *w);
int s6_http_res_json_end(s6_http_res *res, int status, const s6_jw *w);
/* {"error":{"code":code,"message":message,"field":field-or-null}} */
int s6_http_res_error(s6_http_res *res, int status, const char *code,
                      const char *message, const char *field);
