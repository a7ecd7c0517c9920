/*
 * A ruleset in a worker process.  The batch goes over in shared memory,
 * chunked only when it exceeds the regions; rule states cross only when
 * they changed on the other side (`sent` remembers the generation the
 * worker holds for each cell), so a steady batch sends views and gets
 * proposals back, nothing else.
 */
#include "rules/remote.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The states the rules changed, into the service's store. */
static void take_states(s6_remote *r, s6_state_store *st)
{
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
        unsigned g = s6_state_set(st, rec.slot, rec.rule_id,
                                  rec.len == S6_WK_NONE ? NULL : body,
                                  rec.len == S6_WK_NONE ? 0 : rec.len);
        r->sent[(size_t)rec.slot * (size_t)st->nrules + (size_t)rec.rule_id] =
            g;
    }
}

static void take_results(s6_remote *r, size_t base, s6_sink *sink,
                         s6_eval_report *rep)
{
    const s6_wk_shm *sh = s6_worker_shm(r->w);
    const s6_proposal *props = s6_worker_region(r->w, r->lay.props);
    for (uint32_t i = 0; i < sh->nprops && i < S6_WK_MAX_PROPS; i++) {
        s6_proposal p = props[i];
        p.pos_index += (int)base;
        (void)s6_sink_put(sink, &p);
    }
    sink->dropped += sh->dropped;
    for (int i = 0; i < 64; i++)
        sink->capped[i] += sh->capped[i];
    const s6_rule_fault *f = s6_worker_region(r->w, r->lay.faults);
    for (uint32_t i = 0; i < sh->nfaults && i < S6_WK_MAX_FAULTS; i++) {
        s6_rule_fault x = f[i];
        x.message[sizeof x.message - 1] = '\0';
        x.pos_index = x.pos_index >= 0 ? x.pos_index + (int)base : -1;
        if (r->opts.on_fault != NULL)
            r->opts.on_fault(r->opts.fault_ud, &x);
    }
    rep->errors += sh->report.errors;
    rep->overruns += sh->report.overruns;
    rep->oom += sh->report.oom;
    r->mem_used = sh->mem_used;
}

/* The worker died under a batch: the rule it was in takes the blame. */
static void post_mortem(s6_remote *r, size_t base, int rc, const char *how)
{
    const s6_wk_shm *sh = s6_worker_shm(r->w);
    int c = culprit(r);
    s6_rule_fault f = {.pos_index = c >= 0 ? sh->prog.pos + (int)base : -1,
                       .rule_id = c >= 0 ? r->ids[c] : -1,
                       .overrun = rc == -ETIMEDOUT, .fatal = 1};
    snprintf(f.message, sizeof f.message, "%s: rule worker %s while the rule "
             "ran", c >= 0 ? r->chunk[c] : "rules", how);
    if (r->opts.on_fault != NULL)
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

/* One crossing: positions [from, to') with to' <= to; returns to'. */
static int crossing(s6_remote *r, const s6_pos_view *pos,
                    const s6_mkt_view *mkt, size_t from, size_t to,
                    s6_sink *sink, s6_state_store *st, s6_eval_report *rep,
                    size_t *end)
{
    s6_wk_shm *sh = s6_worker_shm(r->w);
    arena a = {.base = s6_worker_region(r->w, r->lay.in),
               .cap = r->lay.in_cap};
    put_names(r, &a);
    if (to - from > S6_WK_MAX_POS)
        to = from + S6_WK_MAX_POS;
    size_t want = to;
    to = sync_states(r, &a, pos, from, to, st);
    if (to == from && want > from)
        return S6_ERANGE; /* one position's states exceed the arena */
    size_t n = to - from;
    memcpy(s6_worker_region(r->w, r->lay.pos), pos + from, n * sizeof *pos);
    memcpy(s6_worker_region(r->w, r->lay.mkt), mkt + from, n * sizeof *mkt);
    sh->n = (uint32_t)n;
    sh->nslots = st->nslots;
    sh->nrules = st->nrules;
    sh->in_len = a.len;
    sh->n_in = a.nrec;
    char how[128];
    int rc = s6_worker_call(r->w, S6_WK_CMD_EVAL,
                            hard_ms(eval_budget(r, n)), how, sizeof how);
    if (rc != 0) {
        post_mortem(r, from, rc, how);
        return rc;
    }
    take_states(r, st);
    take_results(r, from, sink, rep);
    *end = to;
    return S6_OK;
}

int s6_remote_eval(s6_remote *r, const s6_pos_view *pos,
                   const s6_mkt_view *mkt, size_t n, s6_sink *sink,
                   s6_state_store *store, s6_eval_report *report)
{
    s6_eval_report rep = {0};
    if (!s6_worker_alive(r->w))
        return -EPIPE;
    if (track(r, store) != 0)
        return S6_ERANGE;
    size_t done = 0;
    int rc = 0;
    do /* at least once: slot names may be waiting even for no position */
        rc = crossing(r, pos, mkt, done, n, sink, store, &rep, &done);
    while (rc == 0 && done < n);
    rep.positions = done;
    if (report != NULL)
        *report = rep;
    return rc;
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

void s6_remote_free(s6_remote *r)
{
    if (r == NULL)
        return;
    s6_worker_free(r->w);
    free(r->sent);
    free(r->names);
    free(r);
}
