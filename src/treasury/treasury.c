/*
 * The treasury service: runs are queued and decided one at a time (so two
 * triggers never both pass the daily cap), each through the same chain:
 *
 *   store: is there a transfer with this id?  -> answer it (idempotent)
 *   balances edge -> Redis: today's total and the trigger's last start
 *   -> s6_tr_decide -> store: create the row (PENDING, SKIPPED, REJECTED)
 *   -> PENDING: the daily ledger, strategy_events, then the job (exec.c)
 *
 * The row is written before anything leaves S6, so a restart finds it
 * (list_unfinished) and every outbound call carries its transfer_id as
 * the idempotency key.
 *
 * Longer than 600 lines on purpose: a run is one chain of callbacks (look
 * up, balances, decide, create, ledger, announce) with the queue that
 * serialises runs and the schedule that starts them; the chain reads
 * top to bottom here, and a split would export its steps to each other.
 * The settings are in cfg.c, a transfer's job in exec.c.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "redis/cluster.h"
#include "treasury/internal.h"
#include "util/clock.h"
#include "contract/names.h"
#include "util/exact.h"

/* ---- plumbing ---- */

double s6_tr_now(const s6_treasury *t)
{
    if (t->d.clock.now != NULL)
        return t->d.clock.now(t->d.clock.ud);
    return s6_clock_wall_s();
}

int64_t s6_tr_now_ms(const s6_treasury *t)
{
    int64_t ms = (int64_t)(s6_tr_now(t) * 1000.0);
    return ms > 0 ? ms : 1;
}

void s6_tr_log(const s6_treasury *t, s6_log_level lv, const char *msg,
               const s6_store_transfer *tr, const char *detail)
{
    /* money to the cent, as in every answer and event (util/exact.h) */
    char amount[48] = "";
    if (tr == NULL || s6_exact_format(tr->amount, S6_EXACT_CENT, amount,
                                      sizeof amount) < 0)
        amount[0] = '\0';
    s6_log_field f[] = {
        S6_LOG_STR("transfer_id", tr ? tr->transfer_id : NULL),
        S6_LOG_STR("trigger_type", tr ? tr->trigger_type : NULL),
        S6_LOG_STR("status", tr ? s6_transfer_status_name(tr->status) : NULL),
        S6_LOG_STR("amount", amount[0] ? amount : NULL),
        S6_LOG_STR("detail", detail),
    };
    s6_log_write(t->d.log, lv, "treasury", msg, f, sizeof f / sizeof f[0]);
}

void s6_tr_maybe_free(s6_treasury *t)
{
    if (t->closing && t->pending_cb == 0 && t->open_handles == 0 &&
        t->jobs == NULL)
        free(t);
}

static void redis_done(s6_redis *r, const redisReply *reply, int code,
                       void *ud)
{
    (void)r;
    s6_treasury *t = ud;
    t->pending_cb--;
    if (code != 0)
        s6_tr_log(t, S6_LOG_WARN, "redis write failed", NULL,
                  code == S6_EREPLY && reply ? reply->str
                                                   : s6_strerror(code));
    s6_tr_maybe_free(t);
}

/* A write whose answer only matters for the log. */
static void redis_fire(s6_treasury *t, int argc, const char *const *argv)
{
    size_t len[32];
    for (int i = 0; i < argc && i < 32; i++)
        len[i] = strlen(argv[i]);
    if (argc <= 32 &&
        s6_redis_cmd(t->d.redis, redis_done, t, argc, argv, len) == 0)
        t->pending_cb++;
    else
        s6_tr_log(t, S6_LOG_WARN, "redis write refused", NULL, argv[0]);
}

/* treasury:day:<YYYY-MM-DD> holds transfer_id -> amount for the transfers
 * started that UTC day (the day of created_ms, however late the outcome
 * comes); a failed or rejected one is taken out again. */
/* On a Redis Cluster both ledger keys carry the {treasury} hash tag: the
 * ledger script reads both, and a script's keys must share a slot. */
static void day_key(const s6_treasury *t, double unix_s, char *buf, size_t cap)
{
    time_t secs = (time_t)unix_s;
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(buf, cap, s6_redis_is_cluster(t->d.redis)
                           ? "treasury:{treasury}:day:%Y-%m-%d"
                           : "treasury:day:%Y-%m-%d", &tm);
}

