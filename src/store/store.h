/*
 * store.h — the history store: position snapshots, order records and
 * treasury transfers behind one small interface with swappable backends.
 *
 * Records
 *   positions_snapshots  append-only; one row per evaluation that changed
 *                        something.  Indexed columns (pos_id, symbol, ts)
 *                        plus the whole record as a JSON document, so a
 *                        later field needs no migration to be kept.
 *   orders               one row per intent_id (the idempotency key),
 *                        upserted as the order moves: the spec's
 *                        `UPSERT orders(stop)`.
 *   order_events         append-only; every accepted upsert also appends
 *                        the status it wrote, so an order's whole life
 *                        (SENT, ACKED, ..., FILLED) is kept, not only the
 *                        last status the orders row holds.
 *   treasury_transfers   one row per transfer_id.  Create is idempotent:
 *                        creating an id that exists changes nothing and
 *                        hands back the stored row, so a repeated trigger
 *                        or a restart can never make a second transfer.
 *
 * One calling shape for synchronous and asynchronous backends
 *   Every operation takes a completion callback `done` and its `ud`:
 *     - it returns a negative S6_E* (core/s6_errors.h) code, with `err` filled, when the
 *       request is refused before reaching the backend (bad input, closed
 *       store); `done` is then NOT called and nothing is written;
 *     - otherwise it returns 0 and calls `done` EXACTLY ONCE with the
 *       outcome (rc 0 or a negative code, a message, a result).
 *   SQLite calls `done` before the operation returns, on the caller's
 *   thread (the loop thread): WAL journal with synchronous=NORMAL keeps a
 *   committed write in the tens of microseconds (docs/store.md has the
 *   measured numbers), short enough to run on the loop.
 *   ArangoDB (HTTP document API) calls `done` later from the libuv loop when
 *   the response arrives or the request fails; s6_store_close() completes
 *   every operation still in flight with S6_ECLOSED first.
 *   Results passed to `done` are valid only during the call: copy them.
 *   Calling the store again from inside `done` is allowed; closing it from
 *   inside `done` is not (the backend is still unwinding that call).
 *
 * Validation is shared by every backend (store.c): ids 1..S6_STORE_ID_MAX
 * printable ASCII, numbers finite, enumerations from the tables below.
 * Timestamps are milliseconds since the Unix epoch from the caller's clock
 * (the engine's clock interface, so replays pin time).
 *
 * Not thread-safe: one store is used from one thread, like the loop.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/s6_errors.h"


#define S6_STORE_ID_MAX 64      /* pos_id, intent_id, transfer_id, ... */
#define S6_STORE_SYM_MAX 32     /* symbol */
#define S6_STORE_TEXT_MAX 256   /* reason */
#define S6_STORE_ERR_MAX 256

typedef struct s6_store_err {
    char msg[S6_STORE_ERR_MAX];
} s6_store_err;

/* ---- records --------------------------------------------------------- */

/* Strings are NUL-terminated inside fixed arrays, so records copy with `=`.
 * market: "FUT" | "SPOT"; side: "LONG" | "SHORT";
 * state: "PENDING_ENTRY" | "ACTIVE" | "PENDING_CLOSING" | "CLOSED". */
typedef struct s6_store_snapshot {
    char pos_id[S6_STORE_ID_MAX + 1];
    char symbol[S6_STORE_SYM_MAX + 1];
    char market[8];
    char state[24];
    char side[8];
    double qty;              /* >= 0 */
    double entry_px;         /* >= 0 (0 before the first fill) */
    double mark_px;          /* >= 0 */
    double roe;              /* finite, any sign */
    double liq_px;           /* >= 0; 0 = no liquidation price (SPOT) */
    double stop_px;          /* >= 0; 0 = no stop yet */
    int32_t stop_step;       /* lock-in step, >= 0 */
    int32_t tp_step;         /* ladder step, >= 0 */
    int32_t adds;            /* add-ons filled, >= 0 */
    double realized_pnl;
    double unrealized_pnl;
    char plan_id[S6_STORE_ID_MAX + 1];  /* may be empty: no plan */
    /* JSON object text {"rule":"content hash",...}; NULL or "" = {} on
     * input.  On output points into the result, valid during `done`. */
    const char *rule_versions;
    int64_t ts_ms;           /* > 0 */
} s6_store_snapshot;

