/*
 * The rule worker process: `s6-position rules worker AS_LIMIT`, started by
 * s6_worker_spawn with the shared memory on fd 3 and the command socket on
 * fd 4.  It holds one ruleset and answers LOAD, CHECK and EVAL until the
 * socket closes.  Everything it must not touch (the service's sockets,
 * files) is closed first; its address space is capped by the OS, so an
 * allocation storm the Lua cap misses ends in this process only.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/s6_core.h"
#include "rules/sink.h"
#include "rules/state_store.h"
#include "rules/watchdog.h"
#include "rules/worker.h"

#if defined(__SANITIZE_ADDRESS__)
#define S6_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define S6_UNDER_ASAN 1
#endif
#endif

typedef struct wk {
    s6_wk_shm *sh;
    s6_wk_layout lay;
    s6_watchdog *wd;
    s6_ruleset *rs;
    s6_state_store store;
    unsigned *before;       /* the batch's state generations before it ran */
    size_t before_cap;
    int ids[64];            /* the rule ids of the set: the only states */
    int nids;
    const char *regimes[64];
} wk;

/* ---- reading the in arena ---- */

typedef struct reader {
    const char *p;
    size_t off, len;
    int bad;
} reader;

/* A length-prefixed string, NUL-terminated in place is impossible (the
 * arena is the service's), so it is copied; NULL for "none". */
static char *get_str(reader *r, size_t *len)
{
    uint32_t n = 0;
    if (r->off + sizeof n > r->len) {
        r->bad = 1;
        return NULL;
    }
    memcpy(&n, r->p + r->off, sizeof n);
    r->off += sizeof n;
    if (n == S6_WK_NONE)
        return NULL;
    if (r->off + n > r->len) {
        r->bad = 1;
        return NULL;
    }
    char *s = malloc((size_t)n + 1);
    if (s == NULL) {
        r->bad = 1;
        return NULL;
    }
    memcpy(s, r->p + r->off, n);
    s[n] = '\0';
    r->off += n;
    if (len != NULL)
        *len = n;
    return s;
}

static void on_fault(void *ud, const s6_rule_fault *f)
{
    wk *w = ud;
    s6_rule_fault *v = (s6_rule_fault *)((char *)w->sh + w->lay.faults);
    if (w->sh->nfaults < S6_WK_MAX_FAULTS)
        v[w->sh->nfaults++] = *f;
}

static void fail(wk *w, int rc, const char *msg)
{
    w->sh->status = rc < 0 ? rc : S6_EINVAL;
    snprintf(w->sh->err, sizeof w->sh->err, "%s", msg);
}

static void free_srcs(s6_rule_src *srcs, size_t n, char *lua_dir, wk *w,
                      size_t nreg)
{
    for (size_t i = 0; i < n; i++) {
        free((char *)srcs[i].name);
        free((char *)srcs[i].chunkname);
        free((char *)srcs[i].source);
        free((char *)srcs[i].params_json);
    }
    for (size_t i = 0; i < nreg; i++)
        free((char *)w->regimes[i]);
    free(lua_dir);
}

static void cmd_load(wk *w)
{
    const s6_wk_load *l = &w->sh->load;
    reader r = {.p = (char *)w->sh + w->lay.in, .len = w->sh->in_len};
    s6_rule_src srcs[64];
    size_t n = l->n_rules <= 64 ? l->n_rules : 64;
    size_t nreg = l->n_regimes <= 64 ? l->n_regimes : 64;
    char *lua_dir = get_str(&r, NULL);
    for (size_t i = 0; i < nreg; i++)
        w->regimes[i] = get_str(&r, NULL);
    memset(srcs, 0, sizeof srcs);
    for (size_t i = 0; i < n && !r.bad; i++) {
        int32_t id = -1;
        if (r.off + sizeof id <= r.len)
            memcpy(&id, r.p + r.off, sizeof id);
        r.off += sizeof id;
        srcs[i].id = id;
        srcs[i].name = get_str(&r, NULL);
        srcs[i].chunkname = get_str(&r, NULL);
        srcs[i].source = get_str(&r, &srcs[i].len);
        srcs[i].params_json = get_str(&r, NULL);
    }
    s6_ruleset_opts o = {
        .lua_dir = lua_dir, .mem_limit = l->mem_limit,
        .deadline_ms = l->deadline_ms,
        .deadline_us_per_eval = l->deadline_us_per_eval,
        .load_deadline_ms = l->load_deadline_ms,
        .max_faults_per_rule = l->max_faults_per_rule,
        .max_actions = l->max_actions, .max_state_bytes = l->max_state_bytes,
        .regimes = w->regimes, .n_regimes = nreg, .watchdog = w->wd,
        .on_fault = on_fault, .fault_ud = w, .progress = &w->sh->prog};
    char err[S6_WK_ERR_LEN] = "";
    int rc = r.bad || lua_dir == NULL ? S6_EINVAL : 0;
    if (rc != 0)
        snprintf(err, sizeof err, "malformed load request");
    else
        rc = s6_ruleset_new(&o, srcs, n, &w->rs, err, sizeof err);
    if (rc != 0)
        fail(w, rc, err);
    for (size_t i = 0; rc == 0 && i < n; i++)
        w->ids[w->nids++] = srcs[i].id;
    /* the ruleset copied what it keeps (the Lua state holds the sources) */
    free_srcs(srcs, n, lua_dir, w, nreg);
}

