/* The cluster layer's commands: routing, redirects, ordered delivery. */
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "redis/cluster_internal.h"

#define COMPONENT "redis"

/* Redirects one command may follow before its last answer is final. */
enum { MAX_REDIRECTS = 16, WAIT_TICK_MS = 10, BACKOFF_MAX_MS = 200 };

struct ccmd {
    ccmd *prev, *next;       /* the delivery FIFO */
    ccmd *wprev, *wnext;     /* held: the wait list */
    ccmd *enext;             /* expired in this pump */
    s6_cluster *cl;
    uint64_t seq;
    s6_redis_reply_cb cb;    /* NULL once delivered or cancelled */
    void *ud;
    int slot;
    uint32_t extra_ms;
    uint64_t deadline, not_before;
    int redirects;
    cnode *sent_to;          /* a node's client owes us its reply */
    cnode *ask;              /* ASK: send there once, after ASKING */
    bool waiting, done;
    int code;                /* done out of order: kept until its turn */
    redisReply *held;
    redisReply *last_err;    /* the last retried answer, for a timeout */
    int argc;
    char **argv;
    size_t *lens;
};

/* ---- replies kept past hiredis' callback ---- */

/* The same layout freeReplyObject() frees. */
static redisReply *reply_dup(const redisReply *r)
{
    redisReply *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->type = r->type;
    c->integer = r->integer;
    if (r->str) {
        if (!(c->str = malloc(r->len + 1)))
            goto fail;
        memcpy(c->str, r->str, r->len);
        c->str[r->len] = '\0';
        c->len = r->len;
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements) {
        if (!(c->element = calloc(r->elements, sizeof *c->element)))
            goto fail;
        c->elements = r->elements;
        for (size_t i = 0; i < r->elements; i++)
            if (!(c->element[i] = reply_dup(r->element[i])))
                goto fail;
    }
    return c;
fail:
    freeReplyObject(c);
    return NULL;
}

/* ---- life of a command ---- */

static void cmd_free(ccmd *c)
{
    for (int i = 0; i < c->argc; i++)
        free(c->argv[i]);
    free(c->argv);
    free(c->lens);
    if (c->held)
        freeReplyObject(c->held);
    if (c->last_err)
        freeReplyObject(c->last_err);
    free(c);
}

static ccmd *cmd_new(s6_cluster *cl, int argc, const char *const *argv,
                     const size_t *lens)
{
    ccmd *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->argv = calloc((size_t)argc, sizeof *c->argv);
    c->lens = calloc((size_t)argc, sizeof *c->lens);
    if (!c->argv || !c->lens)
        goto fail;
    for (; c->argc < argc; c->argc++) {
        int i = c->argc;
        if (!(c->argv[i] = malloc(lens[i] + 1)))
            goto fail;
        memcpy(c->argv[i], argv[i], lens[i]);
        c->argv[i][lens[i]] = '\0';
        c->lens[i] = lens[i];
    }
    c->cl = cl;
    return c;
fail:
    cmd_free(c);
    return NULL;
}

static void fifo_unlink(s6_cluster *cl, ccmd *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        cl->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        cl->tail = c->prev;
    c->prev = c->next = NULL;
    cl->pending--;
}

static void wait_unlink(s6_cluster *cl, ccmd *c)
{
    if (!c->waiting)
        return;
    if (c->wprev)
        c->wprev->wnext = c->wnext;
    else
        cl->whead = c->wnext;
    if (c->wnext)
        c->wnext->wprev = c->wprev;
    else
        cl->wtail = c->wprev;
    c->wprev = c->wnext = NULL;
    c->waiting = false;
    if (c->slot >= 0)
        cl->waiting[c->slot]--;
}

static void on_wait_timer(uv_timer_t *t)
{
    s6_cluster_pump(t->data);
}

/* Into the wait list at its place in issue order. */
static void wait_push(s6_cluster *cl, ccmd *c, uint64_t delay_ms)
{
    ccmd *after = cl->wtail;
    while (after && after->seq > c->seq)
        after = after->wprev;
    c->wprev = after;
    c->wnext = after ? after->wnext : cl->whead;
    if (c->wnext)
        c->wnext->wprev = c;
    else
        cl->wtail = c;
    if (after)
        after->wnext = c;
    else
        cl->whead = c;
    c->waiting = true;
    c->not_before = uv_now(cl->loop) + delay_ms;
    if (c->slot >= 0)
        cl->waiting[c->slot]++;
    cl->st.held++;
    if (!uv_is_active((uv_handle_t *)&cl->wait_timer))
        uv_timer_start(&cl->wait_timer, on_wait_timer, WAIT_TICK_MS, WAIT_TICK_MS);
}

