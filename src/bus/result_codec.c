#include "bus/result_codec.h"

#include <float.h>
#include <stdio.h>
#include <string.h>

#include "contract/names.h"

static const char *const kind_names[S6_RES_KIND_COUNT] = {
    [S6_RES_ACCEPTED] = "ACCEPTED", [S6_RES_FILL] = "FILL",
    [S6_RES_REJECTED] = "REJECTED", [S6_RES_CANCELED] = "CANCELED",
    [S6_RES_FUNDING] = "FUNDING",
};

static const char *const fill_names[] = {
    [S6_FILL_ENTRY] = "ENTRY",   [S6_FILL_ADD] = "ADD",
    [S6_FILL_REDUCE] = "REDUCE", [S6_FILL_CLOSE] = "CLOSE",
    [S6_FILL_STOP] = "STOP",     [S6_FILL_LIQUIDATION] = "LIQUIDATION",
    [S6_FILL_ADL] = "ADL",       [S6_FILL_MANUAL] = "MANUAL",
};
#define N_FILL_NAMES (sizeof fill_names / sizeof fill_names[0])

static const char *const fee_assets[] = { "QUOTE", "BASE" };

static const char *const code_names[S6_RCODE_COUNT] = {
    [S6_RCODE_INSUFFICIENT_BALANCE] = "INSUFFICIENT_BALANCE",
    [S6_RCODE_REDUCE_ONLY_REJECTED] = "REDUCE_ONLY_REJECTED",
    [S6_RCODE_UNKNOWN] = "UNKNOWN",
};

/* An older S4 names the cause only in its words: the codes it can mean,
 * by the text S4 and the paper venue use for them. */
static const struct {
    const char *text;
    int code;
} codes_in_reason[] = {
    { "insufficient_balance", S6_RCODE_INSUFFICIENT_BALANCE },
    { "reduce_only_rejected", S6_RCODE_REDUCE_ONLY_REJECTED },
};

static const char *name_at(const char *const *t, size_t n, int i)
{
    return i >= 0 && (size_t)i < n ? t[i] : NULL;
}

const char *s6_result_kind_name(int kind)
{
    return name_at(kind_names, S6_RES_KIND_COUNT, kind);
}

const char *s6_fill_kind_name(int kind)
{
    return name_at(fill_names, N_FILL_NAMES, kind);
}

const char *s6_result_code_name(int code)
{
    return name_at(code_names, S6_RCODE_COUNT, code);
}

static int code_of_name(const char *name)
{
    for (int i = 1; i < S6_RCODE_COUNT; i++)
        if (strcmp(name, code_names[i]) == 0)
            return i;
    return S6_RCODE_UNKNOWN;
}

static int code_of_reason(const s6_order_result *r)
{
    if (r->kind != S6_RES_REJECTED && r->kind != S6_RES_CANCELED)
        return S6_RCODE_NONE;
    for (size_t i = 0; i < sizeof codes_in_reason / sizeof *codes_in_reason;
         i++)
        if (strstr(r->reason, codes_in_reason[i].text) != NULL)
            return codes_in_reason[i].code;
    return S6_RCODE_NONE;
}

/* Like reason, never refused: a code this S6 does not know reads as
 * UNKNOWN, so a newer S4 cannot dead-letter its rejections. */
static void parse_code(const s6_bus_in *in, s6_order_result *r)
{
    char name[32];
    s6_bus_get_text(in, "code", name, sizeof name);
    r->code = name[0] ? code_of_name(name) : code_of_reason(r);
}

/* The order's own fields: present on any kind, required for a fill. */
static int parse_order(const s6_bus_in *in, s6_order_result *r, char *err,
                       size_t errlen)
{
    bool fill = r->kind == S6_RES_FILL;
    int side_idx = -1, fee_asset = 0;
    int rc = s6_bus_get_enum(in, "side", fill, s6_side_names, 2,
                             &side_idx, err, errlen);
    if (rc == 0)
        rc = s6_bus_get_enum(in, "fill_kind", fill, fill_names, N_FILL_NAMES,
                             &r->fill.kind, err, errlen);
    if (rc == 0)
        rc = s6_bus_get_num(in, "qty", fill, fill ? DBL_MIN : 0, DBL_MAX,
                            &r->fill.qty, err, errlen);
    if (rc == 0)
        rc = s6_bus_get_num(in, "price", fill, fill ? DBL_MIN : 0, DBL_MAX,
                            &r->fill.price, err, errlen);
    if (rc == 0)
        rc = s6_bus_get_num(in, "fee", false, 0, DBL_MAX, &r->fill.fee, err,
                            errlen);
    if (rc == 0)
        rc = s6_bus_get_enum(in, "fee_asset", false, fee_assets, 2,
                             &fee_asset, err, errlen);
    if (rc != 0)
        return rc;
    r->fill.side = s6_side_of_index(side_idx);
    r->fill.fee_in_base = fee_asset == 1;
    if (fill) { /* the fill is what the engine's position applies alone */
        r->fill.ts = r->ts;
        memcpy(r->fill.result_id, r->result_id, sizeof r->fill.result_id);
        memcpy(r->fill.intent_id, r->intent_id, sizeof r->fill.intent_id);
    }
    return 0;
}

