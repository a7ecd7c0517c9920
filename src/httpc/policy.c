/*
 * policy.c — what a request may carry (options checked before anything is
 * sent: no header or URL can smuggle a line break) and when a failed one
 * is tried again, after how long.
 */
#include <ctype.h>
#include <string.h>

#include "httpc/httpc.h"
#include "httpc/internal.h"

/* ---- retries ---- */

bool s6_httpc_retryable(const s6_httpc_result *r, void *ud)
{
    (void)ud;
    switch (r->err) {
    case S6_HTTPC_OK:
        return r->status >= 500 || r->status == 429;
    case S6_HTTPC_E_TIMEOUT:
    case S6_HTTPC_E_REFUSED:
    case S6_HTTPC_E_RESET:
    case S6_HTTPC_E_DNS:
        return true;
    default:
        return false;
    }
}

/* splitmix64: small, seedable, good enough to spread retries apart. */
static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

unsigned s6_httpc_backoff_ms(const s6_httpc_retry *p, unsigned attempt,
                             uint64_t *rng)
{
    uint64_t d = p->base_ms;
    for (unsigned i = 1; i < attempt && d < p->cap_ms; i++)
        d *= 2;
    if (d > p->cap_ms)
        d = p->cap_ms;
    /* Half fixed, half random: retries spread out but still grow. */
    uint64_t half = d / 2;
    return (unsigned)(d - half + next_rand(rng) % (half + 1));
}

/* ---- request options ---- */

static bool token_ok(const char *s)
{
    if (s == NULL || *s == '\0')
        return false;
    for (; *s; s++)
        if (!isupper((unsigned char)*s))
            return false;
    return true;
}

static bool line_ok(const char *s)
{
    return s != NULL && strpbrk(s, "\r\n") == NULL;
}

static bool header_ok(const char *s)
{
    return line_ok(s) && strchr(s, ':') != NULL && s[0] != ':';
}

const char *s6__httpc_opts_check(const s6_httpc_opts *o)
{
    if (!token_ok(o->method))
        return "method";
    if (!line_ok(o->url) || (strncmp(o->url, "http://", 7) != 0 &&
                             strncmp(o->url, "https://", 8) != 0))
        return "url";
    if (o->n_headers > 0 && o->headers == NULL)
        return "headers";
    for (size_t i = 0; i < o->n_headers; i++)
        if (!header_ok(o->headers[i]))
            return "headers";
    if (o->body == NULL && o->body_len > 0)
        return "body";
    if (o->n_keep_headers > 0 && o->keep_headers == NULL)
        return "keep_headers";
    for (size_t i = 0; i < o->n_keep_headers; i++)
        if (!line_ok(o->keep_headers[i]) || o->keep_headers[i][0] == '\0')
            return "keep_headers";
    if (o->retry != NULL &&
        (o->retry->max_attempts < 1 || o->retry->cap_ms < o->retry->base_ms))
        return "retry";
    return NULL;
}
