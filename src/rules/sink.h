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
};

int s6_sink_init(s6_sink *sink, size_t limit);
void s6_sink_reset(s6_sink *sink);
void s6_sink_free(s6_sink *sink);