/* Hands the reply to the caller; frees c unless a node still owes it. */
static void deliver(s6_cluster *cl, ccmd *c, const redisReply *rep, int code)
{
    s6_redis_reply_cb cb = c->cb;
    fifo_unlink(cl, c);
    c->cb = NULL;
    c->done = true;
    if (cb)
        cb(cl->facade, rep, code, c->ud);
    if (!c->sent_to)
        cmd_free(c);
}

/* Everything done at the head of the FIFO goes out, in issue order. */
static void drain(s6_cluster *cl)
{
    while (cl->head && cl->head->done && cl->head->cb) {
        ccmd *c = cl->head;
        redisReply *held = c->held;
        c->held = NULL;
        deliver(cl, c, held, c->code);
        if (held)
            freeReplyObject(held);
    }
}

static void complete(s6_cluster *cl, ccmd *c, const redisReply *rep, int code)
{
    if (c == cl->head) {
        deliver(cl, c, rep, code);
        drain(cl);
        return;
    }
    c->done = true;
    c->code = code;
    if (rep && !(c->held = reply_dup(rep)))
        c->code = S6_ENOMEM;
}

/* ---- sending ---- */

static void on_node_reply(s6_redis *r, const redisReply *rep, int code,
                          void *ud);

static void on_asking(s6_redis *r, const redisReply *rep, int code, void *ud)
{
    (void)r, (void)rep, (void)code, (void)ud;
}

static int send_to(s6_cluster *cl, ccmd *c, cnode *n)
{
    if (c->ask) {
        const char *a[] = { "ASKING" };
        const size_t al[] = { 6 };
        (void)s6_redis_cmd(n->r, on_asking, NULL, 1, a, al);
    }
    int rc = s6_redis_cmd_ex(n->r, c->extra_ms, on_node_reply, c, c->argc,
                             (const char *const *)c->argv, c->lens);
    if (rc != 0)
        return rc;
    c->sent_to = n;
    if (c->slot >= 0) {
        cl->inflight[c->slot]++;
        cl->at[c->slot] = n;
    }
    return 0;
}

static cnode *target_of(s6_cluster *cl, const ccmd *c)
{
    if (c->slot < 0)
        return s6_cluster_any_node(cl);
    return c->ask ? c->ask : cl->map[c->slot];
}

/* Sending now keeps the slot's order: nothing of it in flight elsewhere. */
static bool order_allows(const s6_cluster *cl, const ccmd *c, const cnode *n)
{
    return c->slot < 0 || cl->inflight[c->slot] == 0 || cl->at[c->slot] == n;
}

static uint64_t backoff_ms(const ccmd *c)
{
    uint64_t ms = 10u << (c->redirects < 5 ? c->redirects : 5);
    return ms < BACKOFF_MAX_MS ? ms : BACKOFF_MAX_MS;
}

/* A held command whose deadline passed ends with its last answer. */
static void expire(s6_cluster *cl, ccmd *c)
{
    redisReply *last = c->last_err;
    c->last_err = NULL;
    complete(cl, c, last, last ? S6_EREPLY : S6_ETIMEDOUT);
    if (last)
        freeReplyObject(last);
}

void s6_cluster_pump(s6_cluster *cl)
{
    uint64_t now = uv_now(cl->loop);
    ccmd *expired = NULL, **exp_tail = &expired;

    cl->gen++;
    for (ccmd *c = cl->whead, *next; c && !cl->closed; c = next) {
        next = c->wnext;
        if (now >= c->deadline) {
            wait_unlink(cl, c);
            *exp_tail = c;
            exp_tail = &c->enext;
            continue;
        }
        bool blocked = c->slot >= 0 && cl->blocked_gen[c->slot] == cl->gen;
        cnode *n = blocked || now < c->not_before ? NULL : target_of(cl, c);
        if (n && order_allows(cl, c, n) && send_to(cl, c, n) == 0) {
            c->ask = NULL;
            wait_unlink(cl, c);
            continue;
        }
        if (n && !order_allows(cl, c, n)) {
            /* wait for the slot's earlier commands */
        } else if (!blocked && now >= c->not_before) {
            c->not_before = now + backoff_ms(c);
            s6_cluster_refresh(cl);
        }
        if (c->slot >= 0)
            cl->blocked_gen[c->slot] = cl->gen; /* later ones stay behind */
    }
    if (!cl->whead)
        uv_timer_stop(&cl->wait_timer);
    /* Callbacks last: one may close the client (which frees the rest). */
    while (expired && !cl->closed) {
        ccmd *c = expired;
        expired = c->enext;
        c->enext = NULL;
        expire(cl, c);
    }
}

