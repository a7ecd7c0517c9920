#include "engine/mem_state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/str_index.h"

typedef struct mem_record {
    char pos_id[S6_POS_ID_MAX + 1];
    char *json;
    unsigned releases; /* quota releases that took effect (0 or 1) */
    bool released;     /* the once-marker */
} mem_record;

typedef struct quota_answer {
    void (*done)(void *cb_ud, bool ok);
    void *cb_ud;
    bool ok;
} quota_answer;

struct s6_mem_state {
    mem_record *recs;
    size_t n_recs, cap_recs;
    s6_index by_id;           /* pos_id -> index into recs */
    s6_mem_event *events;
    size_t n_events, cap_events;
    s6_mem_announce *ann;
    size_t n_ann, cap_ann;
    quota_answer *queue;
    size_t n_queue, cap_queue;
    double budget;
    int concurrency;
    bool refuse;
    unsigned saves;
    char *book;              /* the engine's own record, NULL: none */
};

/* Grows *v (of elem bytes each) so one more fits. */
static int grow(void **v, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 16;
    void *nv = realloc(*v, nc * elem);
    if (nv == NULL)
        return -ENOMEM;
    *v = nv;
    *cap = nc;
    return 0;
}

static mem_record *find(const s6_mem_state *ms, const char *pos_id)
{
    int i = s6_index_get(&ms->by_id, pos_id);
    return i >= 0 ? &ms->recs[i] : NULL;
}

static mem_record *find_or_add(s6_mem_state *ms, const char *pos_id)
{
    mem_record *r = find(ms, pos_id);
    if (r != NULL)
        return r;
    if (grow((void **)&ms->recs, &ms->cap_recs, ms->n_recs, sizeof *r) != 0)
        return NULL;
    if (s6_index_put(&ms->by_id, pos_id, (int)ms->n_recs) != 0)
        return NULL;
    r = &ms->recs[ms->n_recs++];
    memset(r, 0, sizeof *r);
    snprintf(r->pos_id, sizeof r->pos_id, "%s", pos_id);
    return r;
}

static int m_save(void *ud, const s6_engine_record *rec)
{
    s6_mem_state *ms = ud;
    mem_record *r = find_or_add(ms, rec->pos.id);
    char *json = s6_engine_record_encode(rec);
    if (r == NULL || json == NULL) {
        free(json);
        return -ENOMEM;
    }
    free(r->json);
    r->json = json;
    ms->saves++;
    return 0;
}

static int m_event(void *ud, const char *symbol, const char *pos_id,
                   const char *type, const char *json)
{
    s6_mem_state *ms = ud;
    if (grow((void **)&ms->events, &ms->cap_events, ms->n_events,
             sizeof *ms->events) != 0)
        return -ENOMEM;
    s6_mem_event *e = &ms->events[ms->n_events];
    memset(e, 0, sizeof *e);
    snprintf(e->symbol, sizeof e->symbol, "%s", symbol ? symbol : "");
    snprintf(e->pos_id, sizeof e->pos_id, "%s", pos_id ? pos_id : "");
    snprintf(e->type, sizeof e->type, "%s", type ? type : "");
    e->json = strdup(json ? json : "{}");
    if (e->json == NULL)
        return -ENOMEM;
    ms->n_events++;
    return 0;
}

static int m_announce(void *ud, const char *stream, const char *const *fields,
                      size_t n)
{
    s6_mem_state *ms = ud;
    if (grow((void **)&ms->ann, &ms->cap_ann, ms->n_ann, sizeof *ms->ann) != 0)
        return -ENOMEM;
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(fields[i]) + 1;
    char *text = malloc(len);
    if (text == NULL)
        return -ENOMEM;
    text[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            strcat(text, i % 2 ? "=" : " ");
        strcat(text, fields[i]);
    }
    s6_mem_announce *a = &ms->ann[ms->n_ann++];
    snprintf(a->stream, sizeof a->stream, "%s", stream);
    a->fields = text;
    return 0;
}

static int m_reserve(void *ud, const char *pos_id, double budget,
                     int concurrency, void (*done)(void *cb_ud, bool ok),
                     void *cb_ud)
{
    s6_mem_state *ms = ud;
    (void)pos_id;
    if (grow((void **)&ms->queue, &ms->cap_queue, ms->n_queue,
             sizeof *ms->queue) != 0)
        return -ENOMEM;
    bool ok = !ms->refuse && budget <= ms->budget &&
              concurrency <= ms->concurrency;
    if (ok) {
        ms->budget -= budget;
        ms->concurrency -= concurrency;
    }
    ms->queue[ms->n_queue++] = (quota_answer){done, cb_ud, ok};
    return 0;
}

static int m_release(void *ud, const char *pos_id, double budget,
                     int concurrency)
{
    s6_mem_state *ms = ud;
    mem_record *r = find_or_add(ms, pos_id);
    if (r == NULL)
        return -ENOMEM;
    if (r->released)
        return 0; /* the marker: a second release is a no-op */
    r->released = true;
    r->releases++;
    ms->budget += budget;
    ms->concurrency += concurrency;
    return 0;
}