static const char *last_key(const s6_treasury *t)
{
    return s6_redis_is_cluster(t->d.redis) ? "treasury:{treasury}:last"
                                           : "treasury:last";
}

void s6_tr_ledger(s6_treasury *t, const s6_store_transfer *tr)
{
    char key[48], amount[48];
    day_key(t, (double)tr->created_ms / 1000.0, key, sizeof key);
    if (tr->status == S6_TRANSFER_FAILED ||
        tr->status == S6_TRANSFER_REJECTED) {
        const char *argv[] = {"HDEL", key, tr->transfer_id};
        redis_fire(t, 3, argv);
        return;
    }
    snprintf(amount, sizeof amount, "%.2f", tr->amount);
    const char *set[] = {"HSET", key, tr->transfer_id, amount};
    const char *exp[] = {"EXPIRE", key, "172800"};
    redis_fire(t, 4, set);
    redis_fire(t, 3, exp);
}

/* The trigger's last start, for its minimum interval; only a new transfer
 * sets it (a resumed one would move it back). */
static void mark_started(s6_treasury *t, const s6_store_transfer *tr)
{
    char at[32];
    snprintf(at, sizeof at, "%.3f", (double)tr->created_ms / 1000.0);
    const char *last[] = {"HSET", last_key(t), tr->trigger_type, at};
    redis_fire(t, 4, last);
}

static bool is_request(s6_transfer_status st)
{
    return st == S6_TRANSFER_PENDING || st == S6_TRANSFER_APPROVED ||
           st == S6_TRANSFER_SUBMITTED;
}

/* strategy_events gets one entry per status change; the metric counts
 * transfers by the status they reached. */
void s6_tr_announce(s6_treasury *t, const s6_store_transfer *tr)
{
    char amount[48], ts[32];
    snprintf(amount, sizeof amount, "%.2f", tr->amount);
    snprintf(ts, sizeof ts, "%.3f", (double)tr->updated_ms / 1000.0);
    const char *argv[] = {
        "XADD", "strategy_events", "*",
        "type", is_request(tr->status) ? "TransferRequest" : "TransferResponse",
        "transfer_id", tr->transfer_id, "trigger_id", tr->trigger_id,
        "trigger_type", tr->trigger_type, "from", tr->from, "to", tr->to,
        "amount", amount, "status", s6_transfer_status_name(tr->status),
        "reason", tr->reason, "ts", ts,
    };
    redis_fire(t, (int)(sizeof argv / sizeof argv[0]), argv);
    s6_counter *c;
    if (t->d.metrics != NULL &&
        s6_counter_get(t->d.metrics, "s6_transfers_total", 2,
                       S6_LABELS(s6_transfer_status_name(tr->status),
                                 tr->trigger_type), &c) == 0)
        s6_counter_inc(c);
    s6_tr_log(t, tr->status == S6_TRANSFER_FAILED ? S6_LOG_WARN : S6_LOG_INFO,
              "transfer status", tr, tr->reason);
}

/* ---- status changes of a job ---- */

typedef struct s6__upd {
    s6_tr_job *j;
    s6_tr_written_fn done;
    s6_transfer_status was;
} s6__upd;

static void updated(void *ud, int rc, const char *msg,
                    const s6_store_result *res)
{
    s6__upd *u = ud;
    s6_tr_job *j = u->j;
    s6_tr_written_fn done = u->done;
    s6_transfer_status was = u->was;
    free(u);
    j->writes--;
    if (rc == 0 && res->transfer != NULL) {
        j->tr = *res->transfer;
        if (j->tr.status != was) { /* an attempts-only write is no event */
            s6_tr_announce(j->t, &j->tr);
            if (j->tr.status == S6_TRANSFER_FAILED ||
                j->tr.status == S6_TRANSFER_REJECTED)
                s6_tr_ledger(j->t, &j->tr);
        }
    } else if (rc != 0) {
        s6_tr_log(j->t, S6_LOG_ERROR, "store update failed", &j->tr, msg);
    }
    if (done != NULL && !j->stopped)
        done(j, rc);
    s6_tr_job_release(j);
}

