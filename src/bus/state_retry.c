/*
 * The state edge's idempotent writes, kept until Redis confirmed them.
 *
 * A save (and a quota release) is a full overwrite (or guarded by its
 * marker), so sending the latest one of a position again is always safe.
 * Each is kept, as a copy of its commands, until its last reply came back
 * OK; a newer one of the same position replaces it.  One that failed is
 * sent again by the next barrier, before its PING — so a barrier that says
 * "durable" means the latest save of every position is in Redis, even when
 * the engine never saves that position again (it refuses a result it
 * already applied).
 */
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

#include "bus/internal.h"

typedef struct st_cmd {
    int argc;
    char **argv;
    size_t *len;
} st_cmd;

struct st_batch {
    s6_state *s;
    char key[S6_POS_ID_MAX + 3];   /* kind letter, ':', position id */
    st_cmd *cmds;
    size_t n, cap;
    bool dirty, superseded, failed;
    size_t owed;                   /* replies still to come */
    long long first_int;           /* the first command's integer answer */
    void (*on_ok)(s6_state *s, const struct redisReply *rep);
    st_batch *next_in_bucket;
    st_batch *prev_dirty, *next_dirty;
};

/* ---- the registry: the latest batch per key ---- */

static size_t hash_key(const char *k, size_t buckets)
{
    size_t h = 5381;
    for (; *k; k++)
        h = h * 33 + (unsigned char)*k;
    return h & (buckets - 1);
}

static st_batch **slot_of(s6_state *s, const char *key)
{
    st_batch **p = &s->buckets[hash_key(key, s->n_buckets)];
    while (*p && strcmp((*p)->key, key) != 0)
        p = &(*p)->next_in_bucket;
    return p;
}

static int grow(s6_state *s)
{
    size_t n = s->n_buckets ? s->n_buckets * 2 : 256;
    st_batch **b = calloc(n, sizeof *b);
    if (!b)
        return S6_ENOMEM;
    for (size_t i = 0; i < s->n_buckets; i++)
        for (st_batch *x = s->buckets[i], *nx; x; x = nx) {
            nx = x->next_in_bucket;
            size_t h = hash_key(x->key, n);
            x->next_in_bucket = b[h];
            b[h] = x;
        }
    free(s->buckets);
    s->buckets = b;
    s->n_buckets = n;
    return 0;
}

static void unlink_dirty(s6_state *s, st_batch *b)
{
    if (!b->dirty)
        return;
    if (b->prev_dirty)
        b->prev_dirty->next_dirty = b->next_dirty;
    else
        s->dirty = b->next_dirty;
    if (b->next_dirty)
        b->next_dirty->prev_dirty = b->prev_dirty;
    b->dirty = false;
    b->prev_dirty = b->next_dirty = NULL;
    s->n_dirty--;
}

static void batch_free(st_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        for (int j = 0; j < b->cmds[i].argc; j++)
            free(b->cmds[i].argv[j]);
        free(b->cmds[i].argv);
        free(b->cmds[i].len);
    }
    free(b->cmds);
    free(b);
}

/* Out of the registry (it must be the key's entry). */
static void forget(s6_state *s, st_batch *b)
{
    st_batch **p = slot_of(s, b->key);
    if (*p == b) {
        *p = b->next_in_bucket;
        s->n_batches--;
    }
    unlink_dirty(s, b);
}

st_batch *s6_state_batch_begin(s6_state *s, char kind, const char *pos_id)
{
    if (s->n_batches >= s->n_buckets && grow(s) != 0)
        return NULL;
    st_batch *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->s = s;
    b->key[0] = kind;
    b->key[1] = ':';
    strcpy(b->key + 2, pos_id);
    st_batch **p = slot_of(s, b->key);
    st_batch *old = *p;
    if (old) { /* superseded: never sent again */
        forget(s, old);
        if (old->owed > 0)
            old->superseded = true;
        else
            batch_free(old);
        p = slot_of(s, b->key);
    }
    b->next_in_bucket = *p;
    *p = b;
    s->n_batches++;
    return b;
}

