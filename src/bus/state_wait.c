/*
 * Replicas before "durable": the state edge's WAITs.
 *
 * A master acknowledges a write before its replicas have it; killed in
 * between, its replica takes over without the write, and an order that
 * left on the master's word is at S4 while the state naming it is gone.
 * With wait_replicas set, the barrier sends WAIT to the node of every
 * slot written since its writes were last confirmed by enough replicas.
 * WAIT counts the writes of the connection it arrives on, which is the
 * one the edge wrote on (a cluster keeps one connection per node), and
 * its reply comes before the barrier's PING (replies in issue order).
 *
 * A slot leaves the list only when a WAIT sent after its latest write
 * reached the replicas: a barrier that fell short fails, and the next one
 * waits for the same writes again, so held orders go only once their
 * state is on the replicas.
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>

#include "bus/internal.h"
#include "metrics/metrics.h"
#include "redis/cluster.h"
#include "redis/slot.h"

static const char *comp = "state";

int s6_state_wait_note(s6_state *s, int argc, const char *const *argv,
                       const size_t *len)
{
    /* One node: one connection, one WAIT covers everything. */
    int slot = s6_redis_is_cluster(s->r) ? s6_redis_cmd_slot(argc, argv, len)
                                         : 0;
    if (slot == S6_REDIS_SLOT_NONE)
        return 0; /* PING, WAIT itself */
    if (slot < 0)
        return S6_EINVAL;
    for (size_t i = 0; i < s->n_unrepl; i++)
        if (s->unrepl[i].slot == slot) {
            s->unrepl[i].seq = s->seq;
            return 0;
        }
    if (s->n_unrepl == s->cap_unrepl) {
        size_t cap = s->cap_unrepl ? 2 * s->cap_unrepl : 8;
        struct st_unrepl *u = realloc(s->unrepl, cap * sizeof *u);
        if (!u)
            return S6_ENOMEM;
        s->unrepl = u;
        s->cap_unrepl = cap;
    }
    s->unrepl[s->n_unrepl++] = (struct st_unrepl){ slot, s->seq };
    return 0;
}

typedef struct wait_ctx {
    s6_state *s;
    int slot;
    uint64_t seq; /* the WAIT's own number: it covers every earlier write */
} wait_ctx;

static void confirmed(s6_state *s, const wait_ctx *x)
{
    for (size_t i = 0; i < s->n_unrepl; i++)
        if (s->unrepl[i].slot == x->slot) {
            if (s->unrepl[i].seq < x->seq)
                s->unrepl[i] = s->unrepl[--s->n_unrepl];
            return;
        }
}

static void count(s6_state *s, bool ok)
{
    ok ? s->st.waits_ok++ : s->st.waits_short++;
    s6_counter *h = NULL;
    if (s->o.metrics &&
        s6_counter_get(s->o.metrics, "s6_state_waits_total", 1,
                       S6_LABELS(ok ? "ok" : "short"), &h) == 0)
        s6_counter_inc(h);
}

static void on_wait(s6_redis *r, const redisReply *rep, int code, void *ud)
{
    wait_ctx *x = ud;
    s6_state *s = x->s;
    (void)r;
    if (!s6_state_account(s, rep, code)) {
        count(s, false);
    } else if (rep->type == REDIS_REPLY_INTEGER &&
               rep->integer >= (long long)s->o.wait_replicas) {
        count(s, true);
        confirmed(s, x);
    } else {
        count(s, false);
        s->fail_seq = s->replied; /* this barrier says "not durable" */
        if (!s->closed)
            s6_log_warn(s->o.log, comp, "replicas short: orders held",
                        S6_LOG_INT("slot", x->slot),
                        S6_LOG_INT("replicas", rep->type == REDIS_REPLY_INTEGER
                                                   ? rep->integer : -1),
                        S6_LOG_INT("wanted", s->o.wait_replicas),
                        S6_LOG_INT("timeout_ms", s->o.wait_timeout_ms));
    }
    free(x);
    s6_state_unref(s);
}

void s6_state_wait_send(s6_state *s)
{
    char n[16], ms[16];
    snprintf(n, sizeof n, "%u", s->o.wait_replicas);
    snprintf(ms, sizeof ms, "%u", s->o.wait_timeout_ms);
    const char *argv[] = { "WAIT", n, ms };
    for (size_t i = 0; i < s->n_unrepl; i++) {
        wait_ctx *x = malloc(sizeof *x);
        int rc = S6_ENOMEM;
        if (x) {
            *x = (wait_ctx){ .s = s, .slot = s->unrepl[i].slot,
                             .seq = s->seq + 1 };
            rc = s6_state_send_at(s, x->slot, s->o.wait_timeout_ms, on_wait,
                                  x, 3, argv);
        }
        if (rc != 0) {
            free(x);
            count(s, false);
            s->fail_seq = s->seq + 1; /* the barrier's PING fails */
            return;
        }
    }
}