int s6_tr_set_status(s6_tr_job *j, s6_transfer_status st, const char *reason,
                     int attempts, s6_tr_written_fn done)
{
    s6__upd *u = malloc(sizeof *u);
    if (u == NULL)
        return S6_ENOMEM;
    *u = (s6__upd){j, done, j->tr.status};
    s6_store_transfer_update up = {
        .status = st, .reason = reason,
        .attempts = attempts > j->tr.attempts ? attempts : j->tr.attempts,
        .updated_ms = s6_tr_now_ms(j->t)};
    s6_store_err err;
    j->writes++;
    int rc = s6_store_update_transfer(j->t->d.store, j->tr.transfer_id, &up,
                                      updated, u, &err);
    if (rc != 0) {
        j->writes--;
        free(u);
        s6_tr_log(j->t, S6_LOG_ERROR, "store update refused", &j->tr, err.msg);
    }
    return rc;
}

/* ---- runs ---- */

struct s6_tr_run {
    s6_tr_run *next;
    s6_treasury *t;
    s6_tr_request rq;
    char transfer_id[S6_STORE_ID_MAX + 1];
    s6_tr_input in;
    char why[160];
};

int s6_tr_transfer_id(const s6_treasury *t, s6_treasury_trigger trig,
                      const char *trigger_id, char *out, size_t cap)
{
    int n;
    if (trigger_id != NULL && trigger_id[0] != '\0') {
        n = snprintf(out, cap, "t:%s", trigger_id);
    } else {
        double w = t->cfg.interval_s > 0 ? t->cfg.interval_s : 300;
        long long start = (long long)(floor(s6_tr_now(t) / w) * w);
        n = snprintf(out, cap, "t:%s:%lld", s6_treasury_trigger_name(trig),
                     start);
    }
    return n > 0 && (size_t)n < cap && (size_t)n <= S6_STORE_ID_MAX ? 0 : -1;
}

static void pump(s6_treasury *t);

static void run_answer(s6_tr_run *run, const s6_store_transfer *tr)
{
    if (run->rq.res == NULL)
        return;
    s6_http_res_send_json(run->rq.res, 200,
                          s6_tr_answer_json(tr, run->rq.symbol,
                                            run->rq.market));
    run->rq.res = NULL;
}

static void run_fail(s6_tr_run *run, int status, const char *code,
                     const char *msg)
{
    s6_tr_log(run->t, S6_LOG_ERROR, "treasury run failed", NULL, msg);
    if (run->rq.res != NULL)
        s6_http_res_error(run->rq.res, status, code, msg, NULL);
    run->rq.res = NULL;
}

/* The head run is done: the next one may start. */
static void run_end(s6_tr_run *run)
{
    s6_treasury *t = run->t;
    t->queue_head = run->next;
    if (t->queue_head == NULL)
        t->queue_tail = NULL;
    t->deciding = false;
    t->stats.queued--;
    free(run);
    if (t->closing)
        s6_tr_maybe_free(t);
    else
        pump(t);
}

/* Called on every callback of the chain: a closing treasury ends it. */
static bool run_alive(s6_tr_run *run)
{
    run->t->pending_cb--;
    if (!run->t->closing)
        return true;
    run_fail(run, 503, "unavailable", "the treasury is stopping");
    run_end(run);
    return false;
}

static void created(void *ud, int rc, const char *msg,
                    const s6_store_result *res)
{
    s6_tr_run *run = ud;
    if (!run_alive(run))
        return;
    s6_treasury *t = run->t;
    if (rc != 0 || res->transfer == NULL) {
        run_fail(run, 503, "store_unavailable", msg);
        run_end(run);
        return;
    }
    const s6_store_transfer *tr = res->transfer;
    t->stats.decided++;
    if (res->existed || s6_transfer_status_finished(tr->status)) {
        if (!res->existed)
            s6_tr_announce(t, tr);
        run_answer(run, tr);
        run_end(run);
        return;
    }
    s6_tr_job *j = s6_tr_job_new(t, tr);
    if (j == NULL) {
        run_fail(run, 500, "internal", "out of memory");
        run_end(run);
        return;
    }
    s6_tr_ledger(t, tr);
    mark_started(t, tr);
    s6_tr_announce(t, tr);
    if (run->rq.res != NULL)
        s6_tr_job_attach_waiter(j, run->rq.res, run->rq.symbol,
                                run->rq.market);
    run->rq.res = NULL;
    run_end(run);
    s6_tr_job_advance(j);
}

