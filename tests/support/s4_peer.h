/*
 * s4_peer.h — an S4 stand-in for tests (docs/contracts/s4.md).
 *
 * It runs its own thread and loop, so it answers while the test's thread
 * runs the service's loop, blocks on a wait, or drives a separate
 * s6-position process.  It listens on 127.0.0.1 with an ephemeral port and
 * speaks S4's contract:
 *
 *   POST /orders   validated like S4 (400 invalid_field naming the field,
 *                  400 idempotency_key_mismatch when the header is not the
 *                  intent_id); deduplicated by intent_id: a repeat answers
 *                  the first order and never makes a second one.  MARKET
 *                  orders answer FILLED, STOP_MARKET orders NEW (resting).
 *   POST /cancel   200 {"status":"CANCELED"} for a resting order it holds,
 *                  404 {"error":{"code":"unknown_order"}} otherwise.
 *   POST /positions/margin
 *                  the exchange's add-isolated-margin: validated, keyed
 *                  and deduplicated like an order; the amount leaves the
 *                  futures wallet (s6_s4_peer_set_fut_free; 400
 *                  insufficient_balance beyond it) for the position's
 *                  margin, which GET /positions shows as "margin".
 *   GET /positions, GET /open-orders
 *                  the bodies the test set; by default no positions and the
 *                  stops the peer holds (NEW, not cancelled or triggered).
 *
 * Rules per path or per intent_id (the intent's rule wins) turn a request
 * into a rejection (4xx), a failure (5xx) or a stall (accepted — the order
 * exists — but never answered, as when an answer is lost), for the next
 * `times` requests or for good.
 *
 * With a Redis URL it publishes, on ord:{results}, what S4 would: ACCEPTED
 * for a stop it took, a FILL for a MARKET order at the price the test set
 * for the symbol, CANCELED for a cancel, a STOP fill for a stop the test
 * triggers.
 *
 * Every POST is recorded (path, body, headers, arrival time).  Waiting is
 * an event, not a sleep: s6_s4_peer_wait blocks on a condition variable,
 * s6_s4_peer_run_until runs the caller's loop until the count is reached
 * (a pipe the peer writes to on each change wakes it).
 *
 * All functions are thread-safe.  Records stay valid until the peer is
 * freed.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct s6_s4_peer s6_s4_peer;

typedef struct s6_s4_peer_opts {
    const char *redis_url; /* NULL: publish nothing */
    const char *stream;    /* NULL: "ord:{results}" */
} s6_s4_peer_opts;

/* opts may be NULL.  The peer is listening when this returns (and, with a
 * Redis URL, connecting: results wait for the connection). */
int s6_s4_peer_start(s6_s4_peer **out, const s6_s4_peer_opts *opts);
/* Stops the thread (stalled exchanges are dropped) and frees everything. */
void s6_s4_peer_free(s6_s4_peer *p);

int s6_s4_peer_port(const s6_s4_peer *p);
/* "http://127.0.0.1:<port>" (no trailing slash) into buf; returns buf. */
const char *s6_s4_peer_url(const s6_s4_peer *p, char *buf, size_t cap);

/* ---- behaviour ---- */

typedef enum s6_s4_peer_mode {
    S6_S4P_ACCEPT = 0,
    S6_S4P_REJECT, /* status (400 when 0), {"error":{"code","message"}} */
    S6_S4P_FAIL,   /* status (503 when 0), nothing done */
    S6_S4P_STALL,  /* an order is taken (and published), never answered */
    S6_S4P_DROP    /* the connection is closed, nothing is done */
} s6_s4_peer_mode;

typedef struct s6_s4_peer_rule {
    s6_s4_peer_mode mode;
    int status;
    const char *code;  /* REJECT: "rejected" when NULL */
    unsigned times;    /* requests it applies to, then gone; 0: for good */
} s6_s4_peer_rule;

/* path "/orders" or "/cancel"; rule NULL removes it. */
int s6_s4_peer_rule_path(s6_s4_peer *p, const char *path,
                         const s6_s4_peer_rule *rule);
int s6_s4_peer_rule_intent(s6_s4_peer *p, const char *intent_id,
                           const s6_s4_peer_rule *rule);

/* The body GET path answers with 200 ("/positions" or "/open-orders");
 * NULL restores the default. */
int s6_s4_peer_serve(s6_s4_peer *p, const char *path, int status,
                     const char *body);

/* Fill price of MARKET orders on symbol (any market); fee_rate * notional
 * is the fee in quote. */
int s6_s4_peer_set_price(s6_s4_peer *p, const char *symbol, double price);
void s6_s4_peer_set_fee_rate(s6_s4_peer *p, double fee_rate);

/* The stop the peer holds for intent_id triggers at price: it leaves the
 * open orders and a STOP fill is published.  -ENOENT when not resting. */
int s6_s4_peer_trigger_stop(s6_s4_peer *p, const char *intent_id,
                            double price);

/* ---- what it saw ---- */

