#include "app/control.h"

#include <stdio.h>
#include <string.h>

static int find(const s6_pause *p, const char *symbol)
{
    for (unsigned i = 0; i < p->n; i++)
        if (strcmp(p->symbols[i], symbol) == 0)
            return (int)i;
    return -1;
}

int s6_pause_set(s6_pause *p, const char *symbol, bool paused)
{
    if (symbol == NULL) {
        p->all = paused;
        if (!paused)
            p->n = 0; /* resume everything means everything */
        return 0;
    }
    int i = find(p, symbol);
    if (paused && i < 0) {
        if (p->n >= S6_PAUSE_MAX)
            return -1;
        snprintf(p->symbols[p->n++], sizeof p->symbols[0], "%s", symbol);
    } else if (!paused && i >= 0) {
        memmove(p->symbols[i], p->symbols[i + 1],
                (p->n - (unsigned)i - 1) * sizeof p->symbols[0]);
        p->n--;
    }
    return 0;
}

bool s6_pause_blocks(const s6_pause *p, const char *symbol)
{
    return p->all || (symbol != NULL && find(p, symbol) >= 0);
}

void s6_pause_write(const s6_pause *p, s6_jw *w)
{
    s6_jw_obj(w);
    s6_jw_kbool(w, "all", p->all);
    s6_jw_karr(w, "symbols");
    for (unsigned i = 0; i < p->n; i++)
        s6_jw_str(w, p->symbols[i]);
    s6_jw_end_arr(w);
    s6_jw_end_obj(w);
}
