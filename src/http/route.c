/* The route table: method + exact path or {param} segments. */
#include "http/internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool method_ok(const char *m)
{
    size_t n = strlen(m);
    if (n == 0 || n >= S6__HTTP_METHOD_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isupper((unsigned char)m[i]))
            return false;
    return true;
}

static bool name_char(char ch)
{
    return isalnum((unsigned char)ch) || ch == '_';
}

/* Checks the pattern and copies its parameter names into r. */
static int parse_pattern(s6__route *r, const char *pattern)
{
    if (pattern[0] != '/')
        return -EINVAL;
    for (const char *p = pattern; *p; p++) {
        if (*p == '}')
            return -EINVAL;
        if (*p != '{')
            continue;
        const char *end = p + 1;
        while (name_char(*end))
            end++;
        /* A parameter is a whole segment: "/{id}/", never "/x{id}". */
        if (*end != '}' || end == p + 1 || p[-1] != '/' ||
            (end[1] != '/' && end[1] != '\0') ||
            r->n_params == S6__HTTP_MAX_PARAMS)
            return -EINVAL;
        r->names[r->n_params] = strndup(p + 1, (size_t)(end - p - 1));
        if (r->names[r->n_params] == NULL)
            return -ENOMEM;
        r->n_params++;
        p = end;
    }
    return 0;
}

static void route_clear(s6__route *r)
{
    for (unsigned i = 0; i < r->n_params; i++)
        free(r->names[i]);
    free(r->pattern);
}

int s6_http_route(s6_http_server *srv, const char *method,
                  const char *pattern, s6_http_handler fn, void *ud)
{
    if (srv == NULL || method == NULL || pattern == NULL || fn == NULL ||
        !method_ok(method))
        return -EINVAL;
    for (size_t i = 0; i < srv->n_routes; i++)
        if (strcmp(srv->routes[i].method, method) == 0 &&
            strcmp(srv->routes[i].pattern, pattern) == 0)
            return -EEXIST;
    s6__route r = { .fn = fn, .ud = ud, .pattern = strdup(pattern) };
    strcpy(r.method, method);
    int rc = r.pattern ? parse_pattern(&r, pattern) : -ENOMEM;
    s6__route *grown = rc ? NULL
        : realloc(srv->routes, (srv->n_routes + 1) * sizeof *grown);
    if (grown == NULL) {
        route_clear(&r);
        return rc ? rc : -ENOMEM;
    }
    srv->routes = grown;
    srv->routes[srv->n_routes++] = r;
    return 0;
}

void s6__routes_free(s6_http_server *srv)
{
    for (size_t i = 0; i < srv->n_routes; i++)
        route_clear(&srv->routes[i]);
    free(srv->routes);
    srv->routes = NULL;
    srv->n_routes = 0;
}

/* Matches one route's pattern against path; true with the value spans. */
static bool match(const s6__route *r, const char *path, s6__route_match *m)
{
    const char *p = r->pattern, *s = path;
    unsigned k = 0;
    while (*p) {
        if (*p != '{') {
            if (*p++ != *s++)
                return false;
            continue;
        }
        const char *end = s;
        while (*end && *end != '/')
            end++;
        if (end == s)
            return false;
        m->values[k].at = s;
        m->values[k++].len = (size_t)(end - s);
        p = strchr(p, '}') + 1;
        s = end;
    }
    return *s == '\0';
}

static void allow_add(s6_buf *allow, const char *method)
{
    /* Methods are whole words in the list: search ", GET," style. */
    size_t n = strlen(method);
    for (const char *at = allow->data; at && (at = strstr(at, method));
         at += n) {
        bool starts = at == allow->data || at[-1] == ' ';
        if (starts && (at[n] == ',' || at[n] == '\0'))
            return;
    }
    if (allow->len > 0)
        s6_buf_puts(allow, ", ");
    s6_buf_puts(allow, method);
}

int s6__route_find(const s6_http_server *srv, const char *method,
                   const char *path, s6__route_match *m, s6_buf *allow)
{
    s6__route_match cand;
    m->route = NULL;
    for (size_t i = 0; i < srv->n_routes; i++) {
        const s6__route *r = &srv->routes[i];
        if (!match(r, path, &cand))
            continue;
        if (strcmp(r->method, method) != 0) {
            allow_add(allow, r->method);
            continue;
        }
        if (m->route == NULL || r->n_params < m->route->n_params) {
            *m = cand;
            m->route = r;
        }
    }
    if (m->route != NULL)
        return 0;
    return allow->len > 0 ? 405 : 404;
}
