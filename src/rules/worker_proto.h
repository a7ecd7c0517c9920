/*
 * worker_proto.h — the memory the service and a rule worker share.
 *
 * One memfd per worker, mapped by both: a header, then fixed regions for
 * the batch (position and market views), the proposals the rules return,
 * the faults, and two byte arenas (what the service sends: rule sources,
 * rule states, slot names; what the worker sends back: changed states).
 * A command crosses as one 4-byte sequence number on a socket each way,
 * so a batch costs one round trip whatever its size.
 *
 * The service reads the worker's part only after the answer arrived, or
 * after it killed the worker: then `prog` says which rule was running.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "contract/plan.h"
#include "contract/s6_rule_abi.h"
#include "rules/ruleset.h"

enum {
    S6_WK_CMD_LOAD = 1,   /* build the ruleset from the arena's sources */
    S6_WK_CMD_CHECK = 2,  /* probe and self-check it */
    S6_WK_CMD_EVAL = 3,   /* evaluate the batch */
    S6_WK_PHASE_IDLE = 0, /* what the worker is doing, for a post-mortem */
    S6_WK_PHASE_LOAD = 1,
    S6_WK_PHASE_CHECK = 2,
    S6_WK_PHASE_EVAL = 3,
    S6_WK_FD = 3,         /* the memfd in the worker */
    S6_WK_SOCK = 4,       /* its end of the command socket */
    S6_WK_MAX_POS = 1 << 16,   /* positions per crossing */
    S6_WK_MAX_PROPS = 1 << 17, /* proposals per crossing */
    S6_WK_MAX_FAULTS = 256,
    S6_WK_ERR_LEN = 1024
};

/* Arena record: a rule state (rule_id >= 0, len = S6_WK_NONE for none) or
 * a slot's names (rule_id = S6_WK_SLOT_NAMES, "id\0symbol\0"). */
#define S6_WK_NONE UINT32_MAX
#define S6_WK_SLOT_NAMES (-1)
typedef struct s6_wk_rec {
    int32_t slot;
    int32_t rule_id;
    uint32_t len;
    uint32_t pad;
} s6_wk_rec;

/* Settings a worker builds its ruleset with (strings travel in the arena). */
typedef struct s6_wk_load {
    uint64_t mem_limit;
    uint32_t deadline_ms;
    double deadline_us_per_eval;
    uint32_t load_deadline_ms;
    uint32_t max_faults_per_rule;
    uint32_t max_actions;
    uint32_t max_state_bytes;
    uint32_t n_regimes;
    uint32_t n_rules;
} s6_wk_load;

typedef struct s6_wk_shm {
    /* service -> worker */
    uint32_t cmd;
    uint32_t n;               /* EVAL: positions in the batch */
    int32_t nslots, nrules;   /* EVAL: the state store's shape */
    uint64_t in_len;          /* bytes used in the in arena */
    uint32_t n_in;            /* EVAL: records in the in arena */
    s6_wk_load load;          /* LOAD */
    /* worker -> service */
    int32_t status;           /* 0 or a negative code; err says why */
    volatile int32_t phase;   /* S6_WK_PHASE_* */
    s6_eval_progress prog;    /* the rule (and position) being run */
    s6_eval_report report;
    uint32_t nprops, nfaults, n_out;
    uint64_t dropped;         /* proposals beyond the crossing's room */
    uint32_t capped[64];      /* by rule id: actions over the per-rule cap */
    uint64_t out_len;
    uint64_t mem_used;        /* the Lua state's bytes after the command */
    char err[S6_WK_ERR_LEN];
} s6_wk_shm;

/* The regions after the header, at fixed offsets. */
typedef struct s6_wk_layout {
    size_t pos, mkt, props, faults, in, out, total;
    size_t in_cap, out_cap;
} s6_wk_layout;

static inline s6_wk_layout s6_wk_layout_get(void)
{
    s6_wk_layout l;
    size_t a = (sizeof(s6_wk_shm) + 63) & ~(size_t)63;
    l.pos = a;
    l.mkt = l.pos + S6_WK_MAX_POS * sizeof(s6_pos_view);
    l.props = l.mkt + S6_WK_MAX_POS * sizeof(s6_mkt_view);
    l.faults = l.props + S6_WK_MAX_PROPS * sizeof(s6_proposal);
    l.in = l.faults + S6_WK_MAX_FAULTS * sizeof(s6_rule_fault);
    l.in_cap = (size_t)64 << 20;
    l.out = l.in + l.in_cap;
    l.out_cap = (size_t)64 << 20;
    l.total = l.out + l.out_cap;
    return l;
}

static inline size_t s6_wk_rec_size(uint32_t len)
{
    size_t body = len == S6_WK_NONE ? 0 : len;
    return sizeof(s6_wk_rec) + ((body + 7) & ~(size_t)7);
}
