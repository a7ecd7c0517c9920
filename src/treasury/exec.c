/*
 * A transfer's way from PENDING to a final status (docs/treasury.md,
 * "The flow"):
 *
 *   approval:  PENDING --S12 POST--> (callback or poll) APPROVED
 *              --> SUBMITTED --S1 POST--> SUCCESS | FAILED;   or REJECTED
 *   full-auto: PENDING --> SUBMITTED --S1 POST--> SUCCESS | FAILED
 *
 * Each status is written to the store before the call it leads to, so a
 * restart knows how far it got; every call to S1 and S12 carries the
 * transfer_id as its Idempotency-Key, so calling again after a restart or
 * a lost answer never moves money twice.  S1 or S12 errors and timeouts
 * are retried with backoff (httpc); when the retries run out the transfer
 * keeps its status and the next scheduled run picks it up again.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "treasury/internal.h"

/* ---- the job list ---- */

s6_tr_job *s6_tr_job_find(s6_treasury *t, const char *transfer_id)
{
    for (s6_tr_job *j = t->jobs; j != NULL; j = j->next)
        if (strcmp(j->tr.transfer_id, transfer_id) == 0)
            return j;
    return NULL;
}

s6_tr_job *s6_tr_job_new(s6_treasury *t, const s6_store_transfer *tr)
{
    s6_tr_job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return NULL;
    j->t = t;
    j->tr = *tr;
    uv_timer_init(t->d.loop, &j->poll);
    uv_timer_init(t->d.loop, &j->wait);
    j->poll.data = j->wait.data = j;
    j->next = t->jobs;
    t->jobs = j;
    return j;
}

static void unlink_job(s6_tr_job *j)
{
    for (s6_tr_job **p = &j->t->jobs; *p != NULL; p = &(*p)->next)
        if (*p == j) {
            *p = j->next;
            return;
        }
}

/* A stopped job goes once its timers have closed and no store write is
 * in flight for it. */
void s6_tr_job_release(s6_tr_job *j)
{
    if (!j->handles_closed || j->writes > 0)
        return;
    s6_treasury *t = j->t;
    free(j);
    t->open_handles--;
    s6_tr_maybe_free(t);
}

static void job_closed(uv_handle_t *h)
{
    s6_tr_job *j = h->data;
    if (--j->open_timers == 0) { /* libuv closes in no promised order */
        j->handles_closed = true;
        s6_tr_job_release(j);
    }
}

static void answer_waiter(s6_tr_job *j)
{
    if (j->waiter == NULL)
        return;
    s6_http_res_send_json(j->waiter, 200,
                          s6_tr_answer_json(&j->tr, j->symbol, j->market));
    j->waiter = NULL;
    uv_timer_stop(&j->wait);
}

void s6_tr_job_stop(s6_tr_job *j)
{
    s6_treasury *t = j->t;
    if (j->stopped)
        return;
    j->stopped = true;
    unlink_job(j);
    if (j->waiter != NULL) {
        if (t->closing)
            s6_http_res_error(j->waiter, 503, "unavailable",
                              "the treasury is stopping", NULL);
        else
            answer_waiter(j);
        j->waiter = NULL;
    }
    if (j->http_busy)
        (void)s6_httpc_cancel(t->d.http, j->http_id); /* runs its callback */
    t->open_handles++;
    j->open_timers = 2;
    uv_close((uv_handle_t *)&j->poll, job_closed);
    uv_close((uv_handle_t *)&j->wait, job_closed);
}

static void on_wait(uv_timer_t *h)
{
    answer_waiter(h->data);
}

void s6_tr_job_attach_waiter(s6_tr_job *j, s6_http_res *res,
                             const char *symbol, const char *market)
{
    answer_waiter(j); /* one waiter at a time: an earlier one is answered */
    j->waiter = res;
    snprintf(j->symbol, sizeof j->symbol, "%s", symbol ? symbol : "");
    snprintf(j->market, sizeof j->market, "%s", market ? market : "");
    uv_timer_start(&j->wait, on_wait, j->t->cfg.answer_wait_ms, 0);
}

/* ---- outbound calls ---- */

static int call(s6_tr_job *j, const char *method, const char *url,
                const char *body, s6_httpc_cb cb)
{
    const s6_treasury_cfg *c = &j->t->cfg;
    char key[S6_STORE_ID_MAX + 32];
    snprintf(key, sizeof key, "Idempotency-Key: %s", j->tr.transfer_id);
    const char *headers[] = {key};
    s6_httpc_retry retry = {.max_attempts = c->retry_attempts,
                            .base_ms = c->retry_base_ms,
                            .cap_ms = c->retry_cap_ms,
                            .seed = (uint64_t)j->tr.created_ms};
    s6_httpc_opts o = {.method = method, .url = url, .headers = headers,
                       .n_headers = 1, .body = body,
                       .body_len = body ? strlen(body) : 0,
                       .timeout_ms = c->timeout_ms, .retry = &retry};
    int rc = s6_httpc_request(j->t->d.http, &o, cb, j, &j->http_id);
    j->http_busy = rc == 0;
    if (rc != 0)
        s6_tr_log(j->t, S6_LOG_ERROR, "outbound call refused", &j->tr, url);
    return rc;
}

