/*
 * names.h — the wire names both codecs share (markets, sides).
 */
#pragma once

#include "contract/s6_rule_abi.h"

/* Indexed by S6_MARKET_*. */
static const char *const s6_bus_market_names[2] = {
    [S6_MARKET_FUT] = "FUT", [S6_MARKET_SPOT] = "SPOT",
};
/* Index 0 BUY (+1), 1 SELL (-1). */
static const char *const s6_bus_side_names[2] = { "BUY", "SELL" };

static inline int s6_bus_side_value(int idx)
{
    return idx == 0 ? 1 : idx == 1 ? -1 : 0;
}

static inline const char *s6_market_name_of(int market)
{
    return market == S6_MARKET_FUT || market == S6_MARKET_SPOT
               ? s6_bus_market_names[market] : NULL;
}

static inline const char *s6_side_name_of(int side)
{
    return side == 1 ? "BUY" : side == -1 ? "SELL" : NULL;
}
