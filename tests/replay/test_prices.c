/*
 * test_prices: price files are read exactly or refused with the line and
 * the reason; the feed merges series by time, walks each bar's range and
 * never hands out an ATR from the future.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "replay/prices.h"

static void refused(const char *text, const char *want)
{
    s6_price_series s = { 0 };
    char err[400] = "";
    if (s6_prices_parse(text, "BTCUSDT.csv", &s, err, sizeof err) == 0)
        fail_msg("accepted, want \"%s\"", want);
    if (strcmp(err, want) != 0)
        fail_msg("got  \"%s\"\nwant \"%s\"", err, want);
    assert_null(s.bars);
}

static void bad_files_name_the_line_and_the_reason(void **state)
{
    (void)state;
    refused("", "BTCUSDT.csv: no header line (time,open,high,low,close[,mark])");
    refused("# only a comment\ntime,open,high,low,close\n",
            "BTCUSDT.csv: no price lines");
    refused("time,open,high,close\n1,1,1,1\n",
            "BTCUSDT.csv:1: header: missing column 'low'");
    refused("time,open,high,low,close,vol\n",
            "BTCUSDT.csv:1: header: unknown column 'vol' (expected time, "
            "open, high, low, close[, mark][, signal])");
    refused("time,open,high,low,close,signal\n100,10,11,9,10,2\n",
            "BTCUSDT.csv:2: column 'signal': must be 1, -1, 0 or empty ('2')");
    refused("# x\n\ntime,open,high,low,close\n100,10,11,9,10\n101,10,11,9\n",
            "BTCUSDT.csv:5: 4 columns, the header names 5: missing column "
            "'close'");
    refused("time,open,high,low,close\n100,10,11,9,10,3\n",
            "BTCUSDT.csv:2: 6 columns, the header names 5");
    refused("time,open,high,low,close\n100,10,11,9,10\n160,10,11,9,10\n"
            "160,10,11,9,10\n",
            "BTCUSDT.csv:4: time 160 is not after the previous line's 160 "
            "(times must increase)");
    refused("time,open,high,low,close\n100,10,11,9,10\n90,10,11,9,10\n",
            "BTCUSDT.csv:3: time 90 is not after the previous line's 100 "
            "(times must increase)");
    refused("time,open,high,low,close\n100,10,11,9,NaN\n",
            "BTCUSDT.csv:2: column 'close': not a finite number ('NaN')");
    refused("time,open,high,low,close\n100,10,11,-9,10\n",
            "BTCUSDT.csv:2: column 'low': price must be > 0 ('-9')");
    refused("time,open,high,low,close\n100,0,11,9,10\n",
            "BTCUSDT.csv:2: column 'open': price must be > 0 ('0')");
    refused("time,open,high,low,close\n100,10,11,9,ten\n",
            "BTCUSDT.csv:2: column 'close': not a number ('ten')");
    refused("time,open,high,low,close\n100,10,,9,10\n",
            "BTCUSDT.csv:2: column 'high' is empty");
    refused("time,open,high,low,close\n100,10,9.5,9,10\n",
            "BTCUSDT.csv:2: not a bar: low 9, high 9.5 must enclose open 10 "
            "and close 10");
    refused("time,open,high,low,close\nyesterday,10,11,9,10\n",
            "BTCUSDT.csv:2: column 'time': not Unix seconds > 0 or "
            "YYYY-MM-DDTHH:MM:SSZ ('yesterday')");
    refused("time,open,high,low,close,mark\n100,10,11,9,10,inf\n",
            "BTCUSDT.csv:2: column 'mark': not a finite number ('inf')");
    refused("# market=PERP\ntime,open,high,low,close\n",
            "BTCUSDT.csv:1: market= must be FUT or SPOT");
}

static void a_good_file_reads_exactly(void **state)
{
    (void)state;
    const char *text =
        "# generated: seed=7 model=test symbol=ETHUSDT market=SPOT\r\n"
        "mark, close,low,high,open,time\r\n"
        "10.5,10,9,11,10,2026-11-25T10:00:00Z\r\n"
        "# a comment between lines\n"
        "10.25,10.5,10,11,10,2026-11-25T10:01:00.5Z\n";
    s6_price_series s;
    char err[300];
    if (s6_prices_parse(text, "anything.csv", &s, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_string_equal(s.symbol, "ETHUSDT");
    assert_int_equal(s.market, S6_MARKET_SPOT);
    assert_true(s.has_mark);
    assert_int_equal(s.n, 2);
    assert_true(s.bars[0].t == 1795600800.0);
    assert_true(s.bars[1].t == 1795600860.5);
    assert_true(s.bars[1].mark == 10.25 && s.bars[1].close == 10.5);
    s6_prices_free(&s);
    /* Without a symbol= comment the file name names it. */
    if (s6_prices_parse("time,open,high,low,close\n1,1,1,1,1\n",
                        "BTCUSDT_1m.csv", &s, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_string_equal(s.symbol, "BTCUSDT");
    assert_int_equal(s.market, S6_MARKET_FUT);
    s6_prices_free(&s);
}

static void the_feed_merges_by_time_and_walks_each_bar(void **state)
{
    (void)state;
    s6_price_series s[2];
    char err[300];
    assert_int_equal(s6_prices_parse("time,open,high,low,close\n"
                                     "100,10,12,9,11\n"   /* rising */
                                     "200,11,11.5,8,9\n"  /* falling */
                                     "300,9,10,8.5,9.5\n",
                                     "AAA.csv", &s[0], err, sizeof err), 0);
    assert_int_equal(s6_prices_parse("time,open,high,low,close,mark\n"
                                     "150,5,5,5,5,5.5\n"
                                     "200,5,5,5,5,5.25\n",
                                     "BBB.csv", &s[1], err, sizeof err), 0);
    s6_price_feed *f;
    assert_int_equal(s6_price_feed_new(s, 2, 1, 0, &f), 0);
    assert_int_equal(s6_price_feed_total(f), 14);
    static const struct {
        size_t series;
        double ts, mark;
    } want[] = {
        { 0, 100, 10 }, { 0, 125, 9 }, { 0, 150, 12 }, { 1, 150, 5.5 },
        { 0, 175, 11 }, { 0, 200, 11 }, { 1, 200, 5.25 }, { 0, 225, 11.5 },
        { 0, 250, 8 }, { 0, 275, 9 }, { 0, 300, 9 }, { 0, 325, 8.5 },
        { 0, 350, 10 }, { 0, 375, 9.5 },
    };
    s6_price_update u;
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        assert_true(s6_price_feed_next(f, &u));
        if (u.series != want[i].series || u.ts != want[i].ts ||
            u.mark != want[i].mark)
            fail_msg("update %zu: series %zu ts %g mark %g", i, u.series,
                     u.ts, u.mark);
        /* ATR(1) is the second bar's true range (11.5 - 8), known only
         * once that bar closed. */
        if (u.series == 0)
            assert_true(u.ts < 300 ? isnan(u.atr) : u.atr == 3.5);
    }
    assert_false(s6_price_feed_next(f, &u));
    s6_price_feed_free(f);
    s6_prices_free(&s[0]);
    s6_prices_free(&s[1]);
}

