/*
 * A blocking test client on plain sockets.  Responses are read with
 * http-parser in response mode, so what the server writes is checked by
 * an independent parser, not by the server's own code.
 */
#pragma once

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>

/* How long any blocking read may wait before the test fails; only a
 * guard against hanging, never a way to synchronise. */
#define TC_GUARD_MS 5000

typedef struct tc_resp {
    int status;
    char names[32][64];
    char values[32][512];
    int n_headers;
    char body[16384];
    size_t body_len;
} tc_resp;

typedef struct tc_conn {
    int fd;
    http_parser parser;
    char pending[65536]; /* received, not yet parsed */
    size_t pending_len;
    tc_resp *out;
    int want, got;
    bool last_was_value;
    bool eof;
} tc_conn;

int tc_connect(tc_conn *c, int port); /* 0, or -1 (errno set) */
void tc_close(tc_conn *c);
/* Sends all of s; returns 0 or -1. */
int tc_send(tc_conn *c, const char *s, size_t len);
int tc_sends(tc_conn *c, const char *s);
/* Reads until n responses are complete; returns how many were. */
int tc_read(tc_conn *c, tc_resp *out, int n);
/* Blocks until the server closes; true on EOF or reset, false if data
 * arrived or the guard expired.  *ms gets the time waited. */
bool tc_await_close(tc_conn *c, long *ms);
/* Case-insensitive header lookup; NULL when absent. */
const char *tc_header(const tc_resp *r, const char *name);
long tc_now_ms(void);

/* Counts the lines of newline-terminated text, and in *bad those that are
 * not a JSON object with a string "ts" (the logger's line shape). */
int tc_json_lines(const char *text, int *bad);