static int m_book_save(void *ud, const char *json)
{
    s6_mem_state *ms = ud;
    char *copy = strdup(json);
    if (copy == NULL)
        return -ENOMEM;
    free(ms->book);
    ms->book = copy;
    return 0;
}

static int m_barrier(void *ud, void (*done)(void *cb_ud, bool ok), void *cb_ud)
{
    (void)ud;
    done(cb_ud, true); /* memory is as durable as it gets */
    return 0;
}

s6_mem_state *s6_mem_state_new(double budget, int concurrency)
{
    s6_mem_state *ms = calloc(1, sizeof *ms);
    if (ms != NULL) {
        ms->budget = budget;
        ms->concurrency = concurrency;
    }
    return ms;
}

void s6_mem_state_free(s6_mem_state *ms)
{
    if (ms == NULL)
        return;
    for (size_t i = 0; i < ms->n_recs; i++)
        free(ms->recs[i].json);
    for (size_t i = 0; i < ms->n_events; i++)
        free(ms->events[i].json);
    for (size_t i = 0; i < ms->n_ann; i++)
        free(ms->ann[i].fields);
    free(ms->recs);
    s6_index_free(&ms->by_id);
    free(ms->events);
    free(ms->ann);
    free(ms->queue);
    free(ms->book);
    free(ms);
}

s6_state_edge s6_mem_state_edge(s6_mem_state *ms)
{
    return (s6_state_edge){.save = m_save, .event = m_event,
                           .announce = m_announce, .quota_reserve = m_reserve,
                           .quota_release = m_release,
                           .book_save = m_book_save, .barrier = m_barrier,
                           .ud = ms};
}

size_t s6_mem_state_pump(s6_mem_state *ms)
{
    size_t n = 0;
    /* an answer may queue another reservation: take them one by one */
    while (ms->n_queue > 0) {
        quota_answer a = ms->queue[0];
        memmove(ms->queue, ms->queue + 1, (ms->n_queue - 1) * sizeof a);
        ms->n_queue--;
        a.done(a.cb_ud, a.ok);
        n++;
    }
    return n;
}

void s6_mem_state_refuse_quota(s6_mem_state *ms, bool refuse)
{
    ms->refuse = refuse;
}

size_t s6_mem_state_n_events(const s6_mem_state *ms) { return ms->n_events; }

const s6_mem_event *s6_mem_state_event(const s6_mem_state *ms, size_t i)
{
    return i < ms->n_events ? &ms->events[i] : NULL;
}

size_t s6_mem_state_count(const s6_mem_state *ms, const char *type,
                          const char *pos_id)
{
    size_t n = 0;
    for (size_t i = 0; i < ms->n_events; i++)
        n += strcmp(ms->events[i].type, type) == 0 &&
             (pos_id == NULL || strcmp(ms->events[i].pos_id, pos_id) == 0);
    return n;
}

size_t s6_mem_state_n_announces(const s6_mem_state *ms) { return ms->n_ann; }

const s6_mem_announce *s6_mem_state_announce(const s6_mem_state *ms, size_t i)
{
    return i < ms->n_ann ? &ms->ann[i] : NULL;
}

double s6_mem_state_budget_free(const s6_mem_state *ms) { return ms->budget; }

int s6_mem_state_concurrency_free(const s6_mem_state *ms)
{
    return ms->concurrency;
}

unsigned s6_mem_state_releases(const s6_mem_state *ms, const char *pos_id)
{
    const mem_record *r = find(ms, pos_id);
    return r != NULL ? r->releases : 0;
}

unsigned s6_mem_state_saves(const s6_mem_state *ms) { return ms->saves; }

const char *s6_mem_state_record(const s6_mem_state *ms, const char *pos_id)
{
    const mem_record *r = find(ms, pos_id);
    return r != NULL ? r->json : NULL;
}

const char *s6_mem_state_book(const s6_mem_state *ms) { return ms->book; }

int s6_mem_state_load(const s6_mem_state *ms, s6_engine_record **recs,
                      size_t *n, char *err, size_t errlen)
{
    *recs = calloc(ms->n_recs + 1, sizeof **recs);
    *n = 0;
    if (*recs == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < ms->n_recs; i++) {
        if (ms->recs[i].json == NULL)
            continue;
        char *rs = NULL;
        int rc = s6_engine_record_decode(ms->recs[i].json, &(*recs)[*n], &rs,
                                         err, errlen);
        if (rc != 0) {
            s6_mem_state_free_records(*recs, *n);
            *recs = NULL;
            *n = 0;
            return rc;
        }
        (*n)++;
    }
    return 0;
}

void s6_mem_state_free_records(s6_engine_record *recs, size_t n)
{
    for (size_t i = 0; recs != NULL && i < n; i++)
        s6_engine_record_release(&recs[i]);
    free(recs);
}
