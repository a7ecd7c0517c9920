/*
 * fuzz_transfer — the bodies of POST /auto-transfer/trigger and
 * /auto-transfer/approval as the routes read them (s6_tr_parse_trigger_body,
 * s6_tr_parse_approval_body; no treasury needed) on arbitrary bytes.
 * Beyond not crashing or leaking: an accepted trigger names a trigger the
 * endpoint takes, an id and symbol within their bounds and a non-negative
 * amount; an accepted approval a bounded transfer id and reason; a refused
 * body says why with a 4xx.
 */
#include "treasury/internal.h"
#include "fuzz_check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static void check(bool ok, const char *what, size_t len)
{
    fuzz_check(ok, "fuzz_transfer", what, len);
}

static void trigger(const char *body, size_t len)
{
    s6_tr_request rq;
    memset(&rq, 0, sizeof rq);
    char why[320] = "";
    if (s6_tr_parse_trigger_body(body, len, &rq, why, sizeof why) == 0) {
        check(rq.trigger > S6_TT_SCHEDULED && rq.trigger < S6_TT_COUNT &&
                  rq.trigger != S6_TT_INSUFFICIENT_BALANCE,
              "accepted a trigger the endpoint does not take", len);
        check(memchr(rq.trigger_id, '\0', sizeof rq.trigger_id) != NULL &&
                  rq.trigger_id[0] != '\0',
              "trigger_id empty or unterminated", len);
        check(memchr(rq.symbol, '\0', sizeof rq.symbol) != NULL,
              "symbol unterminated", len);
        check(isfinite(rq.requested) && rq.requested >= 0,
              "a negative or non-finite amount", len);
        check(rq.res == NULL, "a response handle out of nowhere", len);
    } else {
        check(why[0] == '4', "trigger refused without a 4xx", len);
    }
}

static void approval(const char *body, size_t len)
{
    s6_tr_approval ap;
    memset(&ap, 0, sizeof ap);
    char why[320] = "";
    if (s6_tr_parse_approval_body(body, len, &ap, why, sizeof why) == 0) {
        check(ap.transfer_id[0] != '\0' &&
                  memchr(ap.transfer_id, '\0', sizeof ap.transfer_id) != NULL,
              "transfer_id empty or unterminated", len);
        check(memchr(ap.reason, '\0', sizeof ap.reason) != NULL,
              "reason unterminated", len);
    } else {
        check(why[0] == '4', "approval refused without a 4xx", len);
    }
}

/* Both bodies of the treasury's routes read the same bytes. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    /* no NUL after the bytes: ASan sees any read past the end */
    char *body = malloc(len ? len : 1);
    if (body == NULL)
        return 0;
    memcpy(body, data, len);
    trigger(body, len);
    approval(body, len);
    free(body);
    return 0;
}
