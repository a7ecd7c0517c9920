/*
 * cfg.c — the treasury's settings: trigger names, the settings taken from
 * the configuration, and the check a treasury runs on them before it
 * starts.
 */
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "treasury/internal.h"

static const char *const trig_names[S6_TT_COUNT] = {
    [S6_TT_SCHEDULED] = "SCHEDULED",
    [S6_TT_MARGIN_CALL] = "MARGIN_CALL",
    [S6_TT_RISK_LIMIT] = "RISK_LIMIT",
    [S6_TT_PROFIT_TAKING] = "PROFIT_TAKING",
    [S6_TT_INSUFFICIENT_BALANCE] = "INSUFFICIENT_BALANCE",
};

const char *s6_treasury_trigger_name(s6_treasury_trigger t)
{
    return (unsigned)t < S6_TT_COUNT ? trig_names[t] : NULL;
}

int s6_treasury_trigger_parse(const char *name, s6_treasury_trigger *out)
{
    for (int i = 0; name != NULL && i < S6_TT_COUNT; i++)
        if (strcmp(name, trig_names[i]) == 0) {
            *out = (s6_treasury_trigger)i;
            return 0;
        }
    return -1;
}

/* ---- configuration ---- */

static void trig_from(s6_treasury_trigger_cfg *out, const s6_trigger_cfg *in)
{
    out->enabled = in->enabled;
    out->min_interval_s = in->min_interval_s;
    out->threshold = in->threshold;
}

static void base_url(char *dst, size_t cap, const char *url)
{
    snprintf(dst, cap, "%s", url != NULL ? url : "");
    size_t n = strlen(dst);
    while (n > 0 && dst[n - 1] == '/')
        dst[--n] = '\0';
}

void s6_treasury_cfg_from_config(s6_treasury_cfg *out, const s6_config *c)
{
    memset(out, 0, sizeof *out);
    out->enabled = c->treasury.enabled;
    out->full_auto = c->treasury.full_auto;
    out->min_free_fut = c->treasury.min_free_fut;
    out->spot_buffer = c->treasury.spot_buffer;
    out->max_per_transfer = c->treasury.max_per_transfer;
    out->max_per_day = c->treasury.max_per_day;
    out->min_spot_retained = c->treasury.min_spot_retained;
    out->profit_ceiling = c->treasury.profit_ceiling;
    out->interval_s = c->ticks.treasury_interval_s;
    out->approval_poll_s = c->treasury.approval_poll_s;
    out->balances_max_age_s = c->treasury.balances_max_age_s;
    trig_from(&out->trig[S6_TT_SCHEDULED], &c->treasury.scheduled);
    trig_from(&out->trig[S6_TT_MARGIN_CALL], &c->treasury.margin_call);
    trig_from(&out->trig[S6_TT_RISK_LIMIT], &c->treasury.risk_limit);
    trig_from(&out->trig[S6_TT_PROFIT_TAKING], &c->treasury.profit_taking);
    trig_from(&out->trig[S6_TT_INSUFFICIENT_BALANCE],
              &c->treasury.insufficient_balance);
    base_url(out->s1_url, sizeof out->s1_url, c->services.s1_url);
    base_url(out->s12_url, sizeof out->s12_url, c->services.s12_url);
    out->timeout_ms = c->services.request_timeout_ms;
    /* the order retry policy: the same peers' patience applies; the key
     * counts retries, a send policy counts the first send too */
    out->retry_attempts = c->orders.retry_max_attempts + 1;
    out->retry_base_ms = c->orders.retry_initial_ms;
    out->retry_cap_ms = c->orders.retry_max_ms;
    /* the trigger endpoint answers within one outbound timeout */
    out->answer_wait_ms = c->services.request_timeout_ms;
}

bool s6_tr_cfg_ok(const s6_treasury_cfg *c, char *err, size_t errlen)
{
    const char *bad = !(c->interval_s > 0) ? "interval_s"
                      : !(c->approval_poll_s > 0) ? "approval_poll_s"
                      : !(c->max_per_transfer > 0) ? "max_per_transfer"
                      : !(c->max_per_day > 0) ? "max_per_day"
                      : c->retry_attempts < 1 ? "retry_attempts"
                      : c->timeout_ms < 1 ? "timeout_ms"
                      : c->answer_wait_ms < 1 ? "answer_wait_ms"
                      : c->s1_url[0] == '\0' ? "s1_url"
                      : c->s12_url[0] == '\0' ? "s12_url" : NULL;
    if (bad != NULL)
        snprintf(err, errlen, "treasury config: %s is missing or out of "
                 "range", bad);
    return bad == NULL;
}
