/*
 * A ruleset in a worker process.  The batch goes over in shared memory,
 * chunked only when it exceeds the regions; rule states cross only when
 * they changed on the other side (`sent` remembers the generation the
 * worker holds for each cell), so a steady batch sends views and gets
 * proposals back, nothing else.
 */
#include "rules/remote.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "core/s6_core.h"
#include "rules/sink.h"
#include "rules/state_store.h"
#include "rules/worker.h"

struct s6_remote {
    s6_ruleset_opts opts;
    s6_worker *w;
    s6_wk_layout lay;
    int nrules;
    int ids[64];              /* Lua rule index - 1 -> rule id */
    char chunk[64][128];      /* each rule's chunkname, for the post-mortem */
    const s6_state_store *store; /* the store `sent` describes */
    unsigned *sent;
    size_t nsent;
    char *names;              /* slot names waiting for the next batch */
    size_t names_len, names_cap;
    size_t mem_used;
    s6_eval_call *call;       /* the evaluation in flight, if any */
    int doomed;               /* freed by its owner while a call was out */
};

/* ---- the in arena ---- */

typedef struct arena {
    char *base;
    size_t len, cap;
    uint32_t nrec;
} arena;

static int put(arena *a, const void *p, size_t n)
{
    if (a->len + n > a->cap)
        return -1;
    memcpy(a->base + a->len, p, n);
    a->len += n;
    return 0;
}

static int put_str(arena *a, const char *s, size_t n)
{
    uint32_t len = s != NULL ? (uint32_t)n : S6_WK_NONE;
    return put(a, &len, sizeof len) || (s != NULL && put(a, s, n)) ? -1 : 0;
}

/* A record with its body, padded to 8 bytes. */
static int put_rec(arena *a, int32_t slot, int32_t rule, const char *body,
                   uint32_t len)
{
    size_t need = s6_wk_rec_size(len);
    if (a->len + need > a->cap)
        return -1;
    s6_wk_rec r = {.slot = slot, .rule_id = rule, .len = len};
    memcpy(a->base + a->len, &r, sizeof r);
    if (len != S6_WK_NONE && len > 0)
        memcpy(a->base + a->len + sizeof r, body, len);
    a->len += need;
    a->nrec++;
    return 0;
}

/* ---- load ---- */

static int write_load(s6_remote *r, const s6_rule_src *rules, size_t n)
{
    s6_wk_shm *sh = s6_worker_shm(r->w);
    const s6_ruleset_opts *o = &r->opts;
    sh->load = (s6_wk_load){
        .mem_limit = o->mem_limit, .deadline_ms = o->deadline_ms,
        .deadline_us_per_eval = o->deadline_us_per_eval,
        .load_deadline_ms = o->load_deadline_ms,
        .max_faults_per_rule = o->max_faults_per_rule,
        .max_actions = o->max_actions,
        .max_state_bytes = (uint32_t)o->max_state_bytes,
        .n_regimes = (uint32_t)o->n_regimes, .n_rules = (uint32_t)n};
    arena a = {.base = s6_worker_region(r->w, r->lay.in),
               .cap = r->lay.in_cap};
    int bad = put_str(&a, o->lua_dir, strlen(o->lua_dir));
    for (size_t i = 0; i < o->n_regimes; i++)
        bad |= put_str(&a, o->regimes[i], strlen(o->regimes[i]));
    for (size_t i = 0; i < n; i++) {
        const s6_rule_src *s = &rules[i];
        int32_t id = s->id;
        bad |= put(&a, &id, sizeof id);
        bad |= put_str(&a, s->name, strlen(s->name));
        bad |= put_str(&a, s->chunkname, strlen(s->chunkname));
        bad |= put_str(&a, s->source, s->len);
        bad |= put_str(&a, s->params_json, s->params_json != NULL
                                               ? strlen(s->params_json) : 0);
        r->ids[i] = s->id;
        snprintf(r->chunk[i], sizeof r->chunk[i], "%s", s->chunkname);
    }
    sh->in_len = a.len;
    r->nrules = (int)n;
    return bad ? S6_ERANGE : S6_OK;
}

