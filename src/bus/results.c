#include "bus/results.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/fields.h"
#include "bus/result_codec.h"
#include "util/stream_id.h"

enum { ID_LEN = 48 };

typedef enum phase {
    PH_GROUP,    /* XGROUP CREATE */
    PH_CLAIM,    /* XAUTOCLAIM from dead consumers */
    PH_PENDING,  /* our own pending list, id 0 */
    PH_LIVE      /* new entries, `>` with BLOCK */
} phase;

struct s6_results {
    uv_loop_t *loop;
    s6_redis *cmd, *blk;
    uv_timer_t retry;
    s6_results_opts o;
    char stream[128], group[64], consumer[64];
    char cursor[ID_LEN];        /* XAUTOCLAIM's */
    uint64_t claimed_at;        /* loop ms of the last full reclaim */
    phase ph;
    bool closed;
    unsigned refs;              /* replies, barrier and the timer owed to us */
    /* the batch in flight */
    char (*ids)[ID_LEN];
    size_t n_ids;
    unsigned batch_waits;
    bool batch_ok;
    bool held_back;             /* on_result said S6_RESULTS_RETRY */
    bool current;               /* read to the stream's end since the last
                                   failure (opts.on_current) */
    char read_to[ID_LEN];       /* the last entry handled */
    s6_results_stats st;
};

static void step(s6_results *c);

static const char *comp = "results";

/* ---- lifetime: freed when closed and nothing is owed any more ---- */

static void unref(s6_results *c)
{
    if (--c->refs == 0 && c->closed) {
        free(c->ids);
        free(c);
    }
}

/* The callback side of every command: false when it must not go on. */
static bool reply_live(s6_results *c)
{
    bool live = !c->closed;
    unref(c);
    return live;
}

static void on_retry(uv_timer_t *t)
{
    step(t->data);
}

/* After any failure: start again from our pending list, so entries a lost
 * reply delivered (and never acknowledged) are read again. */
static void set_current(s6_results *c, bool current)
{
    if (c->current == current)
        return;
    c->current = current;
    if (c->o.on_current != NULL)
        c->o.on_current(c->o.current_ud, current);
}

static void retry_later(s6_results *c, phase from, const char *what,
                        const char *why)
{
    set_current(c, false);
    s6_log_warn(c->o.log, comp, "retrying", S6_LOG_STR("after", what),
                S6_LOG_STR("error", why),
                S6_LOG_STR("stream", c->stream));
    c->ph = from;
    uv_timer_start(&c->retry, on_retry, c->o.retry_ms, 0);
}

static int issue(s6_results *c, s6_redis *r, uint32_t extra_ms,
                 s6_redis_reply_cb cb, int argc, const char *const *argv)
{
    int rc = s6_bus_cmd(r, extra_ms, cb, c, argc, argv);
    if (rc == 0)
        c->refs++;
    return rc;
}

static bool reply_is_error(const redisReply *rep, const char *prefix)
{
    return rep && rep->type == REDIS_REPLY_ERROR &&
           strncmp(rep->str, prefix, strlen(prefix)) == 0;
}

/* Redis' own words for an error reply, else the client's. */
static const char *why_of(const redisReply *rep, int code)
{
    return rep && rep->type == REDIS_REPLY_ERROR ? rep->str
                                                  : s6_strerror(code);
}

/* ---- start-up: group, reclaim ---- */

/* The group's last-delivered-id: everything up to it was handed to some
 * consumer of the group, and was applied (acknowledged) or waits in a
 * pending list the reclaim and the pending read go through.  It is where
 * this consumer's reading starts (s6_results_read_to). */