/* ---- answers ---- */

static bool starts(const redisReply *r, const char *word)
{
    size_t n = strlen(word);
    return r && r->type == REDIS_REPLY_ERROR && r->len >= n &&
           strncmp(r->str, word, n) == 0 &&
           (r->len == n || r->str[n] == ' ');
}

/* "MOVED 3999 127.0.0.1:6381" / "ASK ...": the node named. */
static cnode *redirect_node(s6_cluster *cl, const redisReply *r, int *slot)
{
    const char *sp = memchr(r->str, ' ', r->len);
    const char *sp2 = sp ? memchr(sp + 1, ' ', r->len - (size_t)(sp + 1 - r->str)) : NULL;
    if (!sp2)
        return NULL;
    *slot = atoi(sp + 1);
    const char *addr = sp2 + 1, *end = r->str + r->len;
    const char *colon = NULL;
    for (const char *p = addr; p < end; p++)
        if (*p == ':')
            colon = p;
    if (!colon || *slot < 0 || *slot >= S6_REDIS_SLOTS)
        return NULL;
    return s6_cluster_node_get(cl, addr, (size_t)(colon - addr), atoi(colon + 1));
}

/* true when the answer says "not executed here, send it again". */
static bool redirected(s6_cluster *cl, ccmd *c, const redisReply *rep)
{
    int slot;
    uint64_t delay = 0;
    if (starts(rep, "MOVED")) {
        cnode *n = redirect_node(cl, rep, &slot);
        if (!n)
            return false;
        cl->map[slot] = n;
        cl->st.moved++;
        c->ask = NULL;
        s6_cluster_refresh(cl);
    } else if (starts(rep, "ASK")) {
        if (!(c->ask = redirect_node(cl, rep, &slot)))
            return false;
        cl->st.ask++;
    } else if (starts(rep, "TRYAGAIN") || starts(rep, "CLUSTERDOWN")) {
        bool down = rep->str[0] == 'C';
        down ? cl->st.clusterdown++ : cl->st.tryagain++;
        if (down)
            s6_cluster_refresh(cl);
        delay = backoff_ms(c);
    } else {
        return false;
    }
    if (++c->redirects > MAX_REDIRECTS)
        return false;
    if (c->last_err)
        freeReplyObject(c->last_err);
    c->last_err = reply_dup(rep);
    wait_push(cl, c, delay);
    return true;
}

static void on_node_reply(s6_redis *r, const redisReply *rep, int code,
                          void *ud)
{
    ccmd *c = ud;
    s6_cluster *cl = c->cl;

    (void)r;
    if (c->slot >= 0 && c->sent_to)
        cl->inflight[c->slot]--;
    c->sent_to = NULL;
    if (!c->cb) { /* delivered at close: we only owed it this reply */
        cmd_free(c);
        return;
    }
    if (cl->closed)
        return;
    if (!(code == S6_EREPLY && redirected(cl, c, rep)))
        complete(cl, c, rep, code);
    if (cl->whead && !cl->closed)
        s6_cluster_pump(cl);
}

/* ---- the facade's entry points ---- */

int s6_cluster_cmd(s6_cluster *cl, uint32_t extra_ms, s6_redis_reply_cb cb,
                   void *ud, int argc, const char *const *argv,
                   const size_t *argvlen)
{
    int slot = s6_redis_cmd_slot(argc, argv, argvlen);
    if (slot == S6_REDIS_SLOT_CROSS ||
        (slot == S6_REDIS_SLOT_NONE &&
         (strncasecmp(argv[0], "MULTI", argvlen[0]) == 0 ||
          strncasecmp(argv[0], "EXEC", argvlen[0]) == 0 ||
          strncasecmp(argv[0], "DISCARD", argvlen[0]) == 0))) {
        s6_log_error(cl->opts.log, COMPONENT, "command refused on a cluster: "
                     "keys in several slots, or a transaction",
                     S6_LOG_STR("conn", cl->opts.name),
                     S6_LOG_STR("command", argv[0]));
        return S6_EINVAL;
    }
    return s6_cluster_cmd_slot(cl, slot, extra_ms, cb, ud, argc, argv, argvlen);
}