/* The wall-clock limit of a command: the worker's own deadline, then as
 * much again and a margin for a busy machine; only C code the hook cannot
 * reach (or a crash) gets that far. */
static uint32_t hard_ms(uint32_t soft_ms)
{
    uint64_t ms = (uint64_t)soft_ms * 2 + 200;
    return ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}

/* Which rule the last command was in (the worker clears it before each
 * command and sets it before it runs a rule), also when it died there. */
static int culprit(const s6_remote *r)
{
    int i = s6_worker_shm(r->w)->prog.rule;
    return i >= 1 && i <= r->nrules ? i - 1 : -1;
}

/* A command on the loading path; on failure err names the rule's file. */
static int load_call(s6_remote *r, uint32_t cmd, uint32_t soft_ms, char *err,
                     size_t errlen)
{
    char how[128];
    s6_wk_shm *sh = s6_worker_shm(r->w);
    int rc = s6_worker_call(r->w, cmd, hard_ms(soft_ms), how, sizeof how);
    if (rc == 0 && sh->status == 0) {
        r->mem_used = sh->mem_used;
        return S6_OK;
    }
    int c = culprit(r);
    if (rc == 0) { /* a refused self-check names its file first (a load
                    * error already says file:line or the parameter path) */
        const char *file = cmd == S6_WK_CMD_CHECK && c >= 0 &&
                                   strstr(sh->err, r->chunk[c]) == NULL
                               ? r->chunk[c] : NULL;
        snprintf(err, errlen, "%s%s%.*s", file ? file : "", file ? ": " : "",
                 S6_WK_ERR_LEN, sh->err);
        return sh->status < 0 ? sh->status : S6_EINVAL;
    }
    snprintf(err, errlen, "%s: rule worker %s while %s it (a hang or crash "
             "in C code: catastrophic pattern, recursion, memory)",
             c >= 0 ? r->chunk[c] : "rules", how,
             cmd == S6_WK_CMD_LOAD ? "loading" : "self-checking");
    return rc;
}

int s6_remote_new(const s6_ruleset_opts *opts, const s6_rule_src *rules,
                  size_t n, s6_remote **out, char *err, size_t errlen)
{
    *out = NULL;
    if (n > 64) {
        snprintf(err, errlen, "more than 64 rules");
        return S6_ERANGE;
    }
    s6_remote *r = calloc(1, sizeof *r);
    if (r == NULL)
        return S6_ERANGE;
    r->opts = *opts;
    r->lay = s6_wk_layout_get();
    int rc = s6_worker_spawn(opts->worker_exe, opts->worker_as_limit, &r->w,
                             err, errlen);
    if (rc == 0 && (rc = write_load(r, rules, n)) != 0)
        snprintf(err, errlen, "rule sources larger than the worker's arena");
    uint32_t soft = opts->load_deadline_ms * (uint32_t)(n + 1);
    if (rc == 0)
        rc = load_call(r, S6_WK_CMD_LOAD, soft, err, errlen);
    if (rc != 0) {
        s6_remote_free(r);
        return rc;
    }
    *out = r;
    return S6_OK;
}

int s6_remote_self_check(s6_remote *r, char *err, size_t errlen)
{
    return load_call(r, S6_WK_CMD_CHECK, r->opts.load_deadline_ms, err,
                     errlen);
}

/* ---- evaluation ---- */

/*
 * One evaluation, crossing by crossing.  Waited for (s6_remote_eval) or
 * driven by the loop (s6_remote_eval_start): the answer's socket is
 * watched, a timer holds the hard limit, and done runs once the last
 * crossing is back.  A position the caller no longer holds as it was
 * (keep says 0) loses its proposals and its state changes; the worker is
 * told the service's state again next time.
 */
struct s6_eval_call {
    s6_remote *r;
    const s6_pos_view *pos;
    const s6_mkt_view *mkt;
    size_t n, from, to;
    s6_sink *sink;
    s6_state_store *st;
    s6_eval_report rep;
    s6_eval_async a;            /* a.loop NULL: waited for */
    uint32_t seq, hard;
    uint64_t due_ms;            /* the hard limit, on uv_hrtime's clock */
    unsigned char *stale;       /* by slot, this crossing's dropped ones */
    uv_poll_t poll;
    uv_timer_t timer;
    int handles;                /* open handles; freed when none is left */
};

