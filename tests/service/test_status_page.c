/*
 * test_status_page.c — the operator's view of the running service:
 *
 *   - the API's numbers are the desk's: GET /positions/{id} answers the
 *     quantity at the symbol's step, prices at its tick and money to the
 *     cent, as exact decimal strings (the text is checked, not the doubles);
 *   - the status page at / loads in headless Chromium (driven through
 *     Debian's chromedriver) with no console error and no script error,
 *     shows the position the test opened with its numbers and a drawn
 *     chart, and shows the new mark by itself after a price move.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "fixture.h"

static const char *const POS = "op1";
static const char *const SYM = "BTCUSDT";

static void edit_config(json_t *cfg)
{
    svc_edit_common(cfg);
    /* the position stays open: no take-profit, no lock-in while we look */
    svc_set_param(cfg, "tp_ladder", "steps",
                  json_pack("[{s:f, s:i}]", "roe", 5.0, "entry", 1));
}

static bool mark_is(svc_fx *f, void *ud)
{
    json_t *p = svc_position(f, POS);
    const char *m = json_string_value(json_object_get(p, "mark"));
    bool ok = m != NULL && strcmp(m, ud) == 0;
    json_decref(p);
    return ok;
}

/* ---- the API's text ---- */

static void assert_has(const char *text, const char *needle)
{
    if (strstr(text, needle) == NULL)
        fail_msg("%s not in %s", needle, text);
}

static void check_answer_text(svc_fx *f)
{
    s6_buf body = { 0 };
    assert_int_equal(http_get(f->port, "/positions/op1", &body), 200);
    const char *t = body.data;
    assert_has(t, "\"qty\":\"0.010\"");
    assert_has(t, "\"entry\":\"60000.0\"");
    assert_has(t, "\"mark\":\"60555.6\"");
    assert_has(t, "\"price\":\"58000.0\""); /* the confirmed stop */
    assert_has(t, "\"fees_paid\":\"0.30\"");
    assert_has(t, "\"margin\":\"59.70\"");
    assert_has(t, "\"unrealized_pnl\":\"5.56\""); /* 0.010 x 555.6 */
    /* the liquidation price is at the tick too: one decimal */
    json_t *doc = json_loads(t, 0, NULL);
    const char *liq = json_string_value(json_object_get(doc, "liq_price"));
    assert_non_null(liq);
    const char *dot = strchr(liq, '.');
    assert_non_null(dot);
    assert_int_equal(strlen(dot + 1), 1);
    json_decref(doc);
    s6_buf_free(&body);
}

/* ---- WebDriver over HTTP (chromedriver) ---- */

typedef struct wd {
    proc driver;
    int port;
    char session[128];
    char profile[128];
} wd;

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    s6_buf_append(ud, p, size * n);
    return size * n;
}

/* One WebDriver command; its "value" (a new reference), NULL on no answer. */
static json_t *wd_call(wd *w, const char *method, const char *path,
                       json_t *body)
{
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", w->port, path);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    s6_buf out = { 0 };
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL,
                                             "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    if (text != NULL)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    free(text);
    json_t *doc = rc == CURLE_OK && out.data ? json_loads(out.data, 0, NULL)
                                             : NULL;
    s6_buf_free(&out);
    json_t *v = json_incref(json_object_get(doc, "value"));
    json_decref(doc);
    return v;
}

static bool driver_ready(wd *w)
{
    json_t *v = wd_call(w, "GET", "/status", NULL);
    bool ok = json_is_true(json_object_get(v, "ready"));
    json_decref(v);
    return ok;
}

static void wd_start(wd *w)
{
    w->port = free_port();
    char portarg[32];
    snprintf(portarg, sizeof portarg, "--port=%d", w->port);
    const char *args[] = { portarg, NULL };
    const char *env[] = { NULL };
    spawn_prog(&w->driver, "/usr/bin/chromedriver", env, args);
    long deadline = now_ms() + GUARD_MS;
    while (!driver_ready(w)) {
        if (now_ms() > deadline)
            fail_msg("chromedriver did not start");
        pump(&w->driver, 100);
    }
    snprintf(w->profile, sizeof w->profile, "/tmp/s6-page-profile.XXXXXX");
    assert_non_null(mkdtemp(w->profile));
    char dir[160];
    snprintf(dir, sizeof dir, "--user-data-dir=%s", w->profile);
    json_t *caps = json_pack(
        "{s:{s:{s:s,s:{s:s,s:[s,s,s,s,s,s,s,s,s]},s:{s:s}}}}", "capabilities",
        "alwaysMatch", "browserName", "chrome", "goog:chromeOptions", "binary",
        "/usr/bin/chromium", "args", "--headless", "--no-sandbox",
        "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update",
        "--disable-sync", dir, "goog:loggingPrefs", "browser", "ALL");
    json_t *v = wd_call(w, "POST", "/session", caps);
    const char *id = json_string_value(json_object_get(v, "sessionId"));
    if (id == NULL)
        fail_msg("no browser session: %s", v ? json_dumps(v, 0) : "no answer");
    snprintf(w->session, sizeof w->session, "%s", id);
    json_decref(v);
}

static json_t *wd_session(wd *w, const char *method, const char *what,
                          json_t *body)
{
    char path[256];
    snprintf(path, sizeof path, "/session/%s%s", w->session, what);
    return wd_call(w, method, path, body);
}