int s6_cluster_cmd_slot(s6_cluster *cl, int slot, uint32_t extra_ms,
                        s6_redis_reply_cb cb, void *ud, int argc,
                        const char *const *argv, const size_t *argvlen)
{
    if (cl->closed)
        return S6_ECLOSED;
    if (cl->state == S6_REDIS_DOWN)
        return S6_EDOWN;
    if (slot >= S6_REDIS_SLOTS || slot < S6_REDIS_SLOT_NONE)
        return S6_EINVAL;
    ccmd *c = cmd_new(cl, argc, argv, argvlen);
    if (!c)
        return S6_ENOMEM;
    c->cb = cb;
    c->ud = ud;
    c->slot = slot;
    c->extra_ms = extra_ms;
    c->seq = ++cl->seq;
    c->deadline = uv_now(cl->loop) + cl->opts.command_timeout_ms + extra_ms;
    c->prev = cl->tail;
    if (cl->tail)
        cl->tail->next = c;
    else
        cl->head = c;
    cl->tail = c;
    cl->pending++;
    cnode *n = cl->have_map ? target_of(cl, c) : NULL;
    bool behind = slot >= 0 && cl->waiting[slot] > 0;
    if (!n || behind || !order_allows(cl, c, n) || send_to(cl, c, n) != 0) {
        if (n && !behind && order_allows(cl, c, n))
            s6_cluster_refresh(cl); /* its node is not connected */
        wait_push(cl, c, 0);
    }
    return 0;
}

s6_redis_state s6_cluster_get_state(const s6_cluster *cl) { return cl->state; }

size_t s6_cluster_in_flight(const s6_cluster *cl) { return cl->pending; }

void s6_cluster_get_stats(const s6_cluster *cl, s6_redis_cluster_stats *st)
{
    *st = cl->st;
}

/* ---- open and close ---- */

static void on_handle_closed(uv_handle_t *h)
{
    s6_cluster *cl = h->data;
    if (--cl->handles_open > 0)
        return;
    for (cnode *n = cl->nodes, *nx; n; n = nx) {
        nx = n->next;
        free(n);
    }
    free(cl->map);
    free(cl->at);
    free(cl->inflight);
    free(cl->waiting);
    free(cl->blocked_gen);
    free(cl->facade);
    free(cl);
}

void s6_cluster_close(s6_cluster *cl)
{
    if (cl->closed)
        return;
    s6_cluster_set_state(cl, S6_REDIS_CLOSED, 0);
    cl->closed = true;
    uv_timer_stop(&cl->wait_timer);
    uv_timer_stop(&cl->map_timer);
    /* Callers first, in issue order; nodes then hand back what they owe. */
    while (cl->head) {
        ccmd *c = cl->head;
        wait_unlink(cl, c);
        if (c->cb) {
            redisReply *held = c->held;
            c->held = NULL;
            deliver(cl, c, NULL, S6_ECANCELED);
            if (held)
                freeReplyObject(held);
        } else {
            fifo_unlink(cl, c);
        }
    }
    for (cnode *n = cl->nodes; n; n = n->next)
        s6_redis_close(n->r);
    uv_close((uv_handle_t *)&cl->wait_timer, on_handle_closed);
    uv_close((uv_handle_t *)&cl->map_timer, on_handle_closed);
}

int s6_cluster_open(uv_loop_t *loop, const char *url, const s6_redis_opts *opts,
                    s6_redis *facade, s6_cluster **out, char *err,
                    size_t errlen)
{
    int rc = s6_cluster_parse_seeds(NULL, url, err, errlen);
    if (rc != 0)
        return rc;
    s6_cluster *cl = calloc(1, sizeof *cl);
    if (!cl)
        return S6_ENOMEM;
    cl->map = calloc(S6_REDIS_SLOTS, sizeof *cl->map);
    cl->at = calloc(S6_REDIS_SLOTS, sizeof *cl->at);
    cl->inflight = calloc(S6_REDIS_SLOTS, sizeof *cl->inflight);
    cl->waiting = calloc(S6_REDIS_SLOTS, sizeof *cl->waiting);
    cl->blocked_gen = calloc(S6_REDIS_SLOTS, sizeof *cl->blocked_gen);
    if (!cl->map || !cl->at || !cl->inflight || !cl->waiting || !cl->blocked_gen) {
        free(cl->map), free(cl->at), free(cl->inflight), free(cl->waiting);
        free(cl->blocked_gen), free(cl);
        return S6_ENOMEM;
    }
    cl->loop = loop;
    cl->facade = facade;
    cl->opts = *opts;
    cl->state = S6_REDIS_CONNECTING;
    uv_timer_init(loop, &cl->wait_timer);
    uv_timer_init(loop, &cl->map_timer);
    cl->wait_timer.data = cl->map_timer.data = cl;
    cl->handles_open = 2;
    *out = cl;
    /* Seeds connect now; the first one up asks for the slot map. */
    cl->refresh_due = true;
    if ((rc = s6_cluster_parse_seeds(cl, url, err, errlen)) != 0) {
        s6_cluster_close(cl);
        return rc;
    }
    return 0;
}
