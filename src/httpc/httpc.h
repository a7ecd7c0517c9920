/*
 * httpc.h — outbound HTTP on the service's libuv loop (libcurl multi).
 *
 * One s6_httpc per loop.  Sockets and timers of the curl multi handle are
 * driven by uv_poll and uv_timer, so no call here ever blocks the loop;
 * connections are kept alive in the multi handle and reused by later
 * requests to the same host.  docs/httpc.md states the contract.
 *
 * Every accepted request gets its callback exactly once, from the loop:
 * with an HTTP status (any status, 4xx and 5xx included, is a response, not
 * a transport error), or with a transport error (timeout, refused, reset,
 * DNS, body too large), or with CANCELLED / SHUTDOWN.  A request that is
 * refused up front (bad options, shutting down) returns a negative errno
 * and its callback never runs.
 *
 * Retries: a request given a retry policy is re-sent, with the very same
 * method, URL, headers and body (so an Idempotency-Key header stays the
 * same), after a capped, jittered exponential backoff, while the policy's
 * predicate says the outcome is worth retrying.  Only idempotent requests
 * (or requests made idempotent by such a key) may be given a policy.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "util/log.h"

typedef struct s6_httpc s6_httpc;

/* How a request ended.  S6_HTTPC_OK means a response arrived: look at
 * status.  Names in s6_httpc_err_name(). */
typedef enum s6_httpc_err {
    S6_HTTPC_OK = 0,
    S6_HTTPC_E_TIMEOUT,   /* total or connect timeout */
    S6_HTTPC_E_REFUSED,   /* the connection could not be made */
    S6_HTTPC_E_RESET,     /* closed or reset before a full response */
    S6_HTTPC_E_DNS,       /* the host name did not resolve */
    S6_HTTPC_E_TOO_LARGE, /* the body passed max_body */
    S6_HTTPC_E_CANCELLED, /* s6_httpc_cancel() */
    S6_HTTPC_E_SHUTDOWN,  /* s6_httpc_shutdown() with the request in flight */
    S6_HTTPC_E_OTHER,     /* anything else curl reports; see err_msg */
    S6_HTTPC_E_COUNT
} s6_httpc_err;

typedef struct s6_httpc_header {
    const char *name;  /* as asked for in keep_headers */
    const char *value; /* surrounding blanks removed */
} s6_httpc_header;

typedef struct s6_httpc_result {
    s6_httpc_err err;
    const char *err_msg;    /* "" when err is OK */
    int status;             /* HTTP status, 0 without a response */
    const char *body;       /* NUL-terminated, "" without one */
    size_t body_len;
    const s6_httpc_header *headers; /* the kept headers that were present */
    size_t n_headers;
    unsigned attempts;      /* sends made, retries included */
    bool reused;            /* the last send went on a kept-alive connection */
    uint64_t id;            /* the request's id */
} s6_httpc_result;

/* The result and everything it points to live only during the call. */
typedef void (*s6_httpc_cb)(const s6_httpc_result *r, void *ud);

/* true: worth another attempt. */
typedef bool (*s6_httpc_retry_pred)(const s6_httpc_result *r, void *ud);

typedef struct s6_httpc_retry {
    unsigned max_attempts; /* sends in total, the first included; >= 1 */
    unsigned base_ms;      /* backoff before the 2nd send (before jitter) */
    unsigned cap_ms;       /* no backoff is longer than this */
    uint64_t seed;         /* jitter's PRNG seed; tests pin it */
    s6_httpc_retry_pred pred; /* NULL: s6_httpc_retryable */
    void *pred_ud;
} s6_httpc_retry;

typedef struct s6_httpc_opts {
    const char *method;     /* "GET", "POST", "PUT", "DELETE", ... */
    const char *url;        /* http:// or https:// only */
    const char *const *headers; /* "Name: value" lines */
    size_t n_headers;
    const char *body;       /* JSON; NULL for none (Content-Type defaults
                               to application/json when a body is given) */
    size_t body_len;
    unsigned timeout_ms;    /* whole exchange, per attempt; 0: default */
    unsigned connect_timeout_ms; /* 0: default */
    size_t max_body;        /* response body limit; 0: default */
    const char *const *keep_headers; /* response header names to return */
    size_t n_keep_headers;
    const s6_httpc_retry *retry; /* NULL: one attempt */
} s6_httpc_opts;

typedef struct s6_httpc_limits {
    unsigned timeout_ms;         /* default total timeout */
    unsigned connect_timeout_ms; /* default connect timeout */
    size_t max_body;             /* default response body limit */
    unsigned max_connections;    /* kept-alive connections in the cache */
    unsigned max_host_connections; /* open at once per host; 0: no limit */
} s6_httpc_limits;

s6_httpc_limits s6_httpc_limits_default(void);

/* limits NULL: the defaults; log may be NULL.  -EINVAL when a timeout or
 * max_body in limits is 0. */
int s6_httpc_new(s6_httpc **out, uv_loop_t *loop,
                 const s6_httpc_limits *limits, s6_log *log);

/* Starts a request; *id_out (may be NULL) names it for s6_httpc_cancel.
 * Everything in opts is copied.  -EINVAL (the log names the field),
 * -ESHUTDOWN, -ENOMEM. */
int s6_httpc_request(s6_httpc *c, const s6_httpc_opts *opts, s6_httpc_cb cb,
                     void *ud, uint64_t *id_out);

/* The request's callback runs with CANCELLED before this returns.
 * -ENOENT when the id is unknown or its callback already ran. */
int s6_httpc_cancel(s6_httpc *c, uint64_t id);

/* Requests in flight (waiting for a retry included). */
size_t s6_httpc_pending(const s6_httpc *c);

typedef void (*s6_httpc_closed_cb)(s6_httpc *c, void *ud);
/* Ends every request in flight with SHUTDOWN (before returning), closes
 * the connections, then calls cb from the loop once every handle is
 * closed.  New requests are refused from the first call. */
void s6_httpc_shutdown(s6_httpc *c, s6_httpc_closed_cb cb, void *ud);
/* Only after the shutdown callback. */
void s6_httpc_free(s6_httpc *c);

/* The default predicate: transport errors (timeout, refused, reset, DNS),
 * 5xx and 429.  Never TOO_LARGE, CANCELLED, SHUTDOWN or another 4xx. */
bool s6_httpc_retryable(const s6_httpc_result *r, void *ud);

/* Backoff before send number `attempt` + 1 (attempt >= 1 sends made):
 * d = min(cap, base * 2^(attempt-1)), then a uniform pick in [d/2, d]
 * from the PRNG state *rng (advanced).  Pure, for tests and callers. */
unsigned s6_httpc_backoff_ms(const s6_httpc_retry *p, unsigned attempt,
                             uint64_t *rng);

const char *s6_httpc_err_name(s6_httpc_err e);