/* The value of a script run in the page. */
static json_t *wd_eval(wd *w, const char *script)
{
    return wd_session(w, "POST", "/execute/sync",
                      json_pack("{s:s,s:[]}", "script", script, "args"));
}

/* Safe on a session never opened: a failed test's teardown closes the
 * browser through its driver, so no Chromium outlives the test. */
static void wd_stop(wd *w)
{
    if (w->session[0] != '\0')
        json_decref(wd_session(w, "DELETE", "", NULL));
    w->session[0] = '\0';
    if (w->driver.pid > 0) {
        kill(w->driver.pid, SIGTERM);
        await_exit(&w->driver);
        proc_free(&w->driver);
        w->driver.pid = 0;
    }
    if (w->profile[0] != '\0') {
        char cmd[200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", w->profile);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", w->profile);
    }
    w->profile[0] = '\0';
}

/* What the page shows in the position's row: "qty|mark|stop state". */
static const char row_script[] =
    "var r=document.querySelector('tr[data-pos=\"op1\"]');"
    "if(!r)return null;"
    "function f(n){var c=r.querySelector('td[data-f=\"'+n+'\"]');"
    "return c?c.textContent:'';}"
    "return f('qty')+'|'+f('mark')+'|'+f('stop');";

/* Waits until the page shows `want` (the page refreshes itself). */
static void await_row(svc_fx *f, wd *w, const char *want)
{
    long deadline = now_ms() + GUARD_MS;
    char last[200] = "";
    for (;;) {
        json_t *v = wd_eval(w, row_script);
        snprintf(last, sizeof last, "%s",
                 json_is_string(v) ? json_string_value(v) : "(no row)");
        json_decref(v);
        if (strcmp(last, want) == 0)
            return;
        if (now_ms() > deadline) {
            svc_print_log(f);
            fail_msg("the page shows %s, want %s", last, want);
        }
        pump(&f->p, 200);
    }
}

static int json_int_of(json_t *v)
{
    int n = json_is_integer(v) ? (int)json_integer_value(v) : -1;
    json_decref(v);
    return n;
}

static void check_no_errors(wd *w)
{
    json_t *logs = wd_session(w, "POST", "/se/log",
                              json_pack("{s:s}", "type", "browser"));
    size_t i;
    json_t *e;
    json_array_foreach(logs, i, e) {
        const char *level = json_string_value(json_object_get(e, "level"));
        if (level != NULL && strcmp(level, "SEVERE") == 0)
            fail_msg("console error: %s", json_string_value(
                                              json_object_get(e, "message")));
    }
    json_decref(logs);
    assert_int_equal(json_int_of(wd_eval(w, "return Number(document.body."
                                            "dataset.errors);")), 0);
}

/* The chart of the position has pixels on its canvas. */
static const char chart_script[] =
    "var c=document.querySelector('div.chart[data-pos=\"op1\"] canvas');"
    "if(!c)return 0;var d=c.getContext('2d').getImageData(0,0,c.width,"
    "c.height).data;for(var i=3;i<d.length;i+=4)if(d[i]!==0)return 1;"
    "return 0;";

typedef struct story {
    svc_fx f;
    wd w;
} story;

static int story_setup(void **state)
{
    story *s = calloc(1, sizeof *s);
    assert_non_null(s);
    svc_fx_setup(&s->f, edit_config);
    *state = s;
    return 0;
}

static int story_teardown(void **state)
{
    story *s = *state;
    wd_stop(&s->w);
    svc_fx_teardown(&s->f);
    free(s);
    return 0;
}

static void page_story(void **state)
{
    story *s = *state;
    svc_fx *f = &s->f;
    wd *w = &s->w;
    svc_start(f);
    svc_mark(f, SYM, 60000.0);
    svc_entry_fill(f, "op-r1", POS, SYM, "BUY", "0.010", "60000.0",
                   "58000.0");
    svc_await_events(f, SYM, POS, "STOP_CONFIRMED", 1);
    svc_mark(f, SYM, 60555.6);
    svc_await(f, mark_is, "60555.6", "the engine has the mark 60555.6");
    check_answer_text(f);

    /* the page itself, not the API: what an operator's browser shows */
    s6_buf page = { 0 };
    assert_int_equal(http_get(f->port, "/", &page), 200);
    assert_non_null(strstr(page.data, "<title>S6 position manager</title>"));
    assert_null(strstr(page.data, "src=\"http"));
    s6_buf_free(&page);

    wd_start(w);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/#token=%s", f->port,
             SVC_TOKEN);
    json_decref(wd_session(w, "POST", "/url", json_pack("{s:s}", "url", url)));
    await_row(f, w, "0.010|60555.6|58000.0");
    /* the token given once in the fragment is kept for the tab (and sent
     * with the page's requests), and gone from the address bar */
    json_t *tok = wd_eval(w, "return sessionStorage.getItem('s6_token')+'|'"
                              "+location.hash;");
    assert_string_equal(json_string_value(tok), SVC_TOKEN "|");
    json_decref(tok);
    assert_int_equal(json_int_of(wd_eval(w, chart_script)), 1);

    /* a price move reaches the page by itself */
    svc_mark(f, SYM, 60333.3);
    svc_await(f, mark_is, "60333.3", "the engine has the mark 60333.3");
    await_row(f, w, "0.010|60333.3|58000.0");
    check_no_errors(w);
    wd_stop(w);
    svc_stop(f);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(page_story, story_setup, story_teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