static void decide_and_create(s6_tr_run *run)
{
    s6_treasury *t = run->t;
    s6_tr_decision dec;
    s6_tr_decide(&t->cfg, &run->in, &dec);
    s6_store_transfer tr = {.status = dec.status, .amount = dec.amount};
    snprintf(tr.transfer_id, sizeof tr.transfer_id, "%s", run->transfer_id);
    snprintf(tr.trigger_id, sizeof tr.trigger_id, "%s", run->rq.trigger_id);
    snprintf(tr.trigger_type, sizeof tr.trigger_type, "%s",
             s6_treasury_trigger_name(run->rq.trigger));
    snprintf(tr.from, sizeof tr.from, "%s",
             s6_market_name(dec.to_fut ? S6_MARKET_SPOT : S6_MARKET_FUT));
    snprintf(tr.to, sizeof tr.to, "%s",
             s6_market_name(dec.to_fut ? S6_MARKET_FUT : S6_MARKET_SPOT));
    snprintf(tr.reason, sizeof tr.reason, "%s", dec.reason);
    tr.created_ms = tr.updated_ms = s6_tr_now_ms(t);
    s6_store_err err;
    t->pending_cb++;
    if (s6_store_create_transfer(t->d.store, &tr, created, run, &err) != 0) {
        t->pending_cb--;
        run_fail(run, 500, "store_refused", err.msg);
        run_end(run);
    }
}

/* Redis answered {day total, last start of the trigger}. */
static void ledger_read(s6_redis *r, const redisReply *reply, int code,
                        void *ud)
{
    (void)r;
    s6_tr_run *run = ud;
    if (!run_alive(run))
        return;
    if (code != 0 || reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
        reply->elements != 2 || reply->element[0]->type != REDIS_REPLY_STRING ||
        reply->element[1]->type != REDIS_REPLY_STRING) {
        /* without today's total the daily cap cannot be kept */
        run->in.have_balances = false;
        snprintf(run->why, sizeof run->why, "the daily ledger cannot be "
                 "read (%s)", code == S6_EREPLY && reply
                                  ? reply->str : s6_strerror(code));
        run->in.balances_why = run->why;
    } else {
        run->in.day_total = strtod(reply->element[0]->str, NULL);
        run->in.last_started = strtod(reply->element[1]->str, NULL);
    }
    decide_and_create(run);
}

static const char LEDGER_LUA[] =
    "local s = 0 "
    "for _, v in ipairs(redis.call('HVALS', KEYS[1])) do "
    "s = s + tonumber(v) end "
    "return {tostring(s), redis.call('HGET', KEYS[2], ARGV[1]) or '0'}";

static void balances_got(s6_tr_run *run, int rc,
                         const s6_treasury_balances *b, const char *why)
{
    s6_treasury *t = run->t;
    run->in.have_balances = rc == 0 && b != NULL;
    if (run->in.have_balances)
        run->in.bal = *b;
    snprintf(run->why, sizeof run->why, "%s", why ? why : "");
    run->in.balances_why = run->why;
    char key[48];
    day_key(t, run->in.now, key, sizeof key);
    const char *keys[] = {key, last_key(t)};
    const char *args[] = {s6_treasury_trigger_name(run->rq.trigger)};
    t->pending_cb++;
    if (s6_redis_eval(t->d.redis, LEDGER_LUA, keys, 2, args, 1, ledger_read,
                      run) != 0) {
        t->pending_cb--;
        run->in.have_balances = false;
        run->in.balances_why = "Redis is not connected";
        decide_and_create(run);
    }
}

static void balances_read(void *ud, int rc, const s6_treasury_balances *b,
                          const char *why)
{
    s6_tr_run *run = ud;
    if (run_alive(run))
        balances_got(run, rc, b, why);
}