static void on_info(s6_redis *r, const redisReply *rep, int code, void *ud)
{
    s6_results *c = ud;
    (void)r;
    if (!reply_live(c))
        return;
    if (code != 0 || rep->type != REDIS_REPLY_ARRAY) {
        retry_later(c, PH_GROUP, "XINFO GROUPS", why_of(rep, code));
        return;
    }
    for (size_t g = 0; g < rep->elements; g++) {
        const redisReply *grp = rep->element[g];
        const char *name = NULL, *last = NULL;
        for (size_t k = 0; grp->type == REDIS_REPLY_ARRAY &&
                           k + 1 < grp->elements; k += 2) {
            const redisReply *key = grp->element[k], *val = grp->element[k + 1];
            if (key->type != REDIS_REPLY_STRING ||
                val->type != REDIS_REPLY_STRING)
                continue;
            if (strcmp(key->str, "name") == 0)
                name = val->str;
            else if (strcmp(key->str, "last-delivered-id") == 0)
                last = val->str;
        }
        if (name && last && strcmp(name, c->group) == 0 &&
            strlen(last) < ID_LEN && s6_stream_id_cmp(last, c->read_to) > 0)
            strcpy(c->read_to, last);
    }
    c->ph = PH_CLAIM;
    strcpy(c->cursor, "0-0");
    step(c);
}

static void on_group(s6_redis *r, const redisReply *rep, int code, void *ud)
{
    s6_results *c = ud;
    (void)r;
    if (!reply_live(c))
        return;
    if (code != 0 && !reply_is_error(rep, "BUSYGROUP")) {
        retry_later(c, PH_GROUP, "XGROUP CREATE", why_of(rep, code));
        return;
    }
    const char *argv[] = { "XINFO", "GROUPS", c->stream };
    if (issue(c, c->cmd, 0, on_info, 3, argv) != 0)
        retry_later(c, PH_GROUP, "XINFO GROUPS", s6_strerror(S6_EDOWN));
}

static void on_claim(s6_redis *r, const redisReply *rep, int code, void *ud)
{
    s6_results *c = ud;
    (void)r;
    if (!reply_live(c))
        return;
    if (code != 0 || rep->type != REDIS_REPLY_ARRAY || rep->elements < 2 ||
        rep->element[0]->type != REDIS_REPLY_STRING ||
        rep->element[0]->len >= ID_LEN) {
        retry_later(c, reply_is_error(rep, "NOGROUP") ? PH_GROUP : PH_CLAIM,
                    "XAUTOCLAIM", why_of(rep, code));
        return;
    }
    size_t n = rep->element[1]->elements;
    c->st.reclaimed += n;
    if (n)
        s6_log_info(c->o.log, comp, "reclaimed pending results",
                    S6_LOG_INT("entries", (int64_t)n),
                    S6_LOG_STR("consumer", c->consumer));
    memcpy(c->cursor, rep->element[0]->str, rep->element[0]->len);
    c->cursor[rep->element[0]->len] = '\0';
    if (strcmp(c->cursor, "0-0") == 0) {
        c->ph = PH_PENDING;
        c->claimed_at = uv_now(c->loop);
    }
    step(c);
}

/* ---- a batch: deliver, barrier, then XACK ---- */

static void batch_settle(s6_results *c);
static void next_batch(s6_results *c);

static void batch_done_one(s6_results *c, bool ok)
{
    c->batch_ok &= ok;
    if (--c->batch_waits == 0)
        batch_settle(c);
}

static void on_dead_added(s6_redis *r, const redisReply *rep, int code,
                          void *ud)
{
    s6_results *c = ud;
    (void)r;
    (void)rep;
    if (!reply_live(c))
        return;
    if (code == 0)
        c->st.dead++;
    batch_done_one(c, code == 0);
}

static void on_barrier(void *ud, bool ok)
{
    s6_results *c = ud;
    if (!reply_live(c))
        return;
    if (!ok)
        c->st.barrier_failures++;
    batch_done_one(c, ok);
}

/* The entry cannot become valid: keep a copy with the reason, then it is
 * acknowledged with its batch. */
