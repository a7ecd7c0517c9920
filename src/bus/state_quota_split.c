/*
 * Quotas on a Redis Cluster: risk:{budget} and risk:{concurrency} carry
 * different hash tags (the specification names them), so no one script
 * may touch both.  Each step is a script on one key:
 *
 *   reserve: budget (check and take), then concurrency (check and take);
 *            a refused concurrency gives the budget back.
 *   release: budget with its marker risk:{budget}:released:<id>, and
 *            concurrency with its own marker risk:{concurrency}:released:<id>;
 *            each step is a no-op the second time, so the batch is kept and
 *            sent again until both are confirmed, like a save.
 *
 * On one Redis the single atomic scripts of state.c stay in use.
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/fields.h"
#include "bus/internal.h"

static const char *comp = "state";

/* KEYS[1] a quota hash; ARGV: amount, 'f' (float) or 'i'.  1 taken, 0 not. */
static const char take_lua[] =
    "local a = tonumber(ARGV[1])\n"
    "if a <= 0 then return 1 end\n"
    "local u = tonumber(redis.call('HGET', KEYS[1], 'used') or '0')\n"
    "local l = tonumber(redis.call('HGET', KEYS[1], 'limit') or '0')\n"
    "if ARGV[2] == 'f' then\n"
    "  if u + a > l + 1e-9 then return 0 end\n"
    "  redis.call('HINCRBYFLOAT', KEYS[1], 'used', ARGV[1])\n"
    "else\n"
    "  if u + a > l then return 0 end\n"
    "  redis.call('HINCRBY', KEYS[1], 'used', ARGV[1])\n"
    "end\n"
    "return 1\n";

/* KEYS: a quota hash, its marker; ARGV: minus the amount, the marker's
 * value, 'f' or 'i'.  Clamped at 0; 0 when the marker was already set. */
static const char give_lua[] =
    "if not redis.call('SET', KEYS[2], ARGV[2], 'NX') then return 0 end\n"
    "if tonumber(ARGV[1]) < 0 then\n"
    "  local u\n"
    "  if ARGV[3] == 'f' then\n"
    "    u = tonumber(redis.call('HINCRBYFLOAT', KEYS[1], 'used', ARGV[1]))\n"
    "  else u = redis.call('HINCRBY', KEYS[1], 'used', ARGV[1]) end\n"
    "  if u < 1e-9 then redis.call('HSET', KEYS[1], 'used', '0') end\n"
    "end\n"
    "return 1\n";

typedef struct split_reserve {
    s6_state *s;
    void (*done)(void *cb_ud, bool ok);
    void *cb_ud;
    char pos_id[S6_POS_ID_MAX + 1];
    char b[S6_BUS_NUM_LEN], c[16];
} split_reserve;

static bool took(s6_state *s, const redisReply *rep, int code)
{
    return s6_state_account(s, rep, code) &&
           rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
}

static void reserve_end(split_reserve *x, bool ok, const char *refused)
{
    s6_state *s = x->s;
    if (refused) {
        s->st.reserves_refused++;
        s6_log_warn(s->o.log, comp, "quota reservation refused",
                    S6_LOG_STR("pos_id", x->pos_id),
                    S6_LOG_STR("limit", refused));
    }
    s->st.reserves_ok += ok;
    if (!s->closed)
        x->done(x->cb_ud, ok);
    free(x);
}

static void on_plain(s6_redis *r, const redisReply *rep, int code, void *ud)
{
    (void)r;
    s6_state_account(ud, rep, code);
    s6_state_unref(ud);
}

/* A refused or failed concurrency step gives the budget back; a lost
 * reply to this leaves it taken (logged). */
static void give_back(split_reserve *x)
{
    s6_state *s = x->s;
    if (strcmp(x->b, "0") == 0)
        return;
    char neg[S6_BUS_NUM_LEN + 1];
    snprintf(neg, sizeof neg, "-%s", x->b);
    const char *argv[] = { "HINCRBYFLOAT", S6_QUOTA_BUDGET_KEY, "used", neg };
    if (s6_state_send(s, on_plain, s, 4, argv) != 0)
        s6_log_error(s->o.log, comp, "quota budget not given back",
                     S6_LOG_STR("pos_id", x->pos_id),
                     S6_LOG_STR("amount", x->b));
}

static bool answered(const redisReply *rep, int code)
{
    return code == 0 && rep && rep->type == REDIS_REPLY_INTEGER;
}

static void on_concurrency(s6_redis *r, const redisReply *rep, int code,
                           void *ud)
{
    split_reserve *x = ud;
    s6_state *s = x->s;
    (void)r;
    bool ok = took(s, rep, code);
    if (!ok)
        give_back(x);
    reserve_end(x, ok, !ok && answered(rep, code) ? "concurrency" : NULL);
    s6_state_unref(s);
}

static void on_budget(s6_redis *r, const redisReply *rep, int code, void *ud)
{
    split_reserve *x = ud;
    s6_state *s = x->s;
    (void)r;
    if (!took(s, rep, code)) {
        reserve_end(x, false, answered(rep, code) ? "budget" : NULL);
    } else {
        const char *argv[] = { "EVAL", take_lua, "1",
                               S6_QUOTA_CONCURRENCY_KEY, x->c, "i" };
        if (s6_state_send(s, on_concurrency, x, 6, argv) != 0) {
            give_back(x);
            reserve_end(x, false, NULL);
        }
    }
    s6_state_unref(s);
}

int s6_state_reserve_split(s6_state *s, const char *pos_id, const char *b,
                           const char *c, void (*done)(void *cb_ud, bool ok),
                           void *cb_ud)
{
    split_reserve *x = calloc(1, sizeof *x);
    if (!x)
        return S6_ENOMEM;
    *x = (split_reserve){ .s = s, .done = done, .cb_ud = cb_ud };
    snprintf(x->pos_id, sizeof x->pos_id, "%s", pos_id);
    snprintf(x->b, sizeof x->b, "%s", b);
    snprintf(x->c, sizeof x->c, "%s", c);
    const char *argv[] = { "EVAL", take_lua, "1", S6_QUOTA_BUDGET_KEY, x->b,
                           "f" };
    int rc = s6_state_send(s, on_budget, x, 6, argv);
    if (rc != 0)
        free(x);
    return rc;
}

/* Both steps in one kept batch; the budget's answer comes first. */
int s6_state_release_split(s6_state *s, st_batch *bt, const char *pos_id,
                           const char *neg_b, const char *neg_c,
                           const char *when)
{
    char bm[KEY_MAX], cm[KEY_MAX];
    int rc = s6_state_key(bm, S6_QUOTA_BUDGET_KEY ":released:%s", pos_id);
    if (rc == 0)
        rc = s6_state_key(cm, S6_QUOTA_CONCURRENCY_KEY ":released:%s", pos_id);
    const char *b[] = { "EVAL", give_lua, "2", S6_QUOTA_BUDGET_KEY, bm,
                        neg_b, when, "f" };
    const char *c[] = { "EVAL", give_lua, "2", S6_QUOTA_CONCURRENCY_KEY, cm,
                        neg_c, when, "i" };
    if (rc == 0)
        rc = s6_state_batch_add(bt, 8, b);
    if (rc == 0)
        rc = s6_state_batch_add(bt, 8, c);
    (void)s;
    return rc;
}