/* `sent` follows the store it describes; a new store starts from nothing. */
static int track(s6_remote *r, const s6_state_store *st)
{
    size_t need = (size_t)st->nslots * (size_t)st->nrules;
    if (r->store == st && r->nsent == need)
        return 0;
    free(r->sent);
    r->sent = calloc(need, sizeof *r->sent);
    r->nsent = r->sent != NULL ? need : 0;
    r->store = st;
    return r->sent != NULL ? 0 : S6_ERANGE;
}

/* The states of positions [from, to) the worker does not hold yet; returns
 * the end of the positions whose states all fit. */
static size_t sync_states(s6_remote *r, arena *a, const s6_pos_view *pos,
                          size_t from, size_t to, const s6_state_store *st)
{
    for (size_t i = from; i < to; i++) {
        int slot = pos[i].slot;
        size_t mark = a->len;
        uint32_t nrec = a->nrec;
        for (int k = 0; k < r->nrules; k++) {
            int id = r->ids[k];
            if (slot < 0 || slot >= st->nslots || id >= st->nrules)
                continue;
            size_t c = (size_t)slot * (size_t)st->nrules + (size_t)id;
            unsigned g = s6_state_gen(st, slot, id);
            if (g == r->sent[c])
                continue;
            size_t len = 0;
            const char *js = s6_state_get(st, slot, id, &len);
            if (put_rec(a, slot, id, js, js ? (uint32_t)len : S6_WK_NONE)) {
                a->len = mark, a->nrec = nrec; /* next crossing */
                return i;
            }
        }
        for (int k = 0; k < r->nrules; k++) { /* all of it went */
            int id = r->ids[k];
            if (slot >= 0 && slot < st->nslots && id < st->nrules)
                r->sent[(size_t)slot * (size_t)st->nrules + (size_t)id] =
                    s6_state_gen(st, slot, id);
        }
    }
    return to;
}

static bool dropped_slot(const s6_eval_call *c, int slot)
{
    return c->stale != NULL && slot >= 0 && slot < c->st->nslots &&
           c->stale[slot];
}

/* The states the rules changed, into the service's store. */
static void take_states(s6_eval_call *c)
{
    s6_remote *r = c->r;
    s6_state_store *st = c->st;
    const s6_wk_shm *sh = s6_worker_shm(r->w);
    const char *p = s6_worker_region(r->w, r->lay.out);
    size_t off = 0;
    for (uint32_t k = 0; k < sh->n_out && off < sh->out_len; k++) {
        s6_wk_rec rec;
        memcpy(&rec, p + off, sizeof rec);
        const char *body = p + off + sizeof rec;
        off += s6_wk_rec_size(rec.len);
        if (off > sh->out_len || rec.slot < 0 || rec.slot >= st->nslots ||
            rec.rule_id < 0 || rec.rule_id >= st->nrules)
            break;
        size_t cell = (size_t)rec.slot * (size_t)st->nrules +
                      (size_t)rec.rule_id;
        if (dropped_slot(c, rec.slot)) {
            r->sent[cell] = S6_STATE_GEN_NONE; /* sent again */
            continue;
        }
        r->sent[cell] = s6_state_set(st, rec.slot, rec.rule_id,
                                     rec.len == S6_WK_NONE ? NULL : body,
                                     rec.len == S6_WK_NONE ? 0 : rec.len);
    }
}

