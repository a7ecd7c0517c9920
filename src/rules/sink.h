/* s6_sink: collects what the rules of one batch proposed. */
#pragma once

#include <stddef.h>

#include "contract/plan.h"
#include "contract/s6_rule_abi.h"

struct s6_sink {
    s6_proposal *v;
    size_t n;
    size_t cap;
    size_t limit;   /* proposals beyond this are dropped and counted */
    size_t dropped;
    unsigned capped[64]; /* by rule id: actions over the per-rule cap */
    int fixed;           /* v is the caller's (shared memory): never grown */
};

int s6_sink_init(s6_sink *sink, size_t limit);
/* A sink over the caller's array of cap proposals (a worker's shared
 * memory); it never grows and is never freed by s6_sink_free. */
int s6_sink_init_buf(s6_sink *sink, s6_proposal *buf, size_t cap);
void s6_sink_reset(s6_sink *sink);
/* Appends a whole proposal (one from a worker); counted as dropped when
 * the sink is full. */
int s6_sink_put(s6_sink *sink, const s6_proposal *p);
void s6_sink_free(s6_sink *sink);
