/*
 * gen_prices — synthetic price bars for the replay examples.  No real
 * market data can be shipped, so the files in examples/data/ are made by
 * this program and say so in their first lines.
 *
 *   gen_prices SYMBOL START_PRICE TICK SEED DAYS > SYMBOL.csv
 *
 * Model: log returns in 5-second steps with GARCH(1,1) variance (volatility
 * clusters: calm hours and wild ones) plus Poisson jumps with normal sizes
 * (gaps that stop-losses and ladders must survive), aggregated into 1-minute
 * OHLC bars rounded to the tick.  A toy momentum strategy adds a signal
 * column: at each full hour, buy (1) after an hourly rise of more than
 * SIGNAL_MOVE, sell (-1) after such a fall, else 0 — what the add-on rule
 * waits for.  The random numbers come from splitmix64
 * and Box-Muller, so one seed gives the same file on every machine that
 * has the same libm.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { STEPS_PER_BAR = 12, BAR_SECONDS = 60, SIGNAL_BARS = 60 };
#define SIGNAL_MOVE 0.006

/* Per 5-second step; the unconditional variance is omega/(1-alpha-beta),
 * about 0.12% per minute, a lively crypto market. */
static const struct model {
    double omega, alpha, beta;
    double jump_rate;           /* jumps per step */
    double jump_mean, jump_sd;  /* log size */
} M = { 2.4e-10, 0.013, 0.985, 3.0 / 17280, -0.002, 0.012 };

static uint64_t next64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double uniform(uint64_t *s) /* (0, 1) */
{
    return ((double)(next64(s) >> 11) + 0.5) / 9007199254740992.0;
}

static double normal(uint64_t *s)
{
    double u = uniform(s), v = uniform(s);
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

static double on_tick(double p, double tick)
{
    return nearbyint(p / tick) * tick;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: gen_prices SYMBOL START_PRICE TICK SEED "
                        "DAYS > FILE.csv\n");
        return 2;
    }
    const char *symbol = argv[1];
    double price = strtod(argv[2], NULL), tick = strtod(argv[3], NULL);
    uint64_t seed = strtoull(argv[4], NULL, 10), rng = seed;
    long days = strtol(argv[5], NULL, 10);
    if (!(price > 0) || !(tick > 0) || days < 1 || days > 366) {
        fprintf(stderr, "gen_prices: bad START_PRICE, TICK or DAYS\n");
        return 2;
    }
    int decimals = 0;
    while (decimals < 10 && fabs(on_tick(tick, pow(10, -decimals)) - tick) >
                                1e-12)
        decimals++;
    const long t0 = 1795564800; /* 2026-11-25T00:00:00Z */
    double var = M.omega / (1 - M.alpha - M.beta), eps = 0;
    printf("# GENERATED synthetic prices, not market data: "
           "examples/data/gen/gen_prices.c\n");
    printf("# symbol=%s market=FUT seed=%" PRIu64 " days=%ld start=%s\n",
           symbol, seed, days, argv[2]);
    printf("# model: 5s log returns, GARCH(1,1) omega=%g alpha=%g beta=%g, "
           "Poisson jumps rate=%g/step size~N(%g,%g); 1m OHLC bars\n",
           M.omega, M.alpha, M.beta, M.jump_rate, M.jump_mean, M.jump_sd);
    printf("# signal: hourly momentum, +-1 after a move of more than %g "
           "over the last %d bars\n", SIGNAL_MOVE, SIGNAL_BARS);
    printf("time,open,high,low,close,signal\n");
    double hour_open = price;
    for (long bar = 0; bar < days * 86400 / BAR_SECONDS; bar++) {
        int signal = 0;
        if (bar > 0 && bar % SIGNAL_BARS == 0) {
            double move = price / hour_open - 1;
            signal = move > SIGNAL_MOVE ? 1 : move < -SIGNAL_MOVE ? -1 : 0;
            hour_open = price;
        }
        double open = on_tick(price, tick), high = open, low = open;
        for (int k = 0; k < STEPS_PER_BAR; k++) {
            var = M.omega + M.alpha * eps * eps + M.beta * var;
            eps = sqrt(var) * normal(&rng);
            double r = eps;
            if (uniform(&rng) < M.jump_rate)
                r += M.jump_mean + M.jump_sd * normal(&rng);
            price *= exp(r);
            double p = on_tick(price, tick);
            high = fmax(high, p);
            low = fmin(low, p);
        }
        printf("%ld,%.*f,%.*f,%.*f,%.*f,%d\n", t0 + bar * BAR_SECONDS,
               decimals, open, decimals, high, decimals, low, decimals,
               on_tick(price, tick), signal);
    }
    return 0;
}
