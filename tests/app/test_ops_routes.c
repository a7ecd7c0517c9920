/*
 * The operators' routes over real HTTP against the built binary: GET
 * /rules, POST /rules/reload and the kill switch (POST /control/pause,
 * /control/resume), with the bearer token, every bad input answered 4xx
 * with {"error":{code,message,field}} and nothing changed.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "proc.h"

#define TOKEN "correct-horse-battery-staple"

typedef struct svc {
    proc p;
    int port;
} svc;

static void start(svc *s)
{
    static char env_port[32];
    s->port = free_port();
    snprintf(env_port, sizeof env_port, "PORT=%d", s->port);
    const char *env[] = { env_port, "S6_AUTH_TOKEN=" TOKEN, NULL };
    spawn(&s->p, env, NULL);
    json_decref(await_log(&s->p, "listening"));
}

static void stop(svc *s)
{
    assert_int_equal(kill(s->p.pid, SIGTERM), 0);
    int status = await_exit(&s->p);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    proc_free(&s->p);
}

/* status and parsed body of one call */
static long call(svc *s, const char *method, const char *path,
                 const char *token, const char *body, json_t **doc)
{
    s6_buf out = { 0 };
    long code = http_call(s->port, method, path, token, body, &out);
    *doc = out.len ? json_loads(out.data, 0, NULL) : NULL;
    s6_buf_free(&out);
    return code;
}

static void expect_error(json_t *doc, const char *code, const char *field)
{
    json_t *e = json_object_get(doc, "error");
    assert_non_null(e);
    assert_string_equal(json_string_value(json_object_get(e, "code")), code);
    assert_non_null(json_string_value(json_object_get(e, "message")));
    if (field == NULL)
        assert_true(json_is_null(json_object_get(e, "field")));
    else
        assert_string_equal(json_string_value(json_object_get(e, "field")), field);
}

static json_t *paused_state(svc *s)
{
    json_t *doc;
    assert_int_equal(http_get_json(s->port, "/health", &doc), 200);
    json_t *p = json_incref(json_object_get(json_object_get(doc, "checks"), "paused"));
    json_decref(doc);
    return p;
}

/* The shipped rules: every *.lua directly in S6_RULES_DIR. */
static size_t shipped_rules(void)
{
    const char *dir = getenv("S6_RULES_DIR");
    assert_non_null(dir);
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        n += len > 4 && strcmp(e->d_name + len - 4, ".lua") == 0;
    }
    closedir(d);
    return n;
}

static void rules_routes(void **state)
{
    (void)state;
    svc s;
    start(&s);
    json_t *doc;
    assert_int_equal(call(&s, "GET", "/rules", NULL, NULL, &doc), 200);
    assert_true(shipped_rules() >= 5);
    assert_int_equal(json_array_size(json_object_get(doc, "rules")),
                     shipped_rules());
    json_decref(doc);
    /* no token, a wrong one (also one that is a prefix), then the right one */
    assert_int_equal(call(&s, "POST", "/rules/reload", NULL, NULL, &doc), 401);
    expect_error(doc, "unauthorized", NULL);
    json_decref(doc);
    assert_int_equal(call(&s, "POST", "/rules/reload", "wrong", NULL, &doc), 401);
    json_decref(doc);
    assert_int_equal(call(&s, "POST", "/rules/reload", "correct-horse", NULL, &doc), 401);
    json_decref(doc);
    assert_int_equal(call(&s, "POST", "/rules/reload", TOKEN, NULL, &doc), 200);
    assert_int_equal(json_integer_value(json_object_get(doc, "changed")), 0);
    json_decref(doc);
    stop(&s);
}

static void kill_switch(void **state)
{
    (void)state;
    svc s;
    start(&s);
    json_t *doc;
    assert_int_equal(call(&s, "POST", "/control/pause", NULL,
                          "{\"symbol\":\"BTCUSDT\"}", &doc), 401);
    json_decref(doc);
    assert_int_equal(call(&s, "POST", "/control/pause", TOKEN,
                          "{\"symbol\":\"BTCUSDT\",\"reason\":\"exchange incident\"}",
                          &doc), 200);
    assert_false(json_is_true(json_object_get(doc, "all")));
    assert_string_equal(json_string_value(json_array_get(json_object_get(doc, "symbols"), 0)),
                        "BTCUSDT");
    json_decref(doc);
    json_t *logged = await_log(&s.p, "paused");
    assert_string_equal(json_string_value(json_object_get(logged, "reason")),
                        "exchange incident");
    json_decref(logged);

    /* bad input: 4xx, and the state is what it was */
    json_t *before = paused_state(&s);
    static const struct { const char *body; long status; const char *code, *field; } bad[] = {
        { "{\"symbol\":", 400, "bad_json", NULL },
        { "[1,2]", 400, "bad_json", NULL },
        { "{\"symbol\":5}", 400, "bad_type", "symbol" },
        { "{\"symbl\":\"BTCUSDT\"}", 400, "unknown_field", "symbl" },
        { "{\"symbol\":\"DOGEUSDT\"}", 404, "unknown_symbol", "symbol" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(call(&s, "POST", "/control/resume", TOKEN, bad[i].body, &doc),
                         bad[i].status);
        expect_error(doc, bad[i].code, bad[i].field);
        json_decref(doc);
    }
    json_t *after = paused_state(&s);
    assert_true(json_equal(before, after));
    json_decref(before);
    json_decref(after);

    s6_buf m = { 0 };
    assert_int_equal(http_get(s.port, "/metrics", &m), 200);
    assert_non_null(strstr(m.data, "s6_paused{scope=\"BTCUSDT\"} 1\n"));
    s6_buf_free(&m);

    /* pause everything, then resume everything */
    assert_int_equal(call(&s, "POST", "/control/pause", TOKEN, NULL, &doc), 200);
    assert_true(json_is_true(json_object_get(doc, "all")));
    json_decref(doc);
    assert_int_equal(call(&s, "POST", "/control/resume", TOKEN, "", &doc), 200);
    assert_false(json_is_true(json_object_get(doc, "all")));
    assert_int_equal(json_array_size(json_object_get(doc, "symbols")), 0);
    json_decref(doc);
    stop(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rules_routes),
        cmocka_unit_test(kill_switch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
