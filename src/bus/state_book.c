/*
 * The engine's own record on Redis (docs/contracts/redis-state.md, "The
 * engine's own record"): today's realized PnL, the daily loss alert's day
 * and the leftovers, one JSON text in pos:{state}:book (a shard's:
 * pos:{state}:book:<k>).  The {state} tag puts it in the slot of the
 * position records, so on a cluster too it is applied in the order the
 * engine wrote it, before the position save that follows it.
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/internal.h"

static const char *book_key(const s6_state *s)
{
    return s->o.book_key != NULL && s->o.book_key[0] ? s->o.book_key
                                                      : S6_STATE_BOOK_KEY;
}

int s6_state_book_save(void *ud, const char *json)
{
    s6_state *s = ud;
    if (json == NULL || json[0] != '{')
        return S6_EINVAL;
    const char *argv[] = { "HSET", book_key(s), "record", json };
    /* Kept until confirmed like a save (the latest one only: it is whole),
     * so the barrier that acknowledges a fill covers today's figure. */
    st_batch *b = s6_state_batch_begin(s, 'B', "book");
    int rc = b != NULL ? s6_state_batch_add(b, 4, argv) : S6_ENOMEM;
    if (rc != 0) {
        if (b != NULL)
            s6_state_batch_drop(s, b);
        return rc;
    }
    if (s6_state_batch_send(b) != 0)
        s6_log_warn(s->o.log, "state", "book record kept for the next "
                    "barrier");
    return 0;
}

typedef struct book_load {
    s6_state *s;
    s6_state_book_loaded done;
    void *ud;
} book_load;

static void on_book(s6_redis *r, const redisReply *rep, int code, void *ud)
{
    book_load *x = ud;
    s6_state *s = x->s;
    (void)r;
    char err[160] = "";
    char *json = NULL;
    int rc = 0;
    if (!s6_state_account(s, rep, code)) {
        snprintf(err, sizeof err, "HGET %s record: %s", book_key(s),
                 code ? s6_strerror(code) : rep->str);
        rc = S6_EREDIS;
    } else if (rep->type == REDIS_REPLY_STRING &&
               (json = strndup(rep->str, rep->len)) == NULL) {
        rc = S6_ENOMEM;
    }
    if (!s->closed)
        x->done(x->ud, rc, json, rc ? err : NULL);
    free(json);
    free(x);
    s6_state_unref(s);
}

int s6_state_load_book(s6_state *s, s6_state_book_loaded done, void *ud)
{
    if (s == NULL || done == NULL)
        return S6_EINVAL;
    book_load *x = malloc(sizeof *x);
    if (x == NULL)
        return S6_ENOMEM;
    *x = (book_load){ s, done, ud };
    const char *argv[] = { "HGET", book_key(s), "record" };
    int rc = s6_state_send(s, on_book, x, 3, argv);
    if (rc != 0)
        free(x);
    return rc;
}
