#include "client.h"

#include <jansson.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

long tc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int tc_connect(tc_conn *c, int port)
{
    memset(c, 0, sizeof *c);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0)
        return -1;
    struct timeval tv = { .tv_sec = TC_GUARD_MS / 1000 };
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_port = htons((uint16_t)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int e = errno;
        close(c->fd);
        c->fd = -1;
        errno = e;
        return -1;
    }
    return 0;
}

void tc_close(tc_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

int tc_send(tc_conn *c, const char *s, size_t len)
{
    while (len > 0) {
        ssize_t n = send(c->fd, s, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        s += n;
        len -= (size_t)n;
    }
    return 0;
}

int tc_sends(tc_conn *c, const char *s)
{
    return tc_send(c, s, strlen(s));
}

static tc_conn *of(http_parser *p)
{
    return p->data;
}

static tc_resp *cur(http_parser *p)
{
    return &of(p)->out[of(p)->got];
}

static void add(char *dst, size_t cap, const char *s, size_t n)
{
    size_t len = strlen(dst);
    if (len + n >= cap)
        n = cap - len - 1;
    memcpy(dst + len, s, n);
    dst[len + n] = '\0';
}

static int on_begin(http_parser *p)
{
    memset(cur(p), 0, sizeof *cur(p));
    of(p)->last_was_value = false;
    return 0;
}

static int on_field(http_parser *p, const char *at, size_t n)
{
    tc_resp *r = cur(p);
    if (r->n_headers == 0 || of(p)->last_was_value) {
        if (r->n_headers == 32)
            return -1;
        r->n_headers++;
    }
    of(p)->last_was_value = false;
    add(r->names[r->n_headers - 1], sizeof r->names[0], at, n);
    return 0;
}

static int on_value(http_parser *p, const char *at, size_t n)
{
    tc_resp *r = cur(p);
    of(p)->last_was_value = true;
    add(r->values[r->n_headers - 1], sizeof r->values[0], at, n);
    return 0;
}

static int on_headers(http_parser *p)
{
    cur(p)->status = (int)p->status_code;
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    tc_resp *r = cur(p);
    if (r->body_len + n >= sizeof r->body)
        return -1;
    memcpy(r->body + r->body_len, at, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return 0;
}

static int on_complete(http_parser *p)
{
    if (++of(p)->got == of(p)->want)
        http_parser_pause(p, 1); /* leave the rest for the next read */
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_begin,
    .on_header_field = on_field,
    .on_header_value = on_value,
    .on_headers_complete = on_headers,
    .on_body = on_body,
    .on_message_complete = on_complete,
};

/* Parses what is pending; false on a parse error. */
static bool parse_pending(tc_conn *c)
{
    if (c->pending_len == 0)
        return true;
    http_parser_pause(&c->parser, 0);
    size_t used = http_parser_execute(&c->parser, &settings, c->pending,
                                      c->pending_len);
    enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
    if (e != HPE_OK && e != HPE_PAUSED) {
        fprintf(stderr, "client: bad response: %s\n", http_errno_name(e));
        return false;
    }
    memmove(c->pending, c->pending + used, c->pending_len - used);
    c->pending_len -= used;
    return true;
}

int tc_read(tc_conn *c, tc_resp *out, int n)
{
    if (c->parser.data == NULL) {
        http_parser_init(&c->parser, HTTP_RESPONSE);
        c->parser.data = c;
    }
    c->out = out;
    c->want = n;
    c->got = 0;
    while (c->got < n) {
        if (!parse_pending(c))
            break;
        if (c->got >= n)
            break;
        ssize_t r = recv(c->fd, c->pending + c->pending_len,
                         sizeof c->pending - c->pending_len, 0);
        if (r <= 0) {
            c->eof = r == 0;
            break;
        }
        c->pending_len += (size_t)r;
    }
    return c->got;
}

bool tc_await_close(tc_conn *c, long *ms)
{
    long t0 = tc_now_ms();
    char b[256];
    ssize_t r = c->pending_len ? 1 : recv(c->fd, b, sizeof b, 0);
    if (ms != NULL)
        *ms = tc_now_ms() - t0;
    return r == 0 || (r < 0 && errno == ECONNRESET);
}

const char *tc_header(const tc_resp *r, const char *name)
{
    for (int i = 0; i < r->n_headers; i++)
        if (strcasecmp(r->names[i], name) == 0)
            return r->values[i];
    return NULL;
}

int tc_json_lines(const char *text, int *bad)
{
    int n = 0;
    *bad = 0;
    for (const char *l = text; l && *l; n++) {
        const char *nl = strchr(l, '\n');
        size_t len = nl ? (size_t)(nl - l) : strlen(l);
        json_t *o = json_loadb(l, len, 0, NULL);
        if (!json_is_object(o) || !json_is_string(json_object_get(o, "ts"))) {
            fprintf(stderr, "not a log line: %.*s\n", (int)len, l);
            ++*bad;
        }
        json_decref(o);
        l = nl ? nl + 1 : l + len;
    }
    return n;
}
