/*
 * timeline.h — the text `s6-position replay` prints: one line per engine
 * note, then the final PnL per position and a summary.  Fixed formats and
 * nothing from the wall clock, so the same input gives the same bytes.
 */
#pragma once

#include <stdio.h>

#include "engine/engine.h"

/* "2026-11-25T00:15:30.050Z" */
void s6_timeline_time(double ts, char out[32]);
void s6_timeline_header(FILE *f);
void s6_timeline_note(FILE *f, const s6_engine_note *n);

typedef struct s6_timeline_pnl {
    const char *pos_id, *symbol;
    int side;            /* of the entry */
    double entry_qty;    /* filled at entry */
    double qty;          /* still open at the end */
    double mark;         /* last mark */
    double realized;     /* net of fees */
    double unrealized;
    double fees;
    unsigned stops_moved, tps, adds;
    const char *end;     /* "open", "stopped", "closed" */
} s6_timeline_pnl;

void s6_timeline_pnl_table(FILE *f, const s6_timeline_pnl *rows, size_t n);