static void take_results(s6_eval_call *c)
{
    s6_remote *r = c->r;
    const s6_wk_shm *sh = s6_worker_shm(r->w);
    const s6_proposal *props = s6_worker_region(r->w, r->lay.props);
    for (uint32_t i = 0; i < sh->nprops && i < S6_WK_MAX_PROPS; i++) {
        s6_proposal p = props[i];
        p.pos_index += (int)c->from;
        if (p.pos_index >= 0 && (size_t)p.pos_index < c->n &&
            dropped_slot(c, c->pos[p.pos_index].slot))
            continue;
        (void)s6_sink_put(c->sink, &p);
    }
    c->sink->dropped += sh->dropped;
    for (int i = 0; i < 64; i++)
        c->sink->capped[i] += sh->capped[i];
    const s6_rule_fault *f = s6_worker_region(r->w, r->lay.faults);
    for (uint32_t i = 0; i < sh->nfaults && i < S6_WK_MAX_FAULTS; i++) {
        s6_rule_fault x = f[i];
        x.message[sizeof x.message - 1] = '\0';
        x.pos_index = x.pos_index >= 0 ? x.pos_index + (int)c->from : -1;
        if (r->opts.on_fault != NULL && !r->doomed)
            r->opts.on_fault(r->opts.fault_ud, &x);
    }
    c->rep.errors += sh->report.errors;
    c->rep.overruns += sh->report.overruns;
    c->rep.oom += sh->report.oom;
    r->mem_used = sh->mem_used;
}

/* The worker died under a batch: the rule it was in takes the blame
 * (unless its set is no longer live: the blame would land on another). */
static void post_mortem(s6_eval_call *c, int rc, const char *how)
{
    s6_remote *r = c->r;
    const s6_wk_shm *sh = s6_worker_shm(r->w);
    int k = culprit(r);
    s6_rule_fault f = {.pos_index = k >= 0 ? sh->prog.pos + (int)c->from : -1,
                       .rule_id = k >= 0 ? r->ids[k] : -1,
                       .overrun = rc == -ETIMEDOUT, .fatal = 1};
    snprintf(f.message, sizeof f.message, "%s: rule worker %s while the rule "
             "ran", k >= 0 ? r->chunk[k] : "rules", how);
    if (r->opts.on_fault != NULL && !r->doomed)
        r->opts.on_fault(r->opts.fault_ud, &f);
}

static void put_names(s6_remote *r, arena *a)
{
    if (r->names_len > 0 && put(a, r->names, r->names_len) == 0) {
        for (size_t off = 0; off < r->names_len;
             off += s6_wk_rec_size(((s6_wk_rec *)(r->names + off))->len))
            a->nrec++;
        r->names_len = 0;
    }
}

static uint32_t eval_budget(const s6_remote *r, size_t n)
{
    double ms = r->opts.deadline_ms + r->opts.deadline_us_per_eval *
                                          (double)n / 1000.0;
    ms *= 2; /* a fault resumes the batch with a fresh deadline */
    return ms > 1e9 ? 1000000000u : (uint32_t)ms + 1;
}

static uint64_t now_ms(void)
{
    return uv_hrtime() / 1000000u;
}

/* Sends the crossing of positions [c->from, c->to) with c->to as far as
 * the regions take. */
static int send_crossing(s6_eval_call *c)
{
    s6_remote *r = c->r;
    s6_wk_shm *sh = s6_worker_shm(r->w);
    arena a = {.base = s6_worker_region(r->w, r->lay.in),
               .cap = r->lay.in_cap};
    put_names(r, &a);
    size_t to = c->n - c->from > S6_WK_MAX_POS ? c->from + S6_WK_MAX_POS
                                                : c->n;
    size_t want = to;
    to = sync_states(r, &a, c->pos, c->from, to, c->st);
    if (to == c->from && want > c->from)
        return S6_ERANGE; /* one position's states exceed the arena */
    size_t n = to - c->from;
    memcpy(s6_worker_region(r->w, r->lay.pos), c->pos + c->from,
           n * sizeof *c->pos);
    memcpy(s6_worker_region(r->w, r->lay.mkt), c->mkt + c->from,
           n * sizeof *c->mkt);
    sh->n = (uint32_t)n;
    sh->nslots = c->st->nslots;
    sh->nrules = c->st->nrules;
    sh->in_len = a.len;
    sh->n_in = a.nrec;
    c->to = to;
    c->hard = hard_ms(eval_budget(r, n));
    c->due_ms = now_ms() + c->hard;
    return s6_worker_send(r->w, S6_WK_CMD_EVAL, &c->seq);
}

/* Which positions of the crossing the caller dropped, by slot. */
static void mark_dropped(s6_eval_call *c)
{
    if (c->stale == NULL)
        return;
    memset(c->stale, 0, (size_t)c->st->nslots);
    for (size_t i = c->from; i < c->to; i++) {
        int slot = c->pos[i].slot;
        if (slot >= 0 && slot < c->st->nslots && !c->a.keep(c->a.ud, i))
            c->stale[slot] = 1;
    }
}

