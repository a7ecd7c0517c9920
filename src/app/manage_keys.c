/* The idempotency keys of POST /positions/manage (manage_keys.h). */
#include "app/manage_keys.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool s6_manage_key_ok(const char *key)
{
    if (key == NULL)
        return false;
    size_t n = strlen(key);
    if (n == 0 || n > S6_MANAGE_KEY_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (key[i] < 0x21 || key[i] > 0x7e)
            return false;
    return true;
}

char *s6_manage_fingerprint(const s6_manage_req *r)
{
    /* %.17g: two numbers print the same only when they are the same
     * double, so 1 and 1.0 match and 0.1 and 0.10000001 do not */
    const char *fmt = "%d|%s|%s|%d|%.17g|%.17g|%.17g|%d|%d|%s";
    int n = snprintf(NULL, 0, fmt, r->action, r->position_id, r->symbol,
                     r->market, r->new_stop_price, r->qty, r->fraction,
                     r->loosen, r->dry_run, r->reason);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s != NULL)
        snprintf(s, (size_t)n + 1, fmt, r->action, r->position_id, r->symbol,
                 r->market, r->new_stop_price, r->qty, r->fraction,
                 r->loosen, r->dry_run, r->reason);
    return s;
}

const s6_manage_answer *s6_manage_keys_find(const s6_manage_keys *t,
                                            const char *key)
{
    if (t->slots == NULL || key == NULL)
        return NULL;
    for (size_t i = 0; i < S6_MANAGE_KEYS_KEPT; i++)
        if (t->slots[i].request != NULL && strcmp(t->slots[i].key, key) == 0)
            return &t->slots[i];
    return NULL;
}

static void clear(s6_manage_answer *a)
{
    free(a->request);
    free(a->body);
    *a = (s6_manage_answer){ 0 };
}

int s6_manage_keys_put(s6_manage_keys *t, const char *key,
                       const char *request, int status, const char *body,
                       size_t body_len)
{
    if (!s6_manage_key_ok(key) || request == NULL || body == NULL)
        return -EINVAL;
    if (t->slots == NULL &&
        (t->slots = calloc(S6_MANAGE_KEYS_KEPT, sizeof *t->slots)) == NULL)
        return -ENOMEM;
    char *req = strdup(request);
    char *copy = malloc(body_len + 1);
    if (req == NULL || copy == NULL) {
        free(req);
        free(copy);
        return -ENOMEM;
    }
    memcpy(copy, body, body_len);
    copy[body_len] = '\0';
    s6_manage_answer *a = &t->slots[t->next];
    t->next = (t->next + 1) % S6_MANAGE_KEYS_KEPT;
    clear(a); /* the oldest key goes */
    snprintf(a->key, sizeof a->key, "%s", key);
    a->request = req;
    a->status = status;
    a->body = copy;
    a->body_len = body_len;
    return 0;
}

void s6_manage_keys_free(s6_manage_keys *t)
{
    if (t->slots != NULL)
        for (size_t i = 0; i < S6_MANAGE_KEYS_KEPT; i++)
            clear(&t->slots[i]);
    free(t->slots);
    *t = (s6_manage_keys){ 0 };
}
