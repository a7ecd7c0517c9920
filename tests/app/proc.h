/*
 * proc.h — the built s6-position binary as a child process for end-to-end
 * tests: spawn it with an environment and arguments, read its stdout and
 * stderr, wait for a log line (never a sleep), reap it.  The binary is
 * found through S6_BUILD_DIR, which ctest sets.
 */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "util/buf.h"

/* Generous: a sanitizer build starts slowly.  Only ever a failure guard. */
enum { GUARD_MS = 20000 };

typedef struct proc {
    pid_t pid;
    int out_fd, err_fd;
    s6_buf out, err;
    size_t err_scanned; /* bytes of err already split into lines */
    pthread_t pumper;
    atomic_bool pumping;
} proc;

long now_ms(void);
/* env: "NAME=value" to set, "NAME" alone to unset; NULL-terminated.
 * args: the command line after the program name, NULL-terminated (or NULL). */
void spawn_args(proc *p, const char *const *env, const char *const *args);
/* Any program (a script: path to the interpreter, the script in args). */
void spawn_prog(proc *p, const char *path, const char *const *env,
                const char *const *args);
/* One optional argument (NULL: none). */
void spawn(proc *p, const char *const *env, const char *arg);
/* Reads whatever either pipe has within ms; false once both are at EOF. */
bool pump(proc *p, int ms);
/* While the test blocks on something else (a request), a thread keeps
 * reading the child's pipes, so a chatty child (one log line per request)
 * never stalls on a full pipe.  Stop it before touching p again. */
void pump_in_background(proc *p);
void pump_stop(proc *p);
/* Waits for a stderr line whose msg is `msg`; returns it parsed. */
json_t *await_log(proc *p, const char *msg);
/* The same with the raw line also containing needle (NULL: any), for up
 * to ms milliseconds. */
json_t *await_log_match(proc *p, const char *msg, const char *needle,
                        long ms);
/* Reads both pipes to EOF, then reaps; returns the wait status. */
int await_exit(proc *p);
void proc_free(proc *p);
/* Every stderr line is a JSON log line; returns how many there are. */
int every_line_json(const s6_buf *b);
int free_port(void);
/* GET http://127.0.0.1:port/path; the body appended to *body (kept
 * NUL-terminated); returns the status, 0 when no answer came. */
long http_get(int port, const char *path, s6_buf *body);
/* method path with an optional bearer token and JSON body; the answer's
 * body appended to *out (NUL-terminated); returns the status. */
long http_call(int port, const char *method, const char *path,
               const char *token, const char *body, s6_buf *out);
/* GET http://127.0.0.1:port/path; the body parsed into *doc (or NULL). */
long http_get_json(int port, const char *path, json_t **doc);
