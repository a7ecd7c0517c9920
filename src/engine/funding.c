/*
 * funding.c — funding payments on ord:{results} (kind FUNDING): the
 * exchange settles them into a FUT position's isolated wallet, so they
 * move its margin and its realized PnL, today's included (the daily loss
 * limit counts them); docs/engine.md, "Funding".
 */
#include <stdio.h>

#include "engine/internal.h"

int e_on_funding(s6_engine *e, const s6_order_result *r, char *err,
                 size_t errlen)
{
    e_pos *p = e_find_open(e, S6_MARKET_FUT, r->symbol);
    if (r->market != S6_MARKET_FUT || p == NULL) {
        /* nothing of ours pays it: the venue's, not a refusal */
        s6_log_info(e->log, "engine", "funding for no open position",
                    S6_LOG_STR("result_id", r->result_id),
                    S6_LOG_STR("symbol", r->symbol));
        return 0;
    }
    bool dup = false;
    char why[96] = "";
    if (s6_position_apply_funding(&p->rec.pos, r->result_id, r->funding_amount,
                                  &dup, why, sizeof why) != 0)
        return e_fail(err, errlen, -EINVAL, "funding: %s", why);
    if (dup)
        return 0;
    e_day_pnl(e, &e->mkts[p->mkt], r->funding_amount);
    e_daily_loss_watch(e, p);
    e_event(e, p, "FUNDING", r->funding_amount, "", "{s:s,s:f,s:f,s:f,s:f}",
            "result_id", r->result_id, "amount", r->funding_amount, "rate",
            r->funding_rate, "margin", p->rec.pos.margin, "realized_pnl",
            p->rec.pos.realized_pnl);
    e_save(e, p);
    e_snapshot(e, p);
    return 0;
}