static int parse_extras(const s6_bus_in *in, s6_order_result *r, char *err,
                        size_t errlen)
{
    s6_bus_get_text(in, "reason", r->reason, sizeof r->reason);
    parse_code(in, r);
    int rc = s6_bus_get_num(in, "sl_px", false, 0, DBL_MAX, &r->sl_px, err,
                            errlen);
    if (rc == 0)
        rc = s6_bus_get_num(in, "leverage", false, 0, 1000, &r->leverage,
                            err, errlen);
    if (rc == 0)
        rc = s6_bus_get_num(in, "risk_reserved", false, 0, DBL_MAX,
                            &r->risk_reserved, err, errlen);
    if (rc == 0)
        rc = s6_bus_get_int(in, "concurrency_reserved", false, 0, 1000000,
                            &r->concurrency_reserved, err, errlen);
    bool funding = r->kind == S6_RES_FUNDING;
    if (rc == 0)
        rc = s6_bus_get_num(in, "amount", funding, -DBL_MAX, DBL_MAX,
                            &r->funding_amount, err, errlen);
    if (rc == 0)
        rc = s6_bus_get_num(in, "rate", funding, -1, 1, &r->funding_rate, err,
                            errlen);
    return rc;
}

static int parse_ids(const s6_bus_in *in, s6_order_result *r, char *err,
                     size_t errlen)
{
    int rc = s6_bus_get_str(in, "result_id", true, r->result_id,
                            sizeof r->result_id, err, errlen);
    if (rc == 0)
        rc = s6_bus_get_enum(in, "kind", true, kind_names, S6_RES_KIND_COUNT,
                             &r->kind, err, errlen);
    if (rc == 0)
        rc = s6_bus_get_str(in, "intent_id", false, r->intent_id,
                            sizeof r->intent_id, err, errlen);
    if (rc == 0)
        rc = s6_bus_get_str(in, "pos_id", false, r->pos_id, sizeof r->pos_id,
                            err, errlen);
    if (rc == 0)
        rc = s6_bus_get_str(in, "symbol", true, r->symbol, sizeof r->symbol,
                            err, errlen);
    if (rc == 0)
        rc = s6_bus_get_enum(in, "market", true, s6_market_names, 2,
                             &r->market, err, errlen);
    if (rc == 0)
        rc = s6_bus_get_num(in, "ts", false, 0, DBL_MAX, &r->ts, err, errlen);
    return rc;
}

int s6_result_parse(const s6_redis_kv *kv, size_t n, s6_order_result *out,
                    char *err, size_t errlen)
{
    s6_bus_in in = { .kv = kv, .n = n, .what = S6_RESULTS_STREAM };
    s6_order_result r;
    memset(&r, 0, sizeof r);
    int rc = s6_bus_in_check(&in, err, errlen);
    if (rc == 0)
        rc = parse_ids(&in, &r, err, errlen);
    if (rc == 0)
        rc = parse_order(&in, &r, err, errlen);
    if (rc == 0)
        rc = parse_extras(&in, &r, err, errlen);
    if (rc != 0) {
        memset(out, 0, sizeof *out);
        return rc;
    }
    *out = r;
    return 0;
}

static int format_fill(const s6_order_result *r, s6_bus_out *o)
{
    const s6_fill *f = &r->fill;
    int rc = 0;
    if (f->side)
        rc |= s6_bus_out_str(o, "side", s6_side_name(f->side), false);
    if (f->kind)
        rc |= s6_bus_out_str(o, "fill_kind", s6_fill_kind_name(f->kind),
                             false);
    if (f->qty > 0 || r->kind == S6_RES_FILL)
        rc |= s6_bus_out_num(o, "qty", f->qty);
    if (f->price > 0 || r->kind == S6_RES_FILL)
        rc |= s6_bus_out_num(o, "price", f->price);
    if (f->fee > 0) {
        rc |= s6_bus_out_num(o, "fee", f->fee);
        rc |= s6_bus_out_str(o, "fee_asset", fee_assets[f->fee_in_base],
                             false);
    }
    return rc;
}

static int format_extras(const s6_order_result *r, s6_bus_out *o)
{
    int rc = s6_bus_out_str(o, "reason", r->reason, true);
    if (r->code != S6_RCODE_NONE)
        rc |= s6_bus_out_str(o, "code", s6_result_code_name(r->code), false);
    if (r->sl_px > 0)
        rc |= s6_bus_out_num(o, "sl_px", r->sl_px);
    if (r->leverage > 0)
        rc |= s6_bus_out_num(o, "leverage", r->leverage);
    if (r->risk_reserved > 0)
        rc |= s6_bus_out_num(o, "risk_reserved", r->risk_reserved);
    if (r->concurrency_reserved > 0)
        rc |= s6_bus_out_int(o, "concurrency_reserved",
                             r->concurrency_reserved);
    if (r->kind == S6_RES_FUNDING) {
        rc |= s6_bus_out_num(o, "amount", r->funding_amount);
        rc |= s6_bus_out_num(o, "rate", r->funding_rate);
    }
    rc |= s6_bus_out_num(o, "ts", r->ts);
    return rc;
}

int s6_result_format(const s6_order_result *r, s6_bus_out *o, char *err,
                     size_t errlen)
{
    s6_bus_out_init(o);
    int rc = s6_bus_out_str(o, "result_id", r->result_id, false);
    rc |= s6_bus_out_str(o, "kind", s6_result_kind_name(r->kind), false);
    rc |= s6_bus_out_str(o, "intent_id", r->intent_id, true);
    rc |= s6_bus_out_str(o, "pos_id", r->pos_id, true);
    rc |= s6_bus_out_str(o, "symbol", r->symbol, false);
    rc |= s6_bus_out_str(o, "market", s6_market_name(r->market), false);
    rc |= format_fill(r, o);
    rc |= format_extras(r, o);
    /* The writer keeps the reader's promise: what it writes parses. */
    s6_order_result back;
    if (rc != 0) {
        snprintf(err, errlen, "%s: result '%s' cannot be written (kind, "
                 "market, side or a number out of range)",
                 S6_RESULTS_STREAM, r->result_id);
        return S6_EINVAL;
    }
    return s6_result_parse(o->kv, o->n, &back, err, errlen);
}
