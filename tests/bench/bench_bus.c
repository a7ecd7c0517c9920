/*
 * Run from the source root after `cmake --build build -j2`:
 *   build/s6-bench-bus 10000 20
 *
 * s6-bench-bus: the manage tick's pipelined md:last snapshot against the
 * limit of the same Redis on the same machine in the same run
 * (docs/performance.md, "Redis bus").
 *
 *   s6-bench-bus [hashes=10000] [rounds=20] [redis://host:port]
 *
 * Without a URL it starts a private redis-server (tests/support).  It
 * writes `hashes` md:last:FUT:<symbol> hashes, times `rounds` snapshots
 * of all of them through s6_bus_feed_snapshot (one pipeline each, every
 * hash parsed by md_codec), then runs redis-benchmark -P 16 three times against
 * the same server: `-t get` and the same HGETALL the snapshot sends, with
 * 50 clients, and that HGETALL again from one client (the snapshot's one
 * connection).
 * Exit status 1 when a snapshot answer is wrong.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "bus/feed.h"
#include "redis/redis.h"
#include "redis_server.h"

static const char *const regime_names[] = { "normal", "trend", "chop" };

typedef struct bench {
    uv_loop_t loop;
    s6_redis *r;
    size_t n;
    char (*symbols)[32];
    s6_md_instrument *ins;
    bool done;
    int bad;
    size_t pending;
} bench;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void run_until_done(bench *b)
{
    while (!b->done)
        uv_run(&b->loop, UV_RUN_ONCE);
}

static void on_written(s6_redis *r, const struct redisReply *rep, int code,
                       void *ud)
{
    bench *b = ud;
    (void)r;
    (void)rep;
    b->bad += code != 0;
    if (--b->pending == 0)
        b->done = true;
}

static int populate(bench *b)
{
    b->done = false;
    b->pending = b->n;
    for (size_t i = 0; i < b->n; i++) {
        char key[64], mark[32];
        snprintf(key, sizeof key, "md:last:FUT:%s", b->symbols[i]);
        snprintf(mark, sizeof mark, "%zu.5", 100 + i);
        s6_redis_kv kv[] = {
            { "symbol", 6, b->symbols[i], strlen(b->symbols[i]) },
            { "market", 6, "FUT", 3 },
            { "mark", 4, mark, strlen(mark) },
            { "mid", 3, mark, strlen(mark) },
            { "atr", 3, "12.25", 5 },
            { "regime", 6, "trend", 5 },
            { "health", 6, "0.9", 3 },
            { "ts", 2, "1764110000.25", 13 },
        };
        if (s6_redis_hset(b->r, key, kv, 8, on_written, b) != 0)
            return -1;
    }
    run_until_done(b);
    return b->bad ? -1 : 0;
}

static void on_snapshot(void *ud, const s6_md_snap *snaps, size_t n)
{
    bench *b = ud;
    for (size_t i = 0; i < n; i++)
        if (snaps[i].rc != 0 || snaps[i].m.u.mark != 100 + i + 0.5 ||
            snaps[i].m.u.regime != 1) {
            if (!b->bad)
                fprintf(stderr, "snapshot %zu (%s): rc %d %s\n", i,
                        snaps[i].m.symbol, snaps[i].rc, snaps[i].err);
            b->bad++;
        }
    b->done = true;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* redis-benchmark's "requests per second" for one test, or NAN. */
static double redis_benchmark(const char *host, int port, int clients,
                              size_t requests, const char *test)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "redis-benchmark -h %s -p %d -P 16 -c %d -n %zu -q %s 2>&1",
             host, port, clients, requests, test);
    FILE *p = popen(cmd, "r");
    if (!p)
        return NAN;
    /* Progress is \r-separated on one long line: read it all, then take
     * the number before the last "requests per second". */
    size_t cap = 1 << 20, len = 0;
    char *out = malloc(cap + 1);
    size_t got;
    while (out && (got = fread(out + len, 1, cap - len, p)) > 0)
        len += got;
    pclose(p);
    double rps = NAN;
    if (out) {
        out[len] = '\0';
        char *words = NULL;
        for (char *w = out; (w = strstr(w, " requests per second")); w++)
            words = w;
        char *num = words;
        while (num && num > out && strchr("0123456789.", num[-1]))
            num--;
        if (num && num < words)
            rps = strtod(num, NULL);
        else
            fprintf(stderr, "no rate in redis-benchmark's output\n");
        free(out);
    }
    printf("  $ %s\n", cmd);
    return rps;
}

