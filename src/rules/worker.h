/*
 * worker.h — one rule worker process, as the service sees it.
 *
 * Rule code (compile, probe, self-checks, evaluation) runs only in a worker:
 * instruction hooks cannot reach C code (a pattern that backtracks for
 * ever, a recursive gsub that overflows the C stack) and LuaJIT can crash
 * on out-of-memory, so only a process boundary contains a hostile rule
 * (design.md §4b, docs/rule-worker.md).  The worker is the service's own
 * binary run again with `rules worker`; it shares one memfd with the
 * service (rules/worker_proto.h) and answers one command at a time.  A
 * command that outlives its wall-clock limit gets the worker killed.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "rules/worker_proto.h"

typedef struct s6_worker s6_worker;

/* Starts `exe rules worker` with an address-space limit of as_limit bytes
 * (0: none).  err says why it could not. */
int s6_worker_spawn(const char *exe, size_t as_limit, s6_worker **out,
                    char *err, size_t errlen);
s6_wk_shm *s6_worker_shm(s6_worker *w);
void *s6_worker_region(s6_worker *w, size_t offset);
/*
 * Runs one command (its inputs already in shared memory) and waits for the
 * answer at most timeout_ms.  0 when the worker answered; -ETIMEDOUT when
 * it did not (it is killed); -EPIPE when it died.  After a failure the
 * worker is dead for good and *how says what happened, e.g. "killed by
 * signal 11" or "killed after 250 ms".
 */
int s6_worker_call(s6_worker *w, uint32_t cmd, uint32_t timeout_ms,
                   char *how, size_t howlen);
/* The same in steps, for a caller that waits on its own loop: send the
 * command (its seq out), then either await it (as s6_worker_call) or try
 * when fd is readable: 0 answered, 1 not yet, -EPIPE died (killed,
 * *how says how).  kill ends a worker that did not answer in after_ms. */
int s6_worker_send(s6_worker *w, uint32_t cmd, uint32_t *seq);
int s6_worker_await(s6_worker *w, uint32_t seq, uint32_t timeout_ms,
                    char *how, size_t howlen);
int s6_worker_try(s6_worker *w, uint32_t seq, char *how, size_t howlen);
void s6_worker_kill(s6_worker *w, uint32_t after_ms, char *how,
                    size_t howlen);
int s6_worker_fd(const s6_worker *w);
int s6_worker_alive(const s6_worker *w);
void s6_worker_free(s6_worker *w);

/* The worker's side: `s6-position rules worker AS_LIMIT`, with the fds
 * of the spawn; returns the process's exit status. */
int s6_worker_main(const char *as_limit);
/* The executable a service runs workers from: $S6_RULE_WORKER_EXE, else
 * this process's own binary. */
const char *s6_worker_default_exe(void);