/* kind:   "ENTRY" | "STOP" | "TAKE_PROFIT" | "ADD" | "CLOSE"
 * status: "NEW" | "SENT" | "ACKED" | "PARTIALLY_FILLED" | "FILLED" |
 *         "CANCELED" | "REJECTED" | "FAILED" */
typedef struct s6_store_order {
    char intent_id[S6_STORE_ID_MAX + 1];  /* key */
    char pos_id[S6_STORE_ID_MAX + 1];
    char kind[16];
    char status[20];
    char s4_order_id[S6_STORE_ID_MAX + 1]; /* empty until S4 answers */
    double price;            /* >= 0; 0 = market */
    double qty;              /* > 0 */
    int64_t created_ms;      /* > 0; kept from the first upsert */
    int64_t updated_ms;      /* >= created_ms */
    /* May be empty.  Kept in the order's events only: the orders row
     * predates it and other services read that row as it is. */
    char symbol[S6_STORE_SYM_MAX + 1];
} s6_store_order;

/* One status an order took, as its upsert wrote it. */
typedef struct s6_store_order_event {
    int64_t seq;             /* grows with every event the store appends */
    char intent_id[S6_STORE_ID_MAX + 1];
    char pos_id[S6_STORE_ID_MAX + 1];
    char symbol[S6_STORE_SYM_MAX + 1];
    char kind[16];
    char status[20];
    double price;
    double qty;              /* the order's, or filled so far on a fill */
    int64_t ts_ms;           /* the upsert's updated_ms */
} s6_store_order_event;

typedef enum s6_transfer_status {
    S6_TRANSFER_PENDING = 0,
    S6_TRANSFER_APPROVED,
    S6_TRANSFER_SUBMITTED,
    S6_TRANSFER_SUCCESS,     /* finished from here on */
    S6_TRANSFER_FAILED,
    S6_TRANSFER_REJECTED,
    S6_TRANSFER_SKIPPED,
    S6_TRANSFER_STATUS_COUNT
} s6_transfer_status;

/* trigger_type: upper-case identifier, e.g. MARGIN_CALL, RISK_LIMIT,
 * PROFIT_TAKING, SCHEDULED.  from/to: "SPOT" | "FUT", different. */
typedef struct s6_store_transfer {
    char transfer_id[S6_STORE_ID_MAX + 1];  /* key */
    char trigger_id[S6_STORE_ID_MAX + 1];   /* may be empty (scheduled) */
    char trigger_type[32];
    char from[8];
    char to[8];
    double amount;           /* >= 0 (a SKIPPED transfer may be 0) */
    s6_transfer_status status;
    char reason[S6_STORE_TEXT_MAX + 1];
    int32_t attempts;        /* >= 0 */
    int64_t created_ms;      /* > 0 */
    int64_t updated_ms;      /* >= created_ms */
} s6_store_transfer;

/* What update_transfer changes; the rest of the row stays. */
typedef struct s6_store_transfer_update {
    s6_transfer_status status;
    const char *reason;      /* NULL keeps the stored reason */
    int32_t attempts;        /* >= the stored value */
    int64_t updated_ms;      /* > 0 */
} s6_store_transfer_update;

/* ---- results and completion ----------------------------------------- */

typedef struct s6_store_result {
    bool found;                          /* get/latest: a row matched */
    bool existed;                        /* create_transfer: id was there */
    const s6_store_snapshot *snapshot;   /* latest_snapshot */
    const s6_store_order *order;         /* get_order */
    const s6_store_order_event *events;  /* order_events, by seq */
    size_t n_events;
    const s6_store_transfer *transfer;   /* create/update/get_transfer */
    const s6_store_transfer *transfers;  /* list_unfinished, oldest first */
    size_t n_transfers;
} s6_store_result;

/* rc: 0 or S6_E* (core/s6_errors.h); msg: "" on success; res: never NULL. */
typedef void (*s6_store_done_fn)(void *ud, int rc, const char *msg,
                                 const s6_store_result *res);

/* ---- the interface --------------------------------------------------- */

typedef struct s6_store s6_store;
typedef struct s6_store_call {
    s6_store_done_fn done;
    void *ud;
} s6_store_call;