static void cmd_check(wk *w)
{
    char err[S6_WK_ERR_LEN] = "";
    int rc = w->rs != NULL ? s6_ruleset_self_check(w->rs, err, sizeof err)
                           : S6_EINVAL;
    if (rc != 0)
        fail(w, rc, w->rs != NULL ? err : "no ruleset loaded");
}

/* ---- evaluation ---- */

static int shape_store(wk *w)
{
    if (w->store.nslots == w->sh->nslots && w->store.nrules == w->sh->nrules)
        return 0;
    s6_state_store_free(&w->store);
    return s6_state_store_init(&w->store, w->sh->nslots, w->sh->nrules);
}

/* States and slot names the service sent. */
static void apply_in(wk *w)
{
    const char *p = (char *)w->sh + w->lay.in;
    size_t off = 0;
    for (uint32_t k = 0; k < w->sh->n_in && off < w->sh->in_len; k++) {
        s6_wk_rec rec;
        memcpy(&rec, p + off, sizeof rec);
        const char *body = p + off + sizeof rec;
        off += s6_wk_rec_size(rec.len);
        if (off > w->sh->in_len)
            break;
        if (rec.rule_id == S6_WK_SLOT_NAMES && rec.len != S6_WK_NONE &&
            rec.len > 1 && body[rec.len - 1] == '\0')
            (void)s6_ruleset_set_slot(w->rs, rec.slot, body,
                                      body + strlen(body) + 1);
        else if (rec.rule_id >= 0)
            (void)s6_state_set(&w->store, rec.slot, rec.rule_id,
                               rec.len == S6_WK_NONE ? NULL : body,
                               rec.len == S6_WK_NONE ? 0 : rec.len);
    }
}

static unsigned *gen_at(wk *w, size_t i, int k)
{
    return &w->before[i * (size_t)w->nids + (size_t)k];
}

static int note_gens(wk *w, const s6_pos_view *pos, size_t n)
{
    size_t need = n * (size_t)w->nids;
    if (need > w->before_cap) {
        unsigned *b = realloc(w->before, need * sizeof *b);
        if (b == NULL)
            return S6_ERANGE;
        w->before = b;
        w->before_cap = need;
    }
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < w->nids; k++)
            *gen_at(w, i, k) = s6_state_gen(&w->store, pos[i].slot,
                                            w->ids[k]);
    return 0;
}

/* Changed states go back; one too big for the arena is a fault of its
 * rule, and the service keeps the state it had. */
static void send_states(wk *w, const s6_pos_view *pos, size_t n)
{
    char *p = (char *)w->sh + w->lay.out;
    size_t off = 0;
    uint32_t nrec = 0;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < w->nids; k++) {
            int slot = pos[i].slot, id = w->ids[k];
            if (s6_state_gen(&w->store, slot, id) == *gen_at(w, i, k))
                continue;
            size_t len = 0;
            const char *js = s6_state_get(&w->store, slot, id, &len);
            uint32_t l = js != NULL ? (uint32_t)len : S6_WK_NONE;
            if (off + s6_wk_rec_size(l) > w->lay.out_cap)
                continue;
            s6_wk_rec rec = {.slot = slot, .rule_id = id, .len = l};
            memcpy(p + off, &rec, sizeof rec);
            if (js != NULL)
                memcpy(p + off + sizeof rec, js, len);
            off += s6_wk_rec_size(l);
            nrec++;
        }
    w->sh->out_len = off;
    w->sh->n_out = nrec;
}