static void atr_bars_can_be_coarser_than_the_file(void **state)
{
    (void)state;
    s6_price_series s;
    char err[300];
    /* Two file bars per hour; hour 1 spans 95..112, hour 0 closed at 100. */
    assert_int_equal(s6_prices_parse("time,open,high,low,close,mark\n"
                                     "36000,100,101,99,100,100\n"
                                     "37800,100,102,98,100,100\n"
                                     "39600,100,110,95,105,105\n"
                                     "41400,105,112,104,106,106\n"
                                     "43200,106,107,105,106,106\n",
                                     "X.csv", &s, err, sizeof err), 0);
    s6_price_feed *f;
    assert_int_equal(s6_price_feed_new(&s, 1, 1, 3600, &f), 0);
    s6_price_update u;
    for (int i = 0; i < 5; i++) {
        assert_true(s6_price_feed_next(f, &u));
        if (i < 4)
            assert_true(isnan(u.atr));
        else
            assert_true(u.atr == 112 - 95);
    }
    s6_price_feed_free(f);
    s6_prices_free(&s);
}

static uint64_t next64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A decimal of 1 to 19 digits with the point anywhere (or none), up to
 * 25 digits after it, sometimes an exponent: every path of the parser's
 * fast decimal reading and its fallback. */
static void random_decimal(uint64_t *x, char *out, size_t cap)
{
    int digits = 1 + (int)(next64(x) % 19), point = (int)(next64(x) % 21);
    size_t n = 0;
    out[n++] = (char)('1' + next64(x) % 9);
    for (int i = 1; i < digits; i++)
        out[n++] = (char)('0' + next64(x) % 10);
    if (point > 0 && point < digits) {
        memmove(out + point + 1, out + point, (size_t)(digits - point));
        out[point] = '.';
        n++;
    } else if (point >= digits) { /* 0.000ddd */
        int zeros = point - digits;
        memmove(out + 2 + zeros, out, n);
        memcpy(out, "0.", 2);
        memset(out + 2, '0', (size_t)zeros);
        n += 2 + (size_t)zeros;
    }
    if (next64(x) % 10 == 0)
        n += (size_t)snprintf(out + n, cap - n, "e%d", (int)(next64(x) % 7));
    out[n] = '\0';
}

