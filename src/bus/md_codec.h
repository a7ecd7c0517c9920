/*
 * md_codec.h — market updates and strategy signals <-> the fields of
 * `md:prices`, `md:last:<market>:<symbol>` and `strategy:signals`
 * (docs/contracts/market-data.md).
 *
 * The regime travels as a name; the engine wants an index into config
 * rules.regimes, so parse and format take that names list.
 */
#pragma once

#include <stddef.h>

#include "core/s6_errors.h"
#include "engine/edges.h"
#include "bus/fields.h"

#define S6_MD_PRICES_STREAM "md:prices"
#define S6_MD_SIGNALS_STREAM "strategy:signals"
#define S6_MD_LAST_PREFIX "md:last:"

typedef struct s6_md_update {
    char symbol[S6_SYMBOL_MAX + 1];
    int market;               /* S6_MARKET_* */
    s6_market_update u;
} s6_md_update;

typedef struct s6_md_signal {
    char symbol[S6_SYMBOL_MAX + 1];
    int market;
    int side;                 /* +1 BUY, -1 SELL */
    double strength;          /* 0..1 */
    double ts;
} s6_md_signal;

typedef struct s6_md_regimes {
    const char *const *names; /* config rules.regimes, index 0 the default */
    size_t n;
} s6_md_regimes;

/* One md:prices entry or md:last hash.  Required: symbol, market, mark > 0,
 * ts > 0.  Optional: last, mid (> 0; absent 0 = use mark), atr (>= 0;
 * absent 0 = unknown), regime (a known name; absent -1 = unchanged),
 * health (0..1; absent NaN = unchanged).  what: the stream or key for
 * messages.  On error *out is untouched and err names the field. */
int s6_md_update_parse(const s6_redis_kv *kv, size_t n,
                       const s6_md_regimes *regimes, const char *what,
                       s6_md_update *out, char *err, size_t errlen);
int s6_md_update_format(const s6_md_update *m, const s6_md_regimes *regimes,
                        s6_bus_out *out, char *err, size_t errlen);

/* One strategy:signals entry: every field required. */
int s6_md_signal_parse(const s6_redis_kv *kv, size_t n, s6_md_signal *out,
                       char *err, size_t errlen);
int s6_md_signal_format(const s6_md_signal *s, s6_bus_out *out, char *err,
                        size_t errlen);

/* "md:last:FUT:BTCUSDT"; S6_ERANGE when it does not fit. */
int s6_md_last_key(int market, const char *symbol, char *out, size_t cap);