static void cmd_eval(wk *w)
{
    const s6_pos_view *pos = (void *)((char *)w->sh + w->lay.pos);
    const s6_mkt_view *mkt = (void *)((char *)w->sh + w->lay.mkt);
    size_t n = w->sh->n <= S6_WK_MAX_POS ? w->sh->n : 0;
    s6_sink sink;
    (void)s6_sink_init_buf(&sink, (void *)((char *)w->sh + w->lay.props),
                           S6_WK_MAX_PROPS);
    if (w->rs == NULL || shape_store(w) != 0) {
        fail(w, S6_EINVAL, "no ruleset loaded or no memory for states");
        return;
    }
    apply_in(w);
    if (note_gens(w, pos, n) != 0) {
        fail(w, S6_ERANGE, "no memory for the batch");
        return;
    }
    int rc = s6_ruleset_eval(w->rs, pos, mkt, n, &sink, &w->store,
                             &w->sh->report);
    if (rc != 0)
        fail(w, rc, "evaluation refused");
    w->sh->nprops = (uint32_t)sink.n;
    w->sh->dropped = sink.dropped;
    memcpy(w->sh->capped, sink.capped, sizeof w->sh->capped);
    send_states(w, pos, n);
}

static void serve(wk *w)
{
    for (;;) {
        uint32_t seq = 0;
        ssize_t k = recv(S6_WK_SOCK, &seq, sizeof seq, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k != (ssize_t)sizeof seq)
            return; /* the service closed: nothing left to do */
        s6_wk_shm *sh = w->sh;
        sh->nfaults = sh->nprops = sh->n_out = 0;
        sh->out_len = sh->dropped = 0;
        memset(&sh->report, 0, sizeof sh->report);
        memset(&sh->prog, 0, sizeof sh->prog);
        sh->phase = (int32_t)sh->cmd; /* each command is its phase */
        if (sh->cmd == S6_WK_CMD_LOAD && w->rs == NULL)
            cmd_load(w);
        else if (sh->cmd == S6_WK_CMD_CHECK)
            cmd_check(w);
        else if (sh->cmd == S6_WK_CMD_EVAL)
            cmd_eval(w);
        else
            fail(w, S6_EINVAL, "unknown command");
        sh->mem_used = s6_ruleset_mem_used(w->rs);
        sh->phase = S6_WK_PHASE_IDLE;
        if (send(S6_WK_SOCK, &seq, sizeof seq, MSG_NOSIGNAL) != sizeof seq)
            return;
    }
}

/* Only the shared memory, the socket and stdio stay open. */
static void close_others(void)
{
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536)
        max = 65536;
    for (int fd = S6_WK_SOCK + 1; fd < max; fd++)
        close(fd);
}

static void limit_memory(const char *arg)
{
    unsigned long long as = arg != NULL ? strtoull(arg, NULL, 10) : 0;
#ifndef S6_UNDER_ASAN
    /* ASan reserves terabytes of shadow: there, only the Lua cap holds */
    if (as > 0) {
        struct rlimit rl = {.rlim_cur = as, .rlim_max = as};
        (void)setrlimit(RLIMIT_AS, &rl);
    }
#else
    (void)as;
#endif
}

int s6_worker_main(const char *as_limit)
{
    /* dies with the service; a terminal's ^C is the service's to handle */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    signal(SIGINT, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    close_others();
    s6_wk_layout lay = s6_wk_layout_get();
    void *p = mmap(NULL, lay.total, PROT_READ | PROT_WRITE, MAP_SHARED,
                   S6_WK_FD, 0);
    if (p == MAP_FAILED)
        return 2;
    limit_memory(as_limit);
    wk w = {.sh = p, .lay = lay};
    if (s6_watchdog_start(&w.wd) != 0)
        return 2;
    serve(&w);
    s6_ruleset_free(w.rs);
    s6_state_store_free(&w.store);
    free(w.before);
    s6_watchdog_stop(w.wd);
    return 0;
}