static void looked_up(void *ud, int rc, const char *msg,
                      const s6_store_result *res)
{
    s6_tr_run *run = ud;
    if (!run_alive(run))
        return;
    s6_treasury *t = run->t;
    if (rc != 0) {
        run_fail(run, 503, "store_unavailable", msg);
        run_end(run);
        return;
    }
    if (res->found && res->transfer != NULL) {
        /* the same trigger again: the transfer as it stands, nothing new */
        s6_tr_job *j = s6_tr_job_find(t, res->transfer->transfer_id);
        run_answer(run, j != NULL ? &j->tr : res->transfer);
        run_end(run);
        return;
    }
    run->in.now = s6_tr_now(t);
    t->pending_cb++;
    int brc = t->d.balances.read(t->d.balances.self, balances_read, run);
    if (brc != 0) {
        t->pending_cb--;
        balances_got(run, brc, NULL, "the balances source refused the read");
    }
}

static void pump(s6_treasury *t)
{
    if (t->deciding || t->queue_head == NULL || t->closing)
        return;
    t->deciding = true;
    s6_tr_run *run = t->queue_head;
    s6_store_err err;
    t->pending_cb++;
    if (s6_store_get_transfer(t->d.store, run->transfer_id, looked_up, run,
                              &err) != 0) {
        t->pending_cb--;
        run_fail(run, 500, "store_refused", err.msg);
        run_end(run);
    }
}

int s6_tr_submit(s6_treasury *t, const s6_tr_request *rq)
{
    if (t == NULL || t->closing || (unsigned)rq->trigger >= S6_TT_COUNT)
        return -EINVAL;
    s6_tr_run *run = calloc(1, sizeof *run);
    if (run == NULL)
        return -ENOMEM;
    run->t = t;
    run->rq = *rq;
    if (s6_tr_transfer_id(t, rq->trigger, rq->trigger_id, run->transfer_id,
                          sizeof run->transfer_id) != 0) {
        free(run);
        return -EINVAL;
    }
    run->in = (s6_tr_input){.trigger = rq->trigger,
                            .requested = rq->requested,
                            .reported = rq->reported,
                            .request_enabled = rq->request_enabled};
    if (t->queue_tail != NULL)
        t->queue_tail->next = run;
    else
        t->queue_head = run;
    t->queue_tail = run;
    t->stats.queued++;
    pump(t);
    return 0;
}

static int submit_event(s6_treasury *t, s6_treasury_trigger trig,
                        double amount, double reported)
{
    if (!(amount >= 0) || !isfinite(amount))
        return -EINVAL;
    s6_tr_request rq = {.trigger = trig, .requested = amount,
                        .reported = reported, .request_enabled = true};
    return s6_tr_submit(t, &rq);
}

int s6_treasury_on_insufficient_balance(s6_treasury *t, const char *symbol)
{
    if (t != NULL)
        s6_tr_log(t, S6_LOG_INFO, "insufficient_balance from S4", NULL,
                  symbol);
    return submit_event(t, S6_TT_INSUFFICIENT_BALANCE, 0, NAN);
}

int s6_treasury_request(s6_treasury *t, s6_treasury_trigger trigger,
                        double amount)
{
    if (trigger == S6_TT_PROFIT_TAKING)
        return -EINVAL; /* a need for margin moves money to FUT */
    return submit_event(t, trigger, amount, NAN);
}

int s6_treasury_raise(s6_treasury *t, s6_treasury_trigger trigger,
                      double amount, double reported)
{
    if (!(isnan(reported) || reported >= 0)) /* +inf: the margin is gone */
        return -EINVAL;
    return submit_event(t, trigger, amount, reported);
}

/* ---- schedule and resume ---- */

static void resume_listed(void *ud, int rc, const char *msg,
                          const s6_store_result *res)
{
    s6_treasury *t = ud;
    t->pending_cb--;
    if (t->closing) {
        s6_tr_maybe_free(t);
        return;
    }
    if (rc != 0) {
        s6_tr_log(t, S6_LOG_ERROR, "cannot list unfinished transfers", NULL,
                  msg);
        return;
    }
    for (size_t i = 0; i < res->n_transfers; i++) {
        const s6_store_transfer *tr = &res->transfers[i];
        s6_tr_job *j = s6_tr_job_find(t, tr->transfer_id);
        if (j == NULL) {
            j = s6_tr_job_new(t, tr);
            if (j == NULL)
                continue;
            s6_tr_log(t, S6_LOG_INFO, "resuming transfer", tr, NULL);
            s6_tr_ledger(t, tr); /* idempotent: keyed by transfer_id */
        }
        s6_tr_job_advance(j);
    }
}

