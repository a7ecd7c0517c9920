#include "bus/md_codec.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "contract/names.h"

static int parse_optional(const s6_bus_in *in, const s6_md_regimes *rg,
                          s6_market_update *u, char *err, size_t errlen)
{
    int rc = s6_bus_get_num(in, "last", false, DBL_MIN, DBL_MAX, &u->last,
                            err, errlen);
    if (rc == 0)
        rc = s6_bus_get_num(in, "mid", false, DBL_MIN, DBL_MAX, &u->mid, err,
                            errlen);
    if (rc == 0)
        rc = s6_bus_get_num(in, "atr", false, 0, DBL_MAX, &u->atr, err,
                            errlen);
    if (rc == 0)
        rc = s6_bus_get_num(in, "health", false, 0, 1, &u->health, err,
                            errlen);
    if (rc == 0)
        rc = s6_bus_get_enum(in, "regime", false, rg ? rg->names : NULL,
                             rg ? rg->n : 0, &u->regime, err, errlen);
    return rc;
}

int s6_md_update_parse(const s6_redis_kv *kv, size_t n,
                       const s6_md_regimes *regimes, const char *what,
                       s6_md_update *out, char *err, size_t errlen)
{
    s6_bus_in in = { .kv = kv, .n = n,
                     .what = what ? what : S6_MD_PRICES_STREAM };
    s6_md_update m = { .u = { .regime = -1, .health = NAN } };
    int rc = s6_bus_in_check(&in, err, errlen);
    if (rc == 0)
        rc = s6_bus_get_str(&in, "symbol", true, m.symbol, sizeof m.symbol,
                            err, errlen);
    if (rc == 0)
        rc = s6_bus_get_enum(&in, "market", true, s6_market_names, 2,
                             &m.market, err, errlen);
    if (rc == 0)
        rc = s6_bus_get_num(&in, "mark", true, DBL_MIN, DBL_MAX, &m.u.mark,
                            err, errlen);
    if (rc == 0)
        rc = s6_bus_get_num(&in, "ts", true, DBL_MIN, DBL_MAX, &m.u.ts, err,
                            errlen);
    if (rc == 0)
        rc = parse_optional(&in, regimes, &m.u, err, errlen);
    if (rc == 0)
        *out = m;
    return rc;
}

static int format_fail(const char *what, const char *symbol, char *err,
                       size_t errlen)
{
    if (err && errlen)
        snprintf(err, errlen, "%s: entry for '%s' cannot be written (market, "
                 "side, regime or a number out of range)", what, symbol);
    return S6_EINVAL;
}

int s6_md_update_format(const s6_md_update *m, const s6_md_regimes *regimes,
                        s6_bus_out *o, char *err, size_t errlen)
{
    const s6_market_update *u = &m->u;
    s6_bus_out_init(o);
    int rc = s6_bus_out_str(o, "symbol", m->symbol, false);
    rc |= s6_bus_out_str(o, "market", s6_market_name(m->market), false);
    rc |= s6_bus_out_num(o, "mark", u->mark);
    if (u->last > 0)
        rc |= s6_bus_out_num(o, "last", u->last);
    if (u->mid > 0)
        rc |= s6_bus_out_num(o, "mid", u->mid);
    if (u->atr > 0)
        rc |= s6_bus_out_num(o, "atr", u->atr);
    if (u->regime >= 0)
        rc |= s6_bus_out_str(o, "regime",
                             regimes && (size_t)u->regime < regimes->n
                                 ? regimes->names[u->regime] : NULL, false);
    if (!isnan(u->health))
        rc |= s6_bus_out_num(o, "health", u->health);
    rc |= s6_bus_out_num(o, "ts", u->ts);
    if (rc != 0)
        return format_fail(S6_MD_PRICES_STREAM, m->symbol, err, errlen);
    s6_md_update back;
    return s6_md_update_parse(o->kv, o->n, regimes, S6_MD_PRICES_STREAM,
                              &back, err, errlen);
}

int s6_md_signal_parse(const s6_redis_kv *kv, size_t n, s6_md_signal *out,
                       char *err, size_t errlen)
{
    s6_bus_in in = { .kv = kv, .n = n, .what = S6_MD_SIGNALS_STREAM };
    s6_md_signal s = { .market = 0 };
    int side_idx = -1;
    int rc = s6_bus_in_check(&in, err, errlen);
    if (rc == 0)
        rc = s6_bus_get_str(&in, "symbol", true, s.symbol, sizeof s.symbol,
                            err, errlen);
    if (rc == 0)
        rc = s6_bus_get_enum(&in, "market", true, s6_market_names, 2,
                             &s.market, err, errlen);
    if (rc == 0)
        rc = s6_bus_get_enum(&in, "side", true, s6_side_names, 2,
                             &side_idx, err, errlen);
    if (rc == 0)
        rc = s6_bus_get_num(&in, "strength", true, 0, 1, &s.strength, err,
                            errlen);
    if (rc == 0)
        rc = s6_bus_get_num(&in, "ts", true, DBL_MIN, DBL_MAX, &s.ts, err,
                            errlen);
    if (rc != 0)
        return rc;
    s.side = s6_side_of_index(side_idx);
    *out = s;
    return 0;
}

int s6_md_signal_format(const s6_md_signal *s, s6_bus_out *o, char *err,
                        size_t errlen)
{
    s6_bus_out_init(o);
    int rc = s6_bus_out_str(o, "symbol", s->symbol, false);
    rc |= s6_bus_out_str(o, "market", s6_market_name(s->market), false);
    rc |= s6_bus_out_str(o, "side", s6_side_name(s->side), false);
    rc |= s6_bus_out_num(o, "strength", s->strength);
    rc |= s6_bus_out_num(o, "ts", s->ts);
    if (rc != 0)
        return format_fail(S6_MD_SIGNALS_STREAM, s->symbol, err, errlen);
    s6_md_signal back;
    return s6_md_signal_parse(o->kv, o->n, &back, err, errlen);
}

int s6_md_last_key(int market, const char *symbol, char *out, size_t cap)
{
    const char *m = s6_market_name(market);
    if (!m || !symbol || !symbol[0])
        return S6_EINVAL;
    int len = snprintf(out, cap, S6_MD_LAST_PREFIX "%s:%s", m, symbol);
    return len < 0 || (size_t)len >= cap ? S6_ERANGE : 0;
}