/* Prices are the doubles strtod reads, bit for bit, whichever way the
 * parser takes. */
static void decimals_read_as_strtod_reads_them(void **state)
{
    (void)state;
    enum { LINES = 20000 };
    uint64_t x = 20261207;
    size_t cap = 64 + (size_t)LINES * 200;
    char *text = malloc(cap), (*values)[48] = calloc(LINES, sizeof *values);
    assert_non_null(text);
    assert_non_null(values);
    size_t n = (size_t)snprintf(text, cap, "time,open,high,low,close\n");
    for (int i = 0; i < LINES; i++) {
        random_decimal(&x, values[i], sizeof values[i]);
        n += (size_t)snprintf(text + n, cap - n, "%d,%s,%s,%s,%s\n",
                              i + 1, values[i], values[i], values[i],
                              values[i]);
    }
    s6_price_series s;
    char err[400];
    if (s6_prices_parse(text, "BTCUSDT.csv", &s, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(s.n, LINES);
    for (int i = 0; i < LINES; i++) {
        double want = strtod(values[i], NULL);
        if (memcmp(&s.bars[i].close, &want, sizeof want) != 0)
            fail_msg("'%s': read %.17g, strtod %.17g", values[i],
                     s.bars[i].close, want);
    }
    s6_prices_free(&s);
    free(text);
    free(values);
}

static void shipped_files_load(void **state)
{
    (void)state;
    const char *root = getenv("S6_SOURCE_DIR");
    static const char *const files[] = { "BTCUSDT.csv", "ETHUSDT.csv" };
    for (size_t i = 0; i < 2; i++) {
        char path[4096], err[300];
        snprintf(path, sizeof path, "%s/examples/data/%s", root ? root : ".",
                 files[i]);
        s6_price_series s;
        if (s6_prices_load(path, &s, err, sizeof err) != 0)
            fail_msg("%s", err);
        assert_true(s.n >= 1000);
        s6_prices_free(&s);
    }
    char err[300];
    s6_price_series s;
    assert_int_not_equal(s6_prices_load("/nonexistent/X.csv", &s, err,
                                        sizeof err), 0);
    assert_string_equal(err, "/nonexistent/X.csv: No such file or directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_files_name_the_line_and_the_reason),
        cmocka_unit_test(a_good_file_reads_exactly),
        cmocka_unit_test(the_feed_merges_by_time_and_walks_each_bar),
        cmocka_unit_test(atr_bars_can_be_coarser_than_the_file),
        cmocka_unit_test(shipped_files_load),
        cmocka_unit_test(decimals_read_as_strtod_reads_them),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