static void on_up(s6_redis *r, s6_redis_state st, int code, void *ud)
{
    (void)r;
    (void)code;
    if (st == S6_REDIS_UP)
        ((bench *)ud)->done = true;
}

int main(int argc, char **argv)
{
    bench b = { .n = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000 };
    int rounds = argc > 2 ? atoi(argv[2]) : 20;
    const char *url = argc > 3 ? argv[3] : NULL;
    s6test_redis srv = { 0 };
    if (b.n == 0 || rounds <= 0) {
        fprintf(stderr, "usage: s6-bench-bus [hashes] [rounds] [redis-url]\n");
        return 2;
    }
    if (!url) {
        if (s6test_redis_start(&srv) != 0)
            return 2;
        url = srv.url;
    }
    s6_redis_url u;
    char err[256];
    if (s6_redis_url_parse(url, &u, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    uv_loop_init(&b.loop);
    s6_redis_opts o = { .name = "bench", .command_timeout_ms = 30000,
                        .on_state = on_up, .state_ud = &b };
    if (s6_redis_open(&b.loop, url, &o, &b.r, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    run_until_done(&b);
    b.symbols = calloc(b.n, sizeof *b.symbols);
    b.ins = calloc(b.n, sizeof *b.ins);
    for (size_t i = 0; i < b.n; i++) {
        snprintf(b.symbols[i], sizeof b.symbols[i], "S%06zuUSDT", i % 1000000);
        b.ins[i] = (s6_md_instrument){ S6_MARKET_FUT, b.symbols[i] };
    }
    if (populate(&b) != 0) {
        fprintf(stderr, "could not write the md:last hashes\n");
        return 2;
    }
    s6_md_regimes rg = { regime_names, 3 };
    double *ms = calloc((size_t)rounds, sizeof *ms);
    for (int k = 0; k < rounds; k++) {
        b.done = false;
        double t0 = now_ms();
        if (s6_bus_feed_snapshot(b.r, b.ins, b.n, &rg, on_snapshot, &b) != 0)
            return 2;
        run_until_done(&b);
        ms[k] = now_ms() - t0;
    }
    qsort(ms, (size_t)rounds, sizeof *ms, cmp_double);
    double med = ms[rounds / 2];
    printf("s6-bench-bus: %zu md:last hashes, %d snapshots, server %s\n",
           b.n, rounds, url);
    printf("snapshot (pipelined HGETALL + parse): median %.2f ms, min %.2f "
           "ms, max %.2f ms = %.0f hashes/s (median)\n", med, ms[0],
           ms[rounds - 1], b.n / (med / 1e3));
    size_t requests = b.n * 20 < 10000 ? 10000 : b.n * 20;
    char hget[64];
    snprintf(hget, sizeof hget, "HGETALL md:last:FUT:%s", b.symbols[0]);
    double get = redis_benchmark(u.host, u.port, 50, requests, "-t get");
    double hall = redis_benchmark(u.host, u.port, 50, requests, hget);
    double hall1 = redis_benchmark(u.host, u.port, 1, requests, hget);
    printf("redis-benchmark -P 16 -c 50 -t get:        %.0f requests/s\n",
           get);
    printf("redis-benchmark -P 16 -c 50 HGETALL (one): %.0f requests/s\n",
           hall);
    printf("redis-benchmark -P 16 -c 1 HGETALL (one):  %.0f requests/s\n",
           hall1);
    printf("snapshot / redis-benchmark HGETALL -c 50:  %.2f\n",
           b.n / (med / 1e3) / hall);
    s6_redis_close(b.r);
    uv_run(&b.loop, UV_RUN_DEFAULT);
    uv_loop_close(&b.loop);
    if (srv.pid)
        s6test_redis_destroy(&srv);
    free(ms);
    free(b.symbols);
    free(b.ins);
    if (b.bad) {
        fprintf(stderr, "%d wrong snapshot answers\n", b.bad);
        return 1;
    }
    return 0;
}