/* Picks up the store's unfinished transfers (start) and any job that gave
 * up for now (each scheduled run). */
static void resume(s6_treasury *t)
{
    s6_store_err err;
    t->pending_cb++;
    if (s6_store_list_unfinished_transfers(t->d.store, resume_listed, t,
                                           &err) != 0) {
        t->pending_cb--;
        s6_tr_log(t, S6_LOG_ERROR, "cannot list unfinished transfers", NULL,
                  err.msg);
    }
}

int s6_treasury_run_scheduled(s6_treasury *t)
{
    if (t == NULL || t->closing)
        return -EINVAL;
    resume(t);
    int rc = submit_event(t, S6_TT_SCHEDULED, 0, NAN);
    /* the sweep back to SPOT runs on the same schedule when enabled (its
     * own min_interval_s and window id keep it to its pace) */
    if (rc == 0 && t->cfg.trig[S6_TT_PROFIT_TAKING].enabled)
        rc = submit_event(t, S6_TT_PROFIT_TAKING, 0, NAN);
    return rc;
}

static void on_tick(uv_timer_t *h)
{
    s6_treasury *t = h->data;
    (void)s6_treasury_run_scheduled(t);
}

static uint64_t interval_ms(const s6_treasury *t)
{
    return (uint64_t)(t->cfg.interval_s * 1000.0);
}

int s6_treasury_start(s6_treasury *t)
{
    if (t == NULL || t->started || t->closing)
        return -EINVAL;
    t->started = true;
    resume(t);
    uint64_t ms = interval_ms(t);
    return uv_timer_start(&t->tick, on_tick, ms, ms);
}

void s6_treasury_set_cfg(s6_treasury *t, const s6_treasury_cfg *cfg)
{
    bool new_interval = cfg->interval_s != t->cfg.interval_s;
    t->cfg = *cfg;
    if (t->started && new_interval) {
        uint64_t ms = interval_ms(t);
        uv_timer_start(&t->tick, on_tick, ms, ms);
    }
}

/* ---- life ---- */

int s6_treasury_new(s6_treasury **out, const s6_treasury_deps *deps,
                    const s6_treasury_cfg *cfg, char *err, size_t errlen)
{
    const char *missing = out == NULL ? "out" : deps == NULL ? "deps"
                          : cfg == NULL ? "cfg" : deps->loop == NULL ? "loop"
                          : deps->store == NULL ? "store"
                          : deps->redis == NULL ? "redis"
                          : deps->http == NULL ? "http"
                          : deps->balances.read == NULL ? "balances" : NULL;
    if (missing != NULL) {
        snprintf(err, errlen, "treasury: %s is missing", missing);
        return -EINVAL;
    }
    if (!s6_tr_cfg_ok(cfg, err, errlen))
        return -EINVAL;
    s6_treasury *t = calloc(1, sizeof *t);
    if (t == NULL)
        return -ENOMEM;
    t->d = *deps;
    t->cfg = *cfg;
    uv_timer_init(deps->loop, &t->tick);
    t->tick.data = t;
    t->open_handles = 1;
    *out = t;
    return 0;
}

static void tick_closed(uv_handle_t *h)
{
    s6_treasury *t = h->data;
    t->open_handles--;
    s6_tr_maybe_free(t);
}

void s6_treasury_free(s6_treasury *t)
{
    if (t == NULL || t->closing)
        return;
    t->closing = true;
    uv_close((uv_handle_t *)&t->tick, tick_closed);
    while (t->jobs != NULL)
        s6_tr_job_stop(t->jobs);
    /* runs waiting on a callback end there; the others end now */
    s6_tr_run *run = t->queue_head;
    s6_tr_run *keep = t->deciding ? run : NULL;
    for (run = keep ? run->next : run; run != NULL;) {
        s6_tr_run *next = run->next;
        run_fail(run, 503, "unavailable", "the treasury is stopping");
        free(run);
        run = next;
    }
    if (keep != NULL)
        keep->next = NULL;
    t->queue_head = t->queue_tail = keep;
    s6_tr_maybe_free(t);
}

void s6_treasury_stats_get(const s6_treasury *t, s6_treasury_stats *out)
{
    *out = t->stats;
    out->active = 0;
    for (const s6_tr_job *j = t->jobs; j != NULL; j = j->next)
        out->active++;
}