/* The answer's JSON object, or NULL. */
static json_t *answer_doc(const s6_httpc_result *r)
{
    if (r->err != S6_HTTPC_OK || r->body_len == 0)
        return NULL;
    json_t *doc = json_loadb(r->body, r->body_len, 0, NULL);
    if (doc != NULL && !json_is_object(doc)) {
        json_decref(doc);
        doc = NULL;
    }
    return doc;
}

static const char *str_field(json_t *doc, const char *key)
{
    const char *s = json_string_value(json_object_get(doc, key));
    return s != NULL ? s : "";
}

/* A 4xx's error message, "status N" otherwise. */
static void describe(const s6_httpc_result *r, json_t *doc, char *buf,
                     size_t cap)
{
    json_t *e = json_object_get(doc, "error");
    if (r->err != S6_HTTPC_OK)
        snprintf(buf, cap, "%s after %u attempt(s)",
                 s6_httpc_err_name(r->err), r->attempts);
    else if (json_is_object(e))
        snprintf(buf, cap, "HTTP %d %s: %s", r->status,
                 str_field(e, "code"), str_field(e, "message"));
    else
        snprintf(buf, cap, "HTTP %d after %u attempt(s)", r->status,
                 r->attempts);
}

/* The job whose call ended; NULL when it was cancelled (the job stops or
 * the decision came another way) or the client is shutting down. */
static s6_tr_job *answered(const s6_httpc_result *r, void *ud)
{
    s6_tr_job *j = ud;
    j->http_busy = false;
    bool gone = r->err == S6_HTTPC_E_CANCELLED || r->err == S6_HTTPC_E_SHUTDOWN;
    return gone ? NULL : j;
}

static bool final_4xx(const s6_httpc_result *r)
{
    return r->err == S6_HTTPC_OK && r->status >= 400 && r->status < 500 &&
           r->status != 429;
}

static bool ok_2xx(const s6_httpc_result *r)
{
    return r->err == S6_HTTPC_OK && r->status >= 200 && r->status < 300;
}

/* ---- S1 executes ---- */

static void job_finish(s6_tr_job *j)
{
    answer_waiter(j);
    s6_tr_job_stop(j);
}

static void after_final(s6_tr_job *j, int rc)
{
    (void)rc;
    if (s6_transfer_status_finished(j->tr.status))
        job_finish(j);
}

static void s1_answered(const s6_httpc_result *r, void *ud)
{
    s6_tr_job *j = answered(r, ud);
    if (j == NULL)
        return;
    int attempts = j->tr.attempts + (int)r->attempts;
    json_t *doc = answer_doc(r);
    const char *st = str_field(doc, "status");
    char why[S6_STORE_TEXT_MAX + 1];
    if (ok_2xx(r) && strcmp(st, "SUCCESS") == 0) {
        /* the decision's reason stays the transfer's reason */
        s6_tr_log(j->t, S6_LOG_INFO, "S1 executed the transfer", &j->tr,
                  str_field(doc, "tx_id"));
        s6_tr_set_status(j, S6_TRANSFER_SUCCESS, NULL, attempts, after_final);
    } else if ((ok_2xx(r) && strcmp(st, "FAILED") == 0) || final_4xx(r)) {
        if (ok_2xx(r))
            snprintf(why, sizeof why, "S1: %s", str_field(doc, "reason"));
        else
            describe(r, doc, why, sizeof why);
        s6_tr_set_status(j, S6_TRANSFER_FAILED, why, attempts, after_final);
    } else {
        /* unknown outcome: the same key is sent again on the next run */
        describe(r, doc, why, sizeof why);
        s6_tr_log(j->t, S6_LOG_WARN, "S1 did not confirm; retried on the "
                  "next run", &j->tr, why);
        s6_tr_set_status(j, S6_TRANSFER_SUBMITTED, NULL, attempts, NULL);
        answer_waiter(j);
    }
    json_decref(doc);
}

static void send_s1(s6_tr_job *j)
{
    if (j->http_busy)
        return;
    char url[600];
    snprintf(url, sizeof url, "%s/xchg/treasury/transfer", j->t->cfg.s1_url);
    char amount[48];
    snprintf(amount, sizeof amount, "%.2f", j->tr.amount);
    json_t *doc = json_pack("{s:s,s:s,s:s,s:s,s:s}", "transfer_id",
                            j->tr.transfer_id, "from", j->tr.from, "to",
                            j->tr.to, "asset", "USDT", "amount", amount);
    char *body = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    (void)call(j, "POST", url, body, s1_answered);
    free(body);
}

static void then_send_s1(s6_tr_job *j, int rc)
{
    if (rc == 0 && j->tr.status == S6_TRANSFER_SUBMITTED)
        send_s1(j);
}

/* ---- S12 approves ---- */

