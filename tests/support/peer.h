/*
 * peer.h — a scriptable HTTP peer for tests, built on the service's own
 * server (src/http/http.h), standing in for S4, S1, S12 or ArangoDB.
 *
 * It runs on the loop the test gives it (the test's own loop: no thread,
 * so everything it records is visible as soon as the loop returns) and
 * listens on 127.0.0.1 with an ephemeral port.  Each scripted route
 * (method + exact path) answers from a list of steps, one per request, the
 * last step repeating: answer a status and body, after an optional delay,
 * or stall (never answer until the peer shuts down), or drop the
 * connection (FIN, nothing sent), or reset it (RST).  Every request to a
 * scripted route is recorded: method, path, query, headers, body and the
 * loop time it arrived.  Unscripted paths get the server's 404 and are not
 * recorded.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct s6_peer s6_peer;

typedef enum s6_peer_action {
    S6_PEER_ANSWER = 0, /* status + body after delay_ms */
    S6_PEER_STALL,      /* read the request, never answer */
    S6_PEER_DROP,       /* close the connection after delay_ms, no answer */
    S6_PEER_RESET       /* reset the connection after delay_ms */
} s6_peer_action;

typedef struct s6_peer_step {
    s6_peer_action action;
    int status;               /* ANSWER: 200 when 0 */
    const char *body;         /* ANSWER: NULL for none */
    const char *content_type; /* NULL: application/json when body is set */
    unsigned delay_ms;
    const char *header;       /* one extra response header "Name: value" */
} s6_peer_step;

typedef struct s6_peer_rec {
    char *method, *path, *query, *body;
    size_t body_len;
    char **names, **values;   /* request headers, in order */
    size_t n_headers;
    uint64_t at_ms;           /* uv_now() when the request was complete */
} s6_peer_rec;

int s6_peer_new(s6_peer **out, uv_loop_t *loop);
/* Sets (or replaces) the script of a route; steps are copied.  The route
 * is registered on first use; n >= 1. */
int s6_peer_script(s6_peer *p, const char *method, const char *path,
                   const s6_peer_step *steps, size_t n);
int s6_peer_port(const s6_peer *p);
/* "http://127.0.0.1:<port><path>" into buf; returns buf. */
const char *s6_peer_url(const s6_peer *p, const char *path, char *buf,
                        size_t cap);

size_t s6_peer_count(const s6_peer *p); /* requests recorded */
const s6_peer_rec *s6_peer_get(const s6_peer *p, size_t i);
/* A header of record i, case-insensitive name; NULL when absent. */
const char *s6_peer_header(const s6_peer *p, size_t i, const char *name);
/* Requests received but not yet answered (delayed or stalled). */
size_t s6_peer_waiting(const s6_peer *p);
void s6_peer_clear(s6_peer *p); /* forgets the records */

/* Drops stalled exchanges, shuts the server down and frees everything;
 * runs the loop until the server has closed. */
void s6_peer_free(s6_peer *p);
