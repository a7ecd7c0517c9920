#include <string.h>

#include "contract/names.h"
#include "core/s6_errors.h"

const char *const s6_market_names[S6_MARKET_COUNT] = {
    [S6_MARKET_FUT] = "FUT", [S6_MARKET_SPOT] = "SPOT",
};
const char *const s6_side_names[2] = { "BUY", "SELL" };

static const char *const purpose_names[S6_PURPOSE_COUNT] = {
    [S6_PURPOSE_STOP] = "sl", [S6_PURPOSE_TP] = "tp", [S6_PURPOSE_ADD] = "add",
    [S6_PURPOSE_CLOSE] = "cl", [S6_PURPOSE_HEDGE] = "hg",
};

const char *s6_market_name(int market)
{
    return market >= 0 && market < S6_MARKET_COUNT ? s6_market_names[market]
                                                   : NULL;
}

int s6_market_parse(const char *name)
{
    for (int m = 0; name && m < S6_MARKET_COUNT; m++)
        if (strcmp(name, s6_market_names[m]) == 0)
            return m;
    return S6_EINVAL;
}

int s6_market_parse_prefix(const char *text)
{
    for (int m = 0; text && m < S6_MARKET_COUNT; m++)
        if (strncmp(text, s6_market_names[m], strlen(s6_market_names[m])) == 0)
            return m;
    return S6_EINVAL;
}

const char *s6_side_name(int side)
{
    return side == 1 ? s6_side_names[0] : side == -1 ? s6_side_names[1] : NULL;
}

int s6_side_of_index(int idx)
{
    return idx == 0 ? 1 : idx == 1 ? -1 : 0;
}

const char *s6_purpose_name(int purpose)
{
    return purpose > 0 && purpose < S6_PURPOSE_COUNT ? purpose_names[purpose]
                                                     : NULL;
}