static void dead_letter(s6_results *c, const char *id, const char *why,
                        const s6_redis_kv *kv, size_t n)
{
    s6_log_error(c->o.log, comp, "result refused, dead-lettered",
                 S6_LOG_STR("id", id), S6_LOG_STR("error", why),
                 S6_LOG_STR("stream", c->stream));
    s6_redis_kv all[S6_BUS_KV_MAX + 3];
    all[0] = (s6_redis_kv){ "id", 2, id, strlen(id) };
    all[1] = (s6_redis_kv){ "error", 5, why, strlen(why) };
    all[2] = (s6_redis_kv){ "consumer", 8, c->consumer, strlen(c->consumer) };
    if (n)
        memcpy(all + 3, kv, n * sizeof *kv);
    char dead[sizeof c->stream + 8];
    snprintf(dead, sizeof dead, "%s:dead", c->stream);
    if (s6_redis_xadd(c->cmd, dead, "*", all, n + 3, on_dead_added, c) != 0) {
        c->batch_ok = false;
        return;
    }
    c->refs++;
    c->batch_waits++;
}

/* false: on_result asked to hold this entry (and the rest) back. */
static bool deliver(s6_results *c, const char *id, const redisReply *fields)
{
    s6_redis_kv kv[S6_BUS_KV_MAX];
    size_t n = 0;
    char err[256] = "";
    if (!fields || fields->type == REDIS_REPLY_NIL) {
        /* Trimmed from the stream while pending: nothing left to apply. */
        s6_log_warn(c->o.log, comp, "pending result no longer in the stream",
                    S6_LOG_STR("id", id));
        return true;
    }
    if (s6_bus_reply_kv(fields, kv, S6_BUS_KV_MAX, &n) != 0) {
        dead_letter(c, id, "entry fields are not string pairs", NULL, 0);
        return true;
    }
    s6_order_result res;
    if (s6_result_parse(kv, n, &res, err, sizeof err) != 0) {
        dead_letter(c, id, err, kv, n);
        return true;
    }
    c->st.delivered++;
    snprintf(res.stream_id, sizeof res.stream_id, "%s", id);
    int rc = c->o.on_result(c->o.result_ud, &res, err, sizeof err);
    if (rc == S6_RESULTS_RETRY) {
        c->st.held_back++;
        return false;
    }
    if (rc < 0)
        dead_letter(c, id, err[0] ? err : "refused by the engine", kv, n);
    return true;
}

/* [[stream, [[id, fields], ...]]] or nil → the entries array, or NULL. */
static const redisReply *entries_of(const redisReply *rep)
{
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 1)
        return NULL;
    const redisReply *s = rep->element[0];
    if (s->type != REDIS_REPLY_ARRAY || s->elements != 2 ||
        s->element[1]->type != REDIS_REPLY_ARRAY)
        return NULL;
    return s->element[1];
}

static void batch_run(s6_results *c, const redisReply *entries)
{
    c->n_ids = 0;
    c->held_back = false;
    c->batch_ok = true;
    c->batch_waits = 1; /* held until every entry is handed out */
    for (size_t i = 0; i < entries->elements && c->n_ids < c->o.count; i++) {
        const redisReply *e = entries->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
            e->element[0]->type != REDIS_REPLY_STRING ||
            e->element[0]->len >= ID_LEN)
            continue;
        char *id = c->ids[c->n_ids++];
        memcpy(id, e->element[0]->str, e->element[0]->len);
        id[e->element[0]->len] = '\0';
        bool go_on = deliver(c, id, e->element[1]);
        if (c->closed) /* on_result closed us */
            return;
        if (!go_on) { /* this one and the rest stay pending, in order */
            c->n_ids--;
            c->held_back = true;
            break;
        }
        if (s6_stream_id_cmp(id, c->read_to) > 0)
            snprintf(c->read_to, sizeof c->read_to, "%s", id);
    }
    c->refs++;
    c->batch_waits++;
    if (c->o.barrier(c->o.barrier_ud, on_barrier, c) != 0) {
        c->refs--;
        c->batch_waits--;
        c->batch_ok = false;
    }
    if (!c->closed)
        batch_done_one(c, true);
}