static void s12_status(s6_tr_job *j, json_t *doc)
{
    const char *st = str_field(doc, "status");
    if (strcmp(st, "APPROVED") == 0)
        s6_tr_job_decided(j, true, str_field(doc, "reason"));
    else if (strcmp(st, "REJECTED") == 0)
        s6_tr_job_decided(j, false, str_field(doc, "reason"));
}

static void s12_posted(const s6_httpc_result *r, void *ud)
{
    s6_tr_job *j = answered(r, ud);
    if (j == NULL)
        return;
    json_t *doc = answer_doc(r);
    char why[S6_STORE_TEXT_MAX + 1];
    if (ok_2xx(r)) {
        s12_status(j, doc);
    } else if (final_4xx(r)) {
        describe(r, doc, why, sizeof why);
        char reason[S6_STORE_TEXT_MAX + 1];
        snprintf(reason, sizeof reason, "S12 refused the request: %.200s",
                 why);
        s6_tr_set_status(j, S6_TRANSFER_REJECTED, reason, j->tr.attempts,
                         after_final);
    } else {
        describe(r, doc, why, sizeof why);
        s6_tr_log(j->t, S6_LOG_WARN, "S12 did not take the request; the "
                  "poll asks again", &j->tr, why);
    }
    json_decref(doc);
    /* the decision is awaited now (or was just made) */
    if (j->tr.status == S6_TRANSFER_PENDING)
        answer_waiter(j);
}

static void send_s12(s6_tr_job *j)
{
    if (j->http_busy)
        return;
    char url[600];
    snprintf(url, sizeof url, "%s/treasury/transfer", j->t->cfg.s12_url);
    json_t *doc = json_pack("{s:s,s:s,s:s,s:s,s:s,s:f,s:s,s:s}",
                            "transfer_id", j->tr.transfer_id, "trigger_id",
                            j->tr.trigger_id, "trigger_type",
                            j->tr.trigger_type, "from", j->tr.from, "to",
                            j->tr.to, "amount", j->tr.amount, "asset", "USDT",
                            "reason", j->tr.reason);
    char *body = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(doc);
    (void)call(j, "POST", url, body, s12_posted);
    free(body);
}

static void s12_polled(const s6_httpc_result *r, void *ud)
{
    s6_tr_job *j = answered(r, ud);
    if (j == NULL)
        return;
    if (r->err == S6_HTTPC_OK && r->status == 404) {
        send_s12(j); /* S12 lost it (or never got it): ask again */
        return;
    }
    json_t *doc = answer_doc(r);
    if (ok_2xx(r))
        s12_status(j, doc);
    json_decref(doc);
}

static void on_poll(uv_timer_t *h)
{
    s6_tr_job *j = h->data;
    if (j->tr.status != S6_TRANSFER_PENDING || j->http_busy)
        return;
    char url[700];
    snprintf(url, sizeof url, "%s/treasury/transfer/%s", j->t->cfg.s12_url,
             j->tr.transfer_id);
    (void)call(j, "GET", url, NULL, s12_polled);
}

static void ask_approval(s6_tr_job *j)
{
    uint64_t ms = (uint64_t)(j->t->cfg.approval_poll_s * 1000.0);
    uv_timer_start(&j->poll, on_poll, ms, ms);
    send_s12(j);
}

static void then_advance(s6_tr_job *j, int rc)
{
    if (rc == 0)
        s6_tr_job_advance(j);
}

void s6_tr_job_decided(s6_tr_job *j, bool approved, const char *reason)
{
    if (j->tr.status != S6_TRANSFER_PENDING)
        return; /* a late callback or poll: the first decision stands */
    uv_timer_stop(&j->poll);
    if (j->http_busy) /* a poll in flight would hold up the S1 call */
        (void)s6_httpc_cancel(j->t->d.http, j->http_id);
    char why[S6_STORE_TEXT_MAX + 1];
    snprintf(why, sizeof why, "%s by S12%s%.200s",
             approved ? "approved" : "rejected", reason && reason[0] ? ": " : "",
             reason ? reason : "");
    if (approved) {
        s6_tr_log(j->t, S6_LOG_INFO, "approved", &j->tr, why);
        s6_tr_set_status(j, S6_TRANSFER_APPROVED, NULL, j->tr.attempts,
                         then_advance);
    } else
        s6_tr_set_status(j, S6_TRANSFER_REJECTED, why, j->tr.attempts,
                         after_final);
}

void s6_tr_job_advance(s6_tr_job *j)
{
    s6_transfer_status st = j->tr.status;
    if (st == S6_TRANSFER_PENDING && !j->t->cfg.full_auto)
        ask_approval(j);
    else if (st == S6_TRANSFER_PENDING || st == S6_TRANSFER_APPROVED)
        /* approved, or full-auto, which needs no approval */
        s6_tr_set_status(j, S6_TRANSFER_SUBMITTED, NULL, j->tr.attempts,
                         then_send_s1);
    else if (st == S6_TRANSFER_SUBMITTED)
        send_s1(j);
    else
        job_finish(j);
}
