/*
 * The balances edge over Redis: the hash treasury:balances with spot_free,
 * fut_free (quote) and ts (unix seconds).  The paper router writes it in
 * paper mode, S1 in production (docs/contracts/treasury.md).  A missing
 * hash or field, or a value that is not a number, is no reading: the
 * treasury refuses to transfer on it.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "treasury/treasury.h"

typedef struct s6__bread {
    s6_treasury_balances_cb cb;
    void *ud;
} s6__bread;

static const struct {
    const char *name;
    size_t off;
} fields[] = {
    {"spot_free", offsetof(s6_treasury_balances, spot_free)},
    {"fut_free", offsetof(s6_treasury_balances, fut_free)},
    {"ts", offsetof(s6_treasury_balances, ts)},
};
enum { N_FIELDS = sizeof fields / sizeof fields[0] };

static bool number(const char *s, double *out)
{
    char *end;
    *out = strtod(s, &end);
    return end != s && *end == '\0' && isfinite(*out);
}

/* Fills b from HGETALL's flat field/value array; why names what is off. */
static int parse(const redisReply *reply, s6_treasury_balances *b,
                 char *why, size_t cap)
{
    bool seen[N_FIELDS] = {false};
    for (size_t i = 0; i + 1 < reply->elements; i += 2) {
        const redisReply *k = reply->element[i], *v = reply->element[i + 1];
        for (size_t f = 0; f < N_FIELDS; f++) {
            if (k->type != REDIS_REPLY_STRING || strcmp(k->str, fields[f].name))
                continue;
            double x;
            if (v->type != REDIS_REPLY_STRING || !number(v->str, &x)) {
                snprintf(why, cap, "treasury:balances %s is not a number",
                         fields[f].name);
                return -EINVAL;
            }
            memcpy((char *)b + fields[f].off, &x, sizeof x);
            seen[f] = true;
        }
    }
    for (size_t f = 0; f < N_FIELDS; f++)
        if (!seen[f]) {
            snprintf(why, cap, "treasury:balances has no %s", fields[f].name);
            return -ENOENT;
        }
    return 0;
}

static void got(s6_redis *r, const redisReply *reply, int code, void *ud)
{
    (void)r;
    s6__bread rd = *(s6__bread *)ud;
    free(ud);
    char why[128];
    s6_treasury_balances b = {0};
    int rc;
    if (code != 0 || reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        snprintf(why, sizeof why, "reading treasury:balances: %s",
                 code == S6_EREPLY && reply ? reply->str
                                                  : s6_strerror(code));
        rc = code != 0 ? code : -EPROTO;
    } else {
        rc = parse(reply, &b, why, sizeof why);
    }
    rd.cb(rd.ud, rc, rc == 0 ? &b : NULL, rc == 0 ? NULL : why);
}

static int read_redis(void *self, s6_treasury_balances_cb cb, void *ud)
{
    s6__bread *rd = malloc(sizeof *rd);
    if (rd == NULL)
        return -ENOMEM;
    *rd = (s6__bread){cb, ud};
    int rc = s6_redis_hgetall(self, "treasury:balances", got, rd);
    if (rc != 0)
        free(rd);
    return rc;
}

s6_treasury_balances_edge s6_treasury_redis_balances(s6_redis *r)
{
    return (s6_treasury_balances_edge){read_redis, r};
}
