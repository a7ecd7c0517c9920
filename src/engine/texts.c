/*
 * texts.c — one copy of each rule-versions text the engine's records
 * point to.  Every position planned by the same rule set carries the
 * same JSON ({"rule":"hash",...}); a copy per position cost 256 bytes
 * each (issue 16).  The texts are few (one per rule-set version and set
 * of rules that took part in a plan, plus what restored records bring)
 * and live as long as the engine, so a record's pointer never dangles
 * and copies of a record may share it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"

struct e_text {
    struct e_text *next;
    char s[];
};

int e_text_intern(s6_engine *e, const char *s, const char **out)
{
    if (s == NULL || s[0] == '\0') {
        *out = NULL;
        return 0;
    }
    for (struct e_text *t = e->texts; t != NULL; t = t->next)
        if (strcmp(t->s, s) == 0) {
            *out = t->s;
            return 0;
        }
    size_t n = strlen(s) + 1;
    struct e_text *t = malloc(sizeof *t + n);
    if (t == NULL)
        return -ENOMEM;
    memcpy(t->s, s, n);
    t->next = e->texts;
    e->texts = t;
    *out = t->s;
    return 0;
}

size_t e_text_count(const s6_engine *e)
{
    size_t n = 0;
    for (const struct e_text *t = e->texts; t != NULL; t = t->next)
        n++;
    return n;
}

void e_texts_free(s6_engine *e)
{
    while (e->texts != NULL) {
        struct e_text *t = e->texts;
        e->texts = t->next;
        free(t);
    }
}