/*
 * The crossing's outcome (rc of the wait, how the worker ended): its
 * answer taken, and the next crossing sent.  Returns 1 while a crossing
 * is out, else the evaluation's result.
 */
static int advance(s6_eval_call *c, int rc, const char *how)
{
    if (rc != 0) {
        post_mortem(c, rc, how);
        return rc;
    }
    mark_dropped(c);
    take_states(c);
    take_results(c);
    c->from = c->to;
    c->rep.positions = c->from;
    if (c->from >= c->n)
        return S6_OK;
    rc = send_crossing(c);
    return rc != 0 ? rc : 1;
}

static int begin(s6_remote *r, s6_eval_call *c)
{
    if (!s6_worker_alive(r->w))
        return -EPIPE;
    if (r->call != NULL)
        return -EBUSY; /* the worker answers one batch at a time */
    if (track(r, c->st) != 0)
        return S6_ERANGE;
    /* at least one crossing: slot names may wait even for no position */
    return send_crossing(c);
}

/* The crossings one after the other, each waited for. */
static int run_waited(s6_eval_call *c)
{
    int rc = 1;
    while (rc == 1) {
        char how[128];
        rc = advance(c, s6_worker_await(c->r->w, c->seq, c->hard, how,
                                        sizeof how), how);
    }
    return rc;
}

int s6_remote_eval(s6_remote *r, const s6_pos_view *pos,
                   const s6_mkt_view *mkt, size_t n, s6_sink *sink,
                   s6_state_store *store, s6_eval_report *report)
{
    s6_eval_call c = {.r = r, .pos = pos, .mkt = mkt, .n = n, .sink = sink,
                      .st = store};
    int rc = begin(r, &c);
    if (rc == 0)
        rc = run_waited(&c);
    if (report != NULL)
        *report = c.rep;
    return rc;
}

/* ---- without waiting ---- */

static void really_free(s6_remote *r);

static void handle_closed(uv_handle_t *h)
{
    s6_eval_call *c = h->data;
    if (--c->handles == 0) {
        free(c->stale);
        free(c);
    }
}

/* The evaluation is over: the handles go, then done runs last (it may
 * free the remote, e.g. a rollback after this batch). */
static void finish(s6_eval_call *c, int rc, bool deliver)
{
    s6_remote *r = c->r;
    r->call = NULL;
    uv_close((uv_handle_t *)&c->poll, handle_closed);
    uv_close((uv_handle_t *)&c->timer, handle_closed);
    s6_remote *doomed = r->doomed ? r : NULL;
    if (deliver && c->a.done != NULL)
        c->a.done(c->a.ud, rc);
    if (doomed != NULL)
        really_free(doomed);
}

static void step(s6_eval_call *c, int rc, const char *how);

static void on_timer(uv_timer_t *t)
{
    s6_eval_call *c = t->data;
    char how[128];
    s6_worker_kill(c->r->w, c->hard, how, sizeof how);
    step(c, -ETIMEDOUT, how);
}

static void on_readable(uv_poll_t *p, int status, int events)
{
    (void)events;
    s6_eval_call *c = p->data;
    char how[128] = "";
    int rc = -EPIPE;
    if (status < 0)
        s6_worker_kill(c->r->w, 0, how, sizeof how);
    else
        rc = s6_worker_try(c->r->w, c->seq, how, sizeof how);
    if (rc != 1)
        step(c, rc, how);
}

/* Arms the watch and the limit for the crossing just sent. */
static int arm(s6_eval_call *c)
{
    int rc = uv_timer_start(&c->timer, on_timer, c->hard, 0);
    return rc != 0 ? rc
                   : uv_poll_start(&c->poll, UV_READABLE | UV_DISCONNECT,
                                   on_readable);
}

static void step(s6_eval_call *c, int rc, const char *how)
{
    rc = advance(c, rc, how);
    if (rc == 1 && (rc = arm(c)) == 0)
        return;
    uv_timer_stop(&c->timer);
    uv_poll_stop(&c->poll);
    finish(c, rc, true);
}

