/* Thin helpers: each only builds one argv and sends it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis/redis.h"

/* words (NUL-terminated) followed by n binary field/value pairs. */
static int send_words(s6_redis *r, uint32_t extra_ms, s6_redis_reply_cb cb,
                      void *ud, const char *const *words, size_t nwords,
                      const s6_redis_kv *kv, size_t n)
{
    size_t argc = nwords + 2 * n;

    if (argc > 1u << 20)
        return S6_EINVAL;
    for (size_t i = 0; i < nwords; i++)
        if (!words[i])
            return S6_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!kv[i].k || !kv[i].v)
            return S6_EINVAL;
    const char **argv = malloc(argc * sizeof(*argv));
    size_t *lens = malloc(argc * sizeof(*lens));
    int rc = S6_ENOMEM;
    if (argv && lens) {
        for (size_t i = 0; i < nwords; i++) {
            argv[i] = words[i];
            lens[i] = strlen(words[i]);
        }
        for (size_t i = 0; i < n; i++) {
            argv[nwords + 2 * i] = kv[i].k;
            lens[nwords + 2 * i] = kv[i].klen;
            argv[nwords + 2 * i + 1] = kv[i].v;
            lens[nwords + 2 * i + 1] = kv[i].vlen;
        }
        rc = s6_redis_cmd_ex(r, extra_ms, cb, ud, (int)argc, argv, lens);
    }
    free(argv);
    free(lens);
    return rc;
}

int s6_redis_xadd(s6_redis *r, const char *stream, const char *id,
                  const s6_redis_kv *kv, size_t n, s6_redis_reply_cb cb,
                  void *ud)
{
    const char *w[] = { "XADD", stream, id };

    if (n == 0 || !kv)
        return S6_EINVAL; /* XADD needs at least one field */
    return send_words(r, 0, cb, ud, w, 3, kv, n);
}

int s6_redis_hset(s6_redis *r, const char *key, const s6_redis_kv *kv,
                  size_t n, s6_redis_reply_cb cb, void *ud)
{
    const char *w[] = { "HSET", key };

    if (n == 0 || !kv)
        return S6_EINVAL;
    return send_words(r, 0, cb, ud, w, 2, kv, n);
}

int s6_redis_hgetall(s6_redis *r, const char *key, s6_redis_reply_cb cb,
                     void *ud)
{
    const char *w[] = { "HGETALL", key };

    return send_words(r, 0, cb, ud, w, 2, NULL, 0);
}

int s6_redis_set_nx_px(s6_redis *r, const char *key, const char *value,
                       uint32_t ttl_ms, s6_redis_reply_cb cb, void *ud)
{
    char ttl[12];

    if (ttl_ms == 0)
        return S6_EINVAL; /* PX 0 is an error reply in Redis */
    snprintf(ttl, sizeof(ttl), "%u", ttl_ms);
    const char *w[] = { "SET", key, value, "NX", "PX", ttl };
    return send_words(r, 0, cb, ud, w, 6, NULL, 0);
}

int s6_redis_xreadgroup(s6_redis *r, const char *group, const char *consumer,
                        uint32_t count, uint32_t block_ms, const char *stream,
                        const char *id, s6_redis_reply_cb cb, void *ud)
{
    char cnt[12], blk[12];

    snprintf(cnt, sizeof(cnt), "%u", count ? count : 1);
    snprintf(blk, sizeof(blk), "%u", block_ms);
    const char *w[] = { "XREADGROUP", "GROUP", group, consumer, "COUNT", cnt,
                        "BLOCK", blk, "STREAMS", stream, id };
    return send_words(r, block_ms, cb, ud, w, sizeof(w) / sizeof(w[0]), NULL, 0);
}

int s6_redis_eval(s6_redis *r, const char *script, const char *const *keys,
                  size_t nkeys, const char *const *args, size_t nargs,
                  s6_redis_reply_cb cb, void *ud)
{
    char nk[24];

    if ((nkeys && !keys) || (nargs && !args) || nkeys + nargs > 1u << 16)
        return S6_EINVAL;
    snprintf(nk, sizeof(nk), "%zu", nkeys);
    size_t nw = 3 + nkeys + nargs;
    const char **w = malloc(nw * sizeof(*w));
    if (!w)
        return S6_ENOMEM;
    w[0] = "EVAL";
    w[1] = script;
    w[2] = nk;
    for (size_t i = 0; i < nkeys; i++)
        w[3 + i] = keys[i];
    for (size_t i = 0; i < nargs; i++)
        w[3 + nkeys + i] = args[i];
    int rc = send_words(r, 0, cb, ud, w, nw, NULL, 0);
    free(w);
    return rc;
}