static void on_acked(s6_redis *r, const redisReply *rep, int code, void *ud)
{
    s6_results *c = ud;
    (void)r;
    if (!reply_live(c))
        return;
    if (code != 0) {
        retry_later(c, PH_PENDING, "XACK", why_of(rep, code));
        return;
    }
    c->st.acked += (uint64_t)rep->integer;
    next_batch(c);
}

static void batch_settle(s6_results *c)
{
    if (c->closed)
        return;
    if (!c->batch_ok) {
        retry_later(c, PH_PENDING, "barrier", "not durable");
        return;
    }
    if (c->n_ids == 0) {
        next_batch(c);
        return;
    }
    const char *argv[3 + c->n_ids];
    argv[0] = "XACK";
    argv[1] = c->stream;
    argv[2] = c->group;
    for (size_t i = 0; i < c->n_ids; i++)
        argv[3 + i] = c->ids[i];
    if (issue(c, c->cmd, 0, on_acked, (int)(3 + c->n_ids), argv) != 0)
        retry_later(c, PH_PENDING, "XACK", s6_strerror(S6_EDOWN));
}

static void on_read(s6_redis *r, const redisReply *rep, int code, void *ud)
{
    s6_results *c = ud;
    (void)r;
    if (!reply_live(c))
        return;
    if (code != 0) {
        retry_later(c, reply_is_error(rep, "NOGROUP") ? PH_GROUP : PH_PENDING,
                    "XREADGROUP", why_of(rep, code));
        return;
    }
    const redisReply *entries = rep->type == REDIS_REPLY_NIL ? NULL
                                                              : entries_of(rep);
    if (!entries || entries->elements == 0) {
        bool was_live = c->ph == PH_LIVE;
        if (c->ph == PH_PENDING) /* own backlog done: now new entries */
            c->ph = PH_LIVE;
        c->st.live = c->ph == PH_LIVE;
        if (was_live)
            set_current(c, true); /* a read of `>` found nothing more */
        if (c->closed)
            return;
        step(c);
        return;
    }
    batch_run(c, entries);
}

/* After a batch is settled: the next one, or a pause when on_result held
 * entries back. */
static void next_batch(s6_results *c)
{
    if (c->held_back)
        retry_later(c, PH_PENDING, "on_result", "held back");
    else
        step(c);
}

/* ---- the driver ---- */

/* Another instance may die while this one runs, or just before it
 * started (its entries not yet idle long enough): reclaim again every
 * min_idle_ms, between two reads. */
static void maybe_reclaim(s6_results *c)
{
    uint64_t now = uv_now(c->loop);
    if (c->ph != PH_LIVE || now - c->claimed_at < c->o.min_idle_ms)
        return;
    c->ph = PH_CLAIM;
    strcpy(c->cursor, "0-0");
}

static void step(s6_results *c)
{
    char count[16], block[16], idle[16];
    maybe_reclaim(c);
    snprintf(count, sizeof count, "%u", c->o.count);
    snprintf(block, sizeof block, "%u", c->o.block_ms);
    snprintf(idle, sizeof idle, "%u", c->o.min_idle_ms);
    int rc;
    const char *what;
    switch (c->ph) {
    case PH_GROUP: {
        const char *argv[] = { "XGROUP", "CREATE", c->stream, c->group, "0",
                               "MKSTREAM" };
        what = "XGROUP CREATE";
        rc = issue(c, c->cmd, 0, on_group, 6, argv);
        break;
    }
    case PH_CLAIM: {
        const char *argv[] = { "XAUTOCLAIM", c->stream, c->group, c->consumer,
                               idle, c->cursor, "COUNT", count, "JUSTID" };
        what = "XAUTOCLAIM";
        rc = issue(c, c->cmd, 0, on_claim, 9, argv);
        break;
    }
    case PH_PENDING: {
        const char *argv[] = { "XREADGROUP", "GROUP", c->group, c->consumer,
                               "COUNT", count, "STREAMS", c->stream, "0" };
        what = "XREADGROUP 0";
        rc = issue(c, c->blk, 0, on_read, 9, argv);
        break;
    }
    default: {
        /* Until the end of the stream is reached the reads do not block:
         * an empty answer then means "read to the end" (opts.on_current). */
        const char *argv[] = { "XREADGROUP", "GROUP", c->group, c->consumer,
                               "COUNT", count, "BLOCK", block, "STREAMS",
                               c->stream, ">" };
        const char *now[] = { "XREADGROUP", "GROUP", c->group, c->consumer,
                              "COUNT", count, "STREAMS", c->stream, ">" };
        what = "XREADGROUP >";
        rc = c->current
                 ? issue(c, c->blk, c->o.block_ms, on_read, 11, argv)
                 : issue(c, c->blk, 0, on_read, 9, now);
        break;
    }
    }
    if (rc != 0)
        retry_later(c, c->ph == PH_LIVE ? PH_PENDING : c->ph, what,
                    s6_strerror(rc));
}

