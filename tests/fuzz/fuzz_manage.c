/*
 * fuzz_manage — s6_manage_parse (the body of POST /positions/manage) on
 * arbitrary bytes.  Beyond not crashing or leaking: an accepted body gives
 * a request the engine can trust (a known action, the fields that action
 * needs, finite positive numbers, bounded strings), and a refused one a
 * 400 with a code and a message and a request reset to nothing.
 */
#include "app/routes_positions.h"
#include "fuzz_check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static void check(bool ok, const char *what, size_t len)
{
    fuzz_check(ok, "fuzz_manage", what, len);
}

static bool bounded(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

static bool positive(double v)
{
    return isfinite(v) && v > 0;
}

static void check_accepted(const s6_manage_req *r, size_t len)
{
    check(r->action >= S6_MANAGE_STOP_MOVE && r->action <= S6_MANAGE_EVALUATE,
          "accepted an unknown action", len);
    check(r->market == S6_MARKET_FUT || r->market == S6_MARKET_SPOT,
          "accepted without a market", len);
    check(bounded(r->position_id, sizeof r->position_id) && r->position_id[0],
          "position_id empty or unterminated", len);
    check(bounded(r->symbol, sizeof r->symbol) && r->symbol[0],
          "symbol empty or unterminated", len);
    check(bounded(r->reason, sizeof r->reason), "reason unterminated", len);
    if (r->action == S6_MANAGE_STOP_MOVE)
        check(positive(r->new_stop_price), "STOP_MOVE without a price", len);
    else
        check(r->new_stop_price == 0, "a stop price outside STOP_MOVE", len);
    if (r->action == S6_MANAGE_ADD)
        check(positive(r->qty), "ADD without a quantity", len);
    if (r->action == S6_MANAGE_TAKE_PROFIT)
        check(positive(r->qty) != (r->fraction > 0 && r->fraction <= 1),
              "TAKE_PROFIT needs exactly one of qty and fraction", len);
    check(!r->loosen || r->action == S6_MANAGE_STOP_MOVE,
          "loosen outside STOP_MOVE", len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    /* The parser takes a length: no NUL terminator, so ASan sees any read
     * past the end. */
    char *body = malloc(len ? len : 1);
    if (body == NULL)
        return 0;
    memcpy(body, data, len);
    s6_manage_req r;
    s6_api_error e;
    memset(&e, 0, sizeof e);
    if (s6_manage_parse(body, len, &r, &e) == 0) {
        check_accepted(&r, len);
    } else {
        check(e.status == 400 && e.code[0] && e.message[0],
              "refused without a 400, code and message", len);
        check(r.action == 0 && r.position_id[0] == '\0' && r.market == -1,
              "refused but half-filled", len);
    }
    free(body);
    return 0;
}