typedef struct s6_store_ops {
    const char *name;   /* "sqlite", "arangodb" */
    /* Inputs are validated before these are called. */
    int (*append_snapshot)(s6_store *, const s6_store_snapshot *,
                           s6_store_call, s6_store_err *);
    int (*latest_snapshot)(s6_store *, const char *pos_id, s6_store_call,
                           s6_store_err *);
    int (*upsert_order)(s6_store *, const s6_store_order *, s6_store_call,
                        s6_store_err *);
    int (*get_order)(s6_store *, const char *intent_id, s6_store_call,
                     s6_store_err *);
    int (*order_events)(s6_store *, const char *intent_id, s6_store_call,
                        s6_store_err *);
    int (*create_transfer)(s6_store *, const s6_store_transfer *,
                           s6_store_call, s6_store_err *);
    int (*update_transfer)(s6_store *, const char *transfer_id,
                           const s6_store_transfer_update *, s6_store_call,
                           s6_store_err *);
    int (*get_transfer)(s6_store *, const char *transfer_id, s6_store_call,
                        s6_store_err *);
    int (*list_unfinished)(s6_store *, s6_store_call, s6_store_err *);
    void (*close)(s6_store *);
    /* Group commit (may be NULL: every write is its own transaction). */
    void (*group)(s6_store *, bool on);
    int (*flush)(s6_store *, s6_store_err *);
} s6_store_ops;

/* Backends embed this as their first member. */
struct s6_store {
    const s6_store_ops *ops;
};

/* Validate, then dispatch.  See the calling shape above. */
int s6_store_append_snapshot(s6_store *st, const s6_store_snapshot *snap,
                             s6_store_done_fn done, void *ud,
                             s6_store_err *err);
int s6_store_latest_snapshot(s6_store *st, const char *pos_id,
                             s6_store_done_fn done, void *ud,
                             s6_store_err *err);
/* Also appends the status written to order_events (SQLite: in the same
 * transaction; ArangoDB: after the orders document, before done). */
int s6_store_upsert_order(s6_store *st, const s6_store_order *ord,
                          s6_store_done_fn done, void *ud, s6_store_err *err);
int s6_store_get_order(s6_store *st, const char *intent_id,
                       s6_store_done_fn done, void *ud, s6_store_err *err);
/* The order's life: every status its upserts wrote, oldest first (by seq);
 * found=false and no events when the store has none. */
int s6_store_order_events(s6_store *st, const char *intent_id,
                          s6_store_done_fn done, void *ud, s6_store_err *err);
int s6_store_create_transfer(s6_store *st, const s6_store_transfer *tr,
                             s6_store_done_fn done, void *ud,
                             s6_store_err *err);
int s6_store_update_transfer(s6_store *st, const char *transfer_id,
                             const s6_store_transfer_update *up,
                             s6_store_done_fn done, void *ud,
                             s6_store_err *err);
int s6_store_get_transfer(s6_store *st, const char *transfer_id,
                          s6_store_done_fn done, void *ud, s6_store_err *err);
/* Transfers in PENDING, APPROVED or SUBMITTED: what a restart resumes. */
int s6_store_list_unfinished_transfers(s6_store *st, s6_store_done_fn done,
                                       void *ud, s6_store_err *err);
/* Frees the store (after a flush); NULL is a no-op. */
void s6_store_close(s6_store *st);

/* Group commit, for the service's loop: while on, the writes of one loop
 * turn share one transaction (each still all-or-nothing on its own, and
 * its done still says whether it was accepted), and s6_store_flush, run
 * once per turn before the loop waits, commits them together.  A crash
 * before the flush loses that turn's history rows, never half a row.  A
 * backend without transactions ignores both.  Turning it off flushes. */
void s6_store_group(s6_store *st, bool on);
/* Commits what the open group holds: 0, or the commit's error (the
 * group's rows are then rolled back). */
int s6_store_flush(s6_store *st, s6_store_err *err);

const char *s6_transfer_status_name(s6_transfer_status s);
/* Returns 0 and sets *out, or S6_EINVAL for an unknown name. */
int s6_transfer_status_parse(const char *name, s6_transfer_status *out);
bool s6_transfer_status_finished(s6_transfer_status s);

/* ---- backends -------------------------------------------------------- */

/* SQLite: `path` is a file (created if missing) or ":memory:".  The schema
 * is created or migrated on open (table schema_version).  The ArangoDB
 * backend's constructor is in store/arangodb.h (it needs the HTTP client). */
int s6_store_open_sqlite(const char *path, s6_store **out, s6_store_err *err);
