/* Private to src/http: the server, its connections and exchanges. */
#pragma once

#include <http_parser.h>
#include <stdint.h>
#include <uv.h>

#include "http/http.h"
#include "util/buf.h"

enum { S6__HTTP_MAX_PARAMS = 8, S6__HTTP_METHOD_MAX = 16 };

typedef struct s6__route {
    char method[S6__HTTP_METHOD_MAX];
    char *pattern;
    char *names[S6__HTTP_MAX_PARAMS];
    unsigned n_params;
    s6_http_handler fn;
    void *ud;
} s6__route;

/* Where one pattern matched a path: value spans inside the path. */
typedef struct s6__route_match {
    const s6__route *route;
    struct {
        const char *at;
        size_t len;
    } values[S6__HTTP_MAX_PARAMS];
} s6__route_match;

typedef enum s6__conn_state {
    S6__CONN_OPEN,     /* reading and parsing requests */
    S6__CONN_DRAINING, /* no new requests; answering the queued ones */
    S6__CONN_LINGER,   /* our FIN sent; discarding input until EOF */
    S6__CONN_CLOSED    /* uv_close called; memory lives until the callbacks */
} s6__conn_state;

typedef struct s6__conn s6__conn;

/* Where a header's name and value sit in the exchange's `head` buffer. */
typedef struct s6__hdr_at {
    size_t name, value;
} s6__hdr_at;

/* One request and its response: the s6_http_res handed to handlers. */
struct s6_http_res {
    s6_http_server *srv;
    s6__conn *conn; /* NULL once the connection is gone */
    s6_http_res *next;
    s6_http_req req;
    s6_buf head;  /* URL, header names and values, path, query, params */
    s6_buf hat;   /* s6__hdr_at per header while parsing */
    s6_buf body;
    s6_http_header *headers;
    size_t headers_cap;   /* kept with the exchange in the server's pool */
    s6_http_param params[S6__HTTP_MAX_PARAMS];
    /* The matched route, copied: a route added while the request is in
     * flight may move the server's table (its strings stay put). */
    const s6__route *route;
    s6__route route_copy;
    int piece;     /* the parser's last callback: url, field or value */
    bool headers_done;
    bool keep_alive;
    bool http10;   /* HTTP/1.0 keep-alive must be confirmed in the reply */
    bool done;     /* the response is complete and may be written */
    uint64_t started_ms;
    uint64_t started_ns;  /* uv_hrtime(), for the completion's duration */
    char request_id[65];
    /* ids the handler attached (s6_http_res_note) */
    char note_keys[S6_HTTP_MAX_NOTES][16];
    char note_values[S6_HTTP_MAX_NOTES][64];
    unsigned n_notes;
    int outcome;   /* s6_http_outcome, once the write ended or was dropped */
    /* response */
    int status;
    s6_buf rhead;  /* header lines: the handler's extras, then Content-Type */
    s6_buf rbody;
    s6_buf wire;   /* the serialised head, alive until the write ends */
    uv_write_t wreq;
};

struct s6__conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_shutdown_t sreq;
    http_parser parser;
    s6_http_server *srv;
    s6__conn *prev, *next;
    s6_http_res *cur;          /* the request being parsed */
    s6_http_res *head, *tail;  /* answered in this order */
    unsigned queued;
    unsigned writes;           /* uv_write requests in flight */
    s6_buf stash;              /* read but not yet parsed (paused) */
    s6__conn_state state;
    int handles;               /* open uv handles; freed when 0 */
    bool in_parse;
    bool paused;
    bool reading;
    bool peer_eof;
};

struct s6_http_server {
    uv_loop_t *loop;
    s6_log *log;
    s6_http_limits lim;
    uv_tcp_t listener;
    uv_timer_t drain;
    bool listener_open, drain_open, drain_closing;
    int handles;               /* listener + drain timer */
    s6__route *routes;
    size_t n_routes;
    s6__conn *conns;
    unsigned n_conns;
    bool shutting_down, notified;
    s6_http_closed_cb closed_cb;
    void *closed_ud;
    s6_http_done_cb done_cb;
    void *done_ud;
    int port;
    uint64_t next_id;
    s6_http_res *spare;        /* finished exchanges kept for reuse */
    unsigned n_spare;
    char id_prefix[9];
    time_t date_at;
    char date[40];             /* IMF-fixdate of date_at */
    char rbuf[64 * 1024];      /* reads are parsed before the next one */
};

/* route.c */
void s6__routes_free(s6_http_server *srv);
/* 0 with m->route set; else 404 or 405 (and the Allow list in `allow`). */
int s6__route_find(const s6_http_server *srv, const char *method,
                   const char *path, s6__route_match *m, s6_buf *allow);

/* conn.c */
void s6__conn_accept(s6_http_server *srv);
void s6__conn_drain(s6__conn *c);
void s6__conn_close(s6__conn *c);
void s6__conn_flush(s6__conn *c);

/* exchange.c */
s6_http_res *s6__res_new(s6_http_server *srv, s6__conn *c);
/* Back to the server's pool (or freed when the pool is full). */
void s6__res_free(s6_http_res *res);
void s6__res_pool_free(s6_http_server *srv);
/* Serialises res into res->wire; the body goes out from res->rbody. */
int s6__res_serialise(s6_http_res *res, bool close);
/* Access log line and completion hook (a completed response only),
 * then the memory. */
void s6__res_finish(s6_http_res *res, int outcome);

/* server.c */
void s6__server_conn_gone(s6_http_server *srv);
const char *s6__server_date(s6_http_server *srv);