typedef struct s6_s4_peer_rec {
    char *path;          /* "/orders", "/cancel" */
    char *body;
    char *idem_key;      /* the Idempotency-Key header, "" when absent */
    char **names, **values;
    size_t n_headers;
    uint64_t at_ms;      /* the peer loop's uv_now() */
    uint64_t at_ns;      /* uv_hrtime() when recorded: the same clock as the
                            test's uv_hrtime(), for latency measurements */
    int status;          /* the answer's status, 0 = stalled */
} s6_s4_peer_rec;

typedef struct s6_s4_peer_order {
    char intent_id[37], pos_id[25], symbol[25]; /* engine.h's limits */
    char order_id[24];
    char market[8], side[8], type[16], purpose[8];
    char quantity[32], stop_price[32];
    bool reduce_only;
    char state[16];      /* NEW, FILLED, CANCELED, TRIGGERED */
    unsigned requests;   /* POSTs naming this intent (repeats included) */
} s6_s4_peer_order;

typedef enum s6_s4_peer_counter {
    S6_S4P_REQUESTS = 0, /* POST /orders recorded, repeats included */
    S6_S4P_ORDERS,       /* distinct orders taken */
    S6_S4P_CANCELS,      /* POST /cancel recorded */
    S6_S4P_PUBLISHED,    /* results written to the stream */
    S6_S4P_MARGIN_REQUESTS, /* POST /positions/margin recorded */
    S6_S4P_MARGINS,      /* distinct margin adds taken */
    S6_S4P_COUNTER_COUNT
} s6_s4_peer_counter;

size_t s6_s4_peer_count(s6_s4_peer *p, s6_s4_peer_counter which);
/* Every POST in arrival order; NULL past the end. */
const s6_s4_peer_rec *s6_s4_peer_get(s6_s4_peer *p, size_t i);
const char *s6_s4_peer_rec_header(const s6_s4_peer_rec *r, const char *name);
/* The order taken for intent_id; -ENOENT when none. */
int s6_s4_peer_find_order(s6_s4_peer *p, const char *intent_id,
                          s6_s4_peer_order *out);
/* The i-th order taken, in the order they were taken. */
int s6_s4_peer_order_at(s6_s4_peer *p, size_t i, s6_s4_peer_order *out);

/* Blocks until count(which) >= n: 0, or -ETIMEDOUT. */
int s6_s4_peer_wait(s6_s4_peer *p, s6_s4_peer_counter which, size_t n,
                    unsigned timeout_ms);
/* Runs loop until count(which) >= n: 0, or -ETIMEDOUT.  For tests whose
 * client lives on loop (the router under test). */
int s6_s4_peer_run_until(s6_s4_peer *p, uv_loop_t *loop,
                         s6_s4_peer_counter which, size_t n,
                         unsigned timeout_ms);

/* ---- the venue book (fault campaigns) ---- */

/* On: the peer keeps the venue's positions from the fills it publishes
 * (entries, market orders, triggered stops) and answers GET /positions
 * from them; a reduce-only market order with nothing to reduce is refused
 * (400 reduce_only_rejected), a reduce-only fill is clamped to the
 * position, a triggered stop with no position expires (CANCELED).  Both
 * GETs carry "as_of": the last ord:{results} entry id published. */
void s6_s4_peer_venue_book(s6_s4_peer *p, bool on);

/* An upstream entry filled at the venue: booked, and its ENTRY fill
 * published with the intent's extras (intent "<pos_id>-en-<seq>"). */
typedef struct s6_s4_peer_entry_fill {
    const char *pos_id, *symbol, *market; /* market NULL: "FUT" */
    int side;                             /* +1 buy, -1 sell */
    double qty, price, sl_px, leverage, risk_reserved;
    int concurrency_reserved;
    unsigned seq;
} s6_s4_peer_entry_fill;
int s6_s4_peer_entry(s6_s4_peer *p, const s6_s4_peer_entry_fill *in);

/* The mark moves: set_price, then every resting stop it crossed triggers. */
int s6_s4_peer_move(s6_s4_peer *p, const char *symbol, double price);

typedef struct s6_s4_peer_book {
    double qty;       /* signed */
    double entry, realized, fees;
    double margin;    /* isolated margin: entries with a leverage, set, added;
                         released in proportion by reduces */
    unsigned fills;
} s6_s4_peer_book;

/* The futures wallet margin adds draw from (0 at start: every add is
 * refused insufficient_balance until the test funds it). */
void s6_s4_peer_set_fut_free(s6_s4_peer *p, double amount);
double s6_s4_peer_fut_free(s6_s4_peer *p);
/* The isolated margin the venue holds for symbol (FUT).  GET /positions
 * shows it (venue book on) once known: set here, or from an entry fill
 * with a leverage (s6_s4_peer_entry); margin adds and reduces move it. */
int s6_s4_peer_set_margin(s6_s4_peer *p, const char *symbol, double margin);
/* -ENOENT when the venue never traded symbol on market (NULL: FUT). */
int s6_s4_peer_book_get(s6_s4_peer *p, const char *symbol, const char *market,
                        s6_s4_peer_book *out);