static int copy_name(char *dst, size_t cap, const char *src, const char *dflt,
                     const char *field, char *err, size_t errlen)
{
    const char *v = src ? src : dflt;
    if (!v || !v[0] || strlen(v) >= cap) {
        snprintf(err, errlen, "results consumer: %s must be 1..%zu "
                 "characters", field, cap - 1);
        return S6_EINVAL;
    }
    strcpy(dst, v);
    return 0;
}

static void defaults(s6_results_opts *o)
{
    if (!o->count)
        o->count = 64;
    if (!o->block_ms)
        o->block_ms = 1000;
    if (!o->min_idle_ms)
        o->min_idle_ms = 30000;
    if (!o->retry_ms)
        o->retry_ms = 500;
}

int s6_results_start(uv_loop_t *loop, s6_redis *cmd,
                     const s6_results_opts *opts, s6_results **out,
                     char *err, size_t errlen)
{
    if (!loop || !cmd || !opts || !opts->on_result || !opts->barrier ||
        !opts->url) {
        snprintf(err, errlen, "results consumer: loop, cmd, url, on_result "
                 "and barrier are required");
        return S6_EINVAL;
    }
    s6_results *c = calloc(1, sizeof *c);
    if (!c)
        return S6_ENOMEM;
    c->o = *opts;
    defaults(&c->o);
    int rc = copy_name(c->stream, sizeof c->stream, opts->stream,
                       "ord:{results}", "stream", err, errlen);
    if (rc == 0)
        rc = copy_name(c->group, sizeof c->group, opts->group,
                       S6_RESULTS_GROUP, "group", err, errlen);
    if (rc == 0)
        rc = copy_name(c->consumer, sizeof c->consumer, opts->consumer, NULL,
                       "consumer", err, errlen);
    c->ids = rc == 0 ? calloc(c->o.count, sizeof *c->ids) : NULL;
    if (rc == 0 && !c->ids)
        rc = S6_ENOMEM;
    s6_redis_opts ro = { .log = opts->log, .name = "results-blocking" };
    if (rc == 0 &&
        s6_redis_open(loop, opts->url, &ro, &c->blk, err, errlen) != 0)
        rc = S6_EREDIS;
    if (rc != 0) {
        free(c->ids);
        free(c);
        return rc;
    }
    c->loop = loop;
    c->cmd = cmd;
    uv_timer_init(loop, &c->retry);
    c->retry.data = c;
    c->refs = 1; /* the timer, until its handle is closed */
    c->ph = PH_GROUP;
    step(c);
    *out = c;
    return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
    unref(h->data);
}

void s6_results_close(s6_results *c)
{
    if (!c || c->closed)
        return;
    c->closed = true;
    s6_redis_close(c->blk); /* its read fails at once, ECANCELED */
    uv_close((uv_handle_t *)&c->retry, on_timer_closed);
}

void s6_results_get_stats(const s6_results *c, s6_results_stats *st)
{
    *st = c->st;
}

const char *s6_results_read_to(const s6_results *c)
{
    return c->read_to;
}