int s6_remote_eval_start(s6_remote *r, const s6_pos_view *pos,
                         const s6_mkt_view *mkt, size_t n, s6_sink *sink,
                         s6_state_store *store, const s6_eval_async *a,
                         s6_eval_call **out)
{
    *out = NULL;
    s6_eval_call *c = calloc(1, sizeof *c);
    if (c == NULL)
        return S6_ERANGE;
    *c = (s6_eval_call){.r = r, .pos = pos, .mkt = mkt, .n = n, .sink = sink,
                        .st = store, .a = *a};
    int rc = a->keep != NULL &&
                     (c->stale = calloc((size_t)store->nslots + 1, 1)) == NULL
                 ? S6_ERANGE : begin(r, c);
    if (rc != 0) {
        free(c->stale);
        free(c);
        return rc;
    }
    if (uv_timer_init(a->loop, &c->timer) == 0) {
        c->timer.data = c;
        c->handles = 1;
        if (uv_poll_init(a->loop, &c->poll, s6_worker_fd(r->w)) == 0) {
            c->poll.data = c;
            c->handles = 2;
            if (arm(c) == 0) {
                r->call = c;
                *out = c;
                return S6_OK;
            }
        }
    }
    rc = run_waited(c); /* the answer cannot be watched: waited for here */
    if (c->handles == 0) {
        free(c->stale);
        free(c);
        return rc;
    }
    uv_timer_stop(&c->timer);
    if (c->handles == 2)
        uv_poll_stop(&c->poll);
    uv_close((uv_handle_t *)&c->timer, handle_closed);
    if (c->handles == 2)
        uv_close((uv_handle_t *)&c->poll, handle_closed);
    return rc;
}

/* Waits here for what the loop would have: bounded by the hard limit. */
static void wait_out(s6_eval_call *c, bool deliver)
{
    uv_timer_stop(&c->timer);
    uv_poll_stop(&c->poll);
    int rc = 1;
    while (rc == 1) {
        uint64_t now = now_ms();
        uint32_t left = c->due_ms > now ? (uint32_t)(c->due_ms - now) : 0;
        char how[128];
        rc = advance(c, s6_worker_await(c->r->w, c->seq, left, how,
                                        sizeof how), how);
    }
    finish(c, rc, deliver);
}

void s6_eval_call_settle(s6_eval_call *c)
{
    if (c != NULL)
        wait_out(c, true);
}

void s6_eval_call_cancel(s6_eval_call *c)
{
    if (c != NULL)
        wait_out(c, false);
}

int s6_remote_set_slot(s6_remote *r, int slot, const char *id,
                       const char *symbol)
{
    size_t li = strlen(id), ls = strlen(symbol);
    uint32_t len = (uint32_t)(li + ls + 2);
    size_t need = r->names_len + s6_wk_rec_size(len);
    if (need > r->names_cap) {
        size_t cap = need * 2;
        char *p = realloc(r->names, cap);
        if (p == NULL)
            return S6_ERANGE;
        r->names = p;
        r->names_cap = cap;
    }
    arena a = {.base = r->names, .len = r->names_len, .cap = r->names_cap};
    char body[256];
    if (len > sizeof body)
        return S6_EINVAL;
    memcpy(body, id, li + 1);
    memcpy(body + li + 1, symbol, ls + 1);
    (void)put_rec(&a, slot, S6_WK_SLOT_NAMES, body, len);
    r->names_len = a.len;
    return S6_OK;
}

size_t s6_remote_mem_used(const s6_remote *r)
{
    return r->mem_used;
}

int s6_remote_alive(const s6_remote *r)
{
    return s6_worker_alive(r->w);
}

static void really_free(s6_remote *r)
{
    s6_worker_free(r->w);
    free(r->sent);
    free(r->names);
    free(r);
}

/* A set replaced under a batch in flight lives until its answer (or its
 * hard limit): the batch was the live set's when it left. */
void s6_remote_free(s6_remote *r)
{
    if (r == NULL)
        return;
    if (r->call != NULL)
        r->doomed = 1;
    else
        really_free(r);
}