int s6_state_batch_add(st_batch *b, int argc, const char *const *argv)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 8;
        st_cmd *c = realloc(b->cmds, cap * sizeof *c);
        if (!c)
            return S6_ENOMEM;
        b->cmds = c;
        b->cap = cap;
    }
    st_cmd *c = &b->cmds[b->n];
    c->argc = 0;
    c->argv = calloc((size_t)argc, sizeof *c->argv);
    c->len = calloc((size_t)argc, sizeof *c->len);
    b->n++;
    if (!c->argv || !c->len)
        return S6_ENOMEM;
    for (int i = 0; i < argc; i++) {
        c->len[i] = strlen(argv[i]);
        if (!(c->argv[i] = malloc(c->len[i] + 1)))
            return S6_ENOMEM;
        memcpy(c->argv[i], argv[i], c->len[i] + 1);
        c->argc++;
    }
    return 0;
}

void s6_state_batch_drop(s6_state *s, st_batch *b)
{
    forget(s, b);
    batch_free(b);
}

void s6_state_batch_on_ok(st_batch *b,
                          void (*fn)(s6_state *s, const struct redisReply *))
{
    b->on_ok = fn;
}

static void mark_dirty(s6_state *s, st_batch *b)
{
    b->dirty = true;
    b->prev_dirty = NULL;
    b->next_dirty = s->dirty;
    if (s->dirty)
        s->dirty->prev_dirty = b;
    s->dirty = b;
    s->n_dirty++;
}

/* The batch's outcome once its last reply is in: any failed command fails
 * it (its writes are separate commands, each may fail on its own). */
static void batch_settled(s6_state *s, st_batch *b)
{
    bool ok = !b->failed;
    if (ok && b->on_ok && !s->closed) {
        redisReply first = { .type = REDIS_REPLY_INTEGER,
                             .integer = b->first_int };
        b->on_ok(s, &first);
    }
    if (b->superseded) {
        batch_free(b); /* already out of the registry */
    } else if (ok || s->closed) {
        forget(s, b);
        batch_free(b);
    } else {
        mark_dirty(s, b); /* the next barrier sends it again */
    }
}

static void on_batch_reply(s6_redis *r, const redisReply *rep, int code,
                           void *ud)
{
    st_batch *b = ud;
    s6_state *s = b->s;
    (void)r;
    bool first = b->owed == b->n && !b->failed;
    if (!s6_state_account(s, rep, code))
        b->failed = true;
    else if (first)
        b->first_int = rep->type == REDIS_REPLY_INTEGER ? rep->integer : 0;
    if (--b->owed == 0)
        batch_settled(s, b);
    s6_state_unref(s);
}

int s6_state_batch_send(st_batch *b)
{
    s6_state *s = b->s;
    b->failed = false;
    b->owed = b->n; /* held while sending: no reply settles it half-way */
    size_t sent = 0;
    int rc = 0;
    for (; sent < b->n; sent++) {
        st_cmd *c = &b->cmds[sent];
        rc = s6_state_send_len(s, on_batch_reply, b, c->argc,
                               (const char *const *)c->argv, c->len);
        if (rc != 0)
            break;
    }
    if (rc == 0)
        return 0;
    /* Not all sent (Redis down): the batch goes again with the next
     * barrier once what was sent has answered. */
    b->failed = true;
    b->owed -= b->n - sent;
    if (b->owed == 0)
        batch_settled(s, b);
    return rc;
}

size_t s6_state_resend_dirty(s6_state *s)
{
    size_t n = 0;
    while (s->dirty) {
        st_batch *b = s->dirty;
        unlink_dirty(s, b);
        n++;
        if (s6_state_batch_send(b) != 0)
            break; /* dirty again: Redis is down, the barrier fails */
    }
    s->st.resent += n;
    return n;
}

void s6_state_batches_free(s6_state *s)
{
    for (size_t i = 0; i < s->n_buckets; i++)
        for (st_batch *x = s->buckets[i], *nx; x; x = nx) {
            nx = x->next_in_bucket;
            batch_free(x);
        }
    free(s->buckets);
    s->buckets = NULL;
    s->n_buckets = s->n_batches = 0;
}
