/*
 * paper_mode.c — the service with the paper venue in S4's place: its
 * results go through ord:{results} like S4's, the recorded prices drive it,
 * and the example positions open on a fresh book (docs/contracts/paper.md).
 */
#include <stdio.h>
#include <string.h>

#include "app/internal.h"
#include "bus/fields.h"
#include "bus/result_codec.h"

enum { PAPER_PUMP_MS = 10 };

static void on_written(s6_redis *r, const struct redisReply *reply, int code,
                       void *ud)
{
    (void)r;
    (void)reply;
    s6_service *svc = ud;
    if (code != 0)
        s6_log_error(svc->log, "paper", "cannot publish an order result",
                     S6_LOG_STR("error", s6_strerror(code)));
}

static void paper_result(void *ud, const s6_order_result *res)
{
    s6_service *svc = ud;
    s6_bus_out out;
    char err[160];
    if (s6_result_format(res, &out, err, sizeof err) < 0 ||
        s6_redis_xadd(svc->redis, "ord:{results}", "*", out.kv, out.n,
                      on_written, svc) < 0)
        s6_log_error(svc->log, "paper", "order result not published",
                     S6_LOG_STR("result_id", res->result_id),
                     S6_LOG_STR("error", err));
}

void s6_svc_paper_publish_balances(s6_service *svc)
{
    s6_paper_balances b;
    s6_paper_get_balances(svc->paper, &b);
    s6_bus_out out;
    s6_bus_out_init(&out);
    s6_bus_out_num(&out, "spot_free", b.spot_free);
    s6_bus_out_num(&out, "fut_free", b.fut_free);
    s6_bus_out_num(&out, "ts", s6_clock_wall_s());
    s6_redis_hset(svc->redis, "treasury:balances", out.kv, out.n, on_written,
                  svc);
}

/* Paper mode stands in for the upstream risk service too: the config's
 * budget and concurrency become the quota limits when nobody has set them
 * (HSETNX), so the demo's add-ons can reserve.  A real deployment's risk
 * service owns these keys and S6 leaves them alone. */
static void seed_quota_limits(s6_service *svc)
{
    char budget[32], slots[16];
    snprintf(budget, sizeof budget, "%.8g", svc->cfg->risk.budget);
    snprintf(slots, sizeof slots, "%u", svc->cfg->risk.max_concurrent_positions);
    const char *b[] = { "HSETNX", "risk:{budget}", "limit", budget };
    const char *c[] = { "HSETNX", "risk:{concurrency}", "limit", slots };
    if (s6_bus_cmd(svc->redis, 0, on_written, svc, 4, b) != 0 ||
        s6_bus_cmd(svc->redis, 0, on_written, svc, 4, c) != 0)
        s6_log_error(svc->log, "paper", "quota limits not seeded");
}

static void on_pump(uv_timer_t *t)
{
    s6_service *svc = t->data;
    if (s6_paper_next_due(svc->paper) <= s6_clock_wall_s())
        s6_paper_pump(svc->paper);
}

/* The example positions open once, on a book that has none, each when the
 * paper venue has seen its symbol's first mark (a venue cannot fill a
 * market order without a price). */
static void load_start_positions(s6_service *svc)
{
    const char *path = svc->cfg->paper.positions;
    s6_engine_status st;
    s6_engine_get_status(svc->engine, &st);
    if (path == NULL || path[0] == '\0' || st.positions > 0)
        return;
    char err[256] = "";
    if (s6_paper_entries_load(path, svc->cfg, &svc->entries,
                              &svc->n_entries, err, sizeof err) < 0) {
        s6_log_error(svc->log, "paper", "start positions not opened",
                     S6_LOG_STR("file", path), S6_LOG_STR("error", err));
        return;
    }
    s6_log_info(svc->log, "paper", "start positions open at the first "
                "price of their symbol", S6_LOG_STR("file", path),
                S6_LOG_INT("count", (long long)svc->n_entries));
}

static void open_start_positions(s6_service *svc, const char *symbol,
                                 int market)
{
    for (size_t i = 0; i < svc->n_entries; i++) {
        s6_paper_entry *e = &svc->entries[i];
        if (e->symbol[0] == '\0' || e->market != market ||
            strcmp(e->symbol, symbol) != 0)
            continue;
        char err[256] = "";
        if (s6_paper_open(svc->paper, e, err, sizeof err) < 0)
            s6_log_error(svc->log, "paper", "start position refused",
                         S6_LOG_STR("pos_id", e->pos_id),
                         S6_LOG_STR("error", err));
        e->symbol[0] = '\0'; /* sent (or refused): never twice */
    }
}

/* A stop the paper venue triggers on this mark is a fill the engine learns
 * of through ord:{results}, as from a real venue. */
void s6_svc_paper_mark(s6_service *svc, const char *symbol, int market,
                       double mark)
{
    s6_paper_mark(svc->paper, symbol, market, mark);
    open_start_positions(svc, symbol, market);
}

void s6_svc_paper_start(s6_service *svc)
{
    const s6_config *cfg = svc->cfg;
    char err[256] = "";
    uv_timer_start(&svc->pump, on_pump, PAPER_PUMP_MS, PAPER_PUMP_MS);
    s6_price_pub_opts po = {
        .dir = cfg->replay.dir, .speed = cfg->replay.speed,
        .atr_bar_s = cfg->replay.atr_bar_s,
        .regimes = (const char *const *)cfg->rules.regimes.v,
        .n_regimes = cfg->rules.regimes.n, .log = svc->log,
    };
    /* Sharded: one replay for all, from shard 0's holder. */
    if (cfg->shard.index == 0 &&
        s6_price_pub_start(svc->loop, svc->redis, &po, &svc->pub, err,
                           sizeof err) < 0)
        s6_log_error(svc->log, "replay", "no price replay",
                     S6_LOG_STR("error", err));
    seed_quota_limits(svc);
    load_start_positions(svc);
    s6_svc_paper_publish_balances(svc);
}

/* The paper venue is this process: after a restart it is empty while the
 * exchange it stands for would still hold the positions, so the restored
 * ones go back into its book (their stops are re-armed on resume). */
void s6_svc_paper_restore(s6_service *svc, const s6_engine_record *recs,
                          size_t n)
{
    for (size_t i = 0; svc->paper != NULL && i < n; i++) {
        const s6_position *p = &recs[i].pos;
        char err[200] = "";
        if (p->state == S6_POS_CLOSED || !(p->qty > 0))
            continue;
        if (s6_paper_restore(svc->paper, p->symbol, p->market, p->side,
                             p->qty, p->entry, p->leverage, err,
                             sizeof err) < 0)
            s6_log_error(svc->log, "paper", "position not restored in the "
                         "paper book", S6_LOG_STR("pos_id", p->id),
                         S6_LOG_STR("error", err));
    }
}

int s6_svc_paper_open(s6_service *svc, s6_router *router, char *err,
                      size_t errlen)
{
    s6_paper_opts po;
    s6_paper_opts_from_config(svc->cfg, &po);
    po.clock = (s6_clock){ s6_clock_wall_now, NULL };
    po.on_result = paper_result;
    po.result_ud = svc;
    /* Result ids must not repeat across restarts (the engine refuses an
     * id it has applied): the start time makes this run's prefix. */
    snprintf(po.result_prefix, sizeof po.result_prefix, "p%llx",
             (unsigned long long)s6_clock_wall_s());
    int rc = s6_paper_new(svc->cfg, &po, &svc->paper, err, errlen);
    if (rc == 0)
        *router = s6_paper_router(svc->paper);
    return rc;
}
