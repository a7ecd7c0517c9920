/*
 * internal.h — what the treasury's files share: the pure decision
 * (decide.c), the transfer jobs and their outbound calls (exec.c), the
 * service object (treasury.c) and the HTTP handlers (http.c).
 */
#pragma once

#include <stdbool.h>

#include "treasury/treasury.h"

/* ---- the decision: pure, no I/O (decide.c) ---- */

typedef struct s6_tr_input {
    s6_treasury_trigger trigger;
    double requested;       /* quote asked for; 0 = compute the need */
    double reported;        /* the caller's measured value; NaN = none */
    bool request_enabled;   /* the request's "enabled" */
    bool have_balances;
    s6_treasury_balances bal;
    const char *balances_why; /* why there are none */
    double now;             /* unix seconds */
    double day_total;       /* quote started today and not failed */
    double last_started;    /* unix seconds; 0 = never */
} s6_tr_input;

typedef struct s6_tr_decision {
    s6_transfer_status status; /* PENDING: go; SKIPPED or REJECTED: not */
    bool to_fut;               /* SPOT -> FUT, else FUT -> SPOT */
    double amount;             /* quote, on the cent, > 0 when PENDING */
    char reason[S6_STORE_TEXT_MAX + 1];
} s6_tr_decision;

void s6_tr_decide(const s6_treasury_cfg *cfg, const s6_tr_input *in,
                  s6_tr_decision *out);

/* The direction a trigger moves money. */
bool s6_tr_to_fut(s6_treasury_trigger t);

/* Down to the cent: a transfer never exceeds what a guard allows. */
double s6_tr_cents(double quote);

/* ---- the service (treasury.c, exec.c) ---- */

typedef struct s6_tr_job s6_tr_job;
typedef struct s6_tr_run s6_tr_run;

struct s6_treasury {
    s6_treasury_deps d;
    s6_treasury_cfg cfg;
    uv_timer_t tick;
    bool closing, started;
    unsigned pending_cb;        /* Redis and store callbacks in flight */
    unsigned open_handles;      /* uv handles not yet closed */
    s6_tr_run *queue_head, *queue_tail; /* runs awaiting their decision */
    bool deciding;              /* the head run is being decided */
    s6_tr_job *jobs;            /* unfinished transfers */
    s6_treasury_stats stats;
};

/* The transfer as the store holds it, plus the work in flight on it. */
struct s6_tr_job {
    s6_treasury *t;
    s6_tr_job *next;
    s6_store_transfer tr;
    uint64_t http_id;           /* outbound request in flight, 0 none */
    bool http_busy;
    uv_timer_t poll;            /* S12 polling while PENDING */
    bool poll_on;
    s6_http_res *waiter;        /* the trigger request awaiting an answer */
    uv_timer_t wait;            /* ... until answer_wait_ms */
    bool wait_on;
    char symbol[S6_STORE_SYM_MAX + 1], market[8]; /* echoed to the waiter */
    bool stopped;               /* out of the list; no further steps */
    bool handles_closed;
    int open_timers;            /* while closing: poll and wait */
    unsigned writes;            /* store updates in flight */
};

/* exec.c: takes a transfer that was just created or resumed (store row
 * in tr) to its next step; answers the waiter, if any, once it rests. */
s6_tr_job *s6_tr_job_new(s6_treasury *t, const s6_store_transfer *tr);
void s6_tr_job_advance(s6_tr_job *j);
/* S12's decision, from the callback or a poll. */
void s6_tr_job_decided(s6_tr_job *j, bool approved, const char *reason);
s6_tr_job *s6_tr_job_find(s6_treasury *t, const char *transfer_id);
void s6_tr_job_attach_waiter(s6_tr_job *j, s6_http_res *res,
                             const char *symbol, const char *market);
/* Cancels the job's timers and request; the job frees itself once its
 * handles have closed. */
void s6_tr_job_stop(s6_tr_job *j);
void s6_tr_job_release(s6_tr_job *j);

/* cfg.c: false, with the first bad field in err, when cfg cannot run. */
bool s6_tr_cfg_ok(const s6_treasury_cfg *cfg, char *err, size_t errlen);

/* treasury.c: shared plumbing. */
double s6_tr_now(const s6_treasury *t);
int64_t s6_tr_now_ms(const s6_treasury *t);
/* Writes a status change: store, strategy_events, the ledger, metrics.
 * The job's tr is updated first; done runs after the store answered (rc
 * 0 or a store error).  Returns the store call's rc. */
typedef void (*s6_tr_written_fn)(s6_tr_job *j, int rc);
int s6_tr_set_status(s6_tr_job *j, s6_transfer_status st, const char *reason,
                     int attempts, s6_tr_written_fn done);
/* A refusal or fresh transfer event and metric (create path). */
void s6_tr_announce(s6_treasury *t, const s6_store_transfer *tr);
void s6_tr_ledger(s6_treasury *t, const s6_store_transfer *tr);
void s6_tr_log(const s6_treasury *t, s6_log_level lv, const char *msg,
               const s6_store_transfer *tr, const char *detail);
/* Frees t when it is closing and nothing is in flight any more. */
void s6_tr_maybe_free(s6_treasury *t);

/* http.c: the trigger endpoint's answer for a transfer row. */
json_t *s6_tr_answer_json(const s6_store_transfer *tr, const char *symbol,
                          const char *market);
/* A run, queued for its decision (treasury.c). */
typedef struct s6_tr_request {
    s6_treasury_trigger trigger;
    char trigger_id[S6_STORE_ID_MAX + 1]; /* "" = from the window */
    double requested;
    double reported;
    bool request_enabled;
    s6_http_res *res;                     /* NULL: nobody waits */
    char symbol[S6_STORE_SYM_MAX + 1], market[8];
} s6_tr_request;
int s6_tr_submit(s6_treasury *t, const s6_tr_request *rq);
/* The trigger body alone, as POST /auto-transfer/trigger reads it (no
 * treasury needed; the fuzz target's entry): 0, or -1 with why =
 * "<status> <code> <field>: <message>". */
int s6_tr_parse_trigger_body(const char *body, size_t len,
                             s6_tr_request *rq, char *why, size_t whylen);
/* The body of POST /auto-transfer/approval, the same way. */
typedef struct s6_tr_approval {
    char transfer_id[S6_STORE_ID_MAX + 1];
    bool approved;
    char reason[201];
} s6_tr_approval;
int s6_tr_parse_approval_body(const char *body, size_t len,
                              s6_tr_approval *ap, char *why, size_t whylen);
/* The transfer_id of a trigger_id (NULL or "" for the time window). */
int s6_tr_transfer_id(const s6_treasury *t, s6_treasury_trigger trig,
                      const char *trigger_id, char *out, size_t cap);
