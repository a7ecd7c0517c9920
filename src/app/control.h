/*
 * control.h — the kill switch: pause all symbols or one.  While a symbol is
 * paused only protective work runs (stops, guards, compensation): no
 * take-profit, add or manual action.  The engine asks s6_pause_blocks()
 * before anything that is not protective.
 */
#pragma once

#include <stdbool.h>

#include "util/json_out.h"

enum { S6_PAUSE_MAX = 64, S6_PAUSE_SYMBOL_MAX = 24 };

typedef struct s6_pause {
    bool all;
    unsigned n;
    char symbols[S6_PAUSE_MAX][S6_PAUSE_SYMBOL_MAX + 1];
} s6_pause;

/* symbol NULL: every symbol.  Returns 0, or -1 when the list is full. */
int s6_pause_set(s6_pause *p, const char *symbol, bool paused);
/* True when non-protective work on symbol must wait. */
bool s6_pause_blocks(const s6_pause *p, const char *symbol);
/* {"all": bool, "symbols": [...]} */
void s6_pause_write(const s6_pause *p, s6_jw *w);
