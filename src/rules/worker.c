/* One rule worker process: spawn, one command at a time, kill. */
#define _GNU_SOURCE /* memfd_create */
#include "rules/worker.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct s6_worker {
    pid_t pid;
    int sock;
    s6_wk_shm *shm;
    size_t size;
    uint32_t seq;
    int dead;
};

static int fail(char *err, size_t errlen, const char *what)
{
    int rc = -errno;
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "rule worker: %s: %s", what, strerror(errno));
    return rc != 0 ? rc : -EIO;
}

static int map_shared(s6_worker *w, char *err, size_t errlen, int *fd)
{
    s6_wk_layout l = s6_wk_layout_get();
    *fd = memfd_create("s6-rules", MFD_CLOEXEC);
    if (*fd < 0)
        return fail(err, errlen, "memfd_create");
    /* sparse: only the pages a batch touches cost memory */
    if (ftruncate(*fd, (off_t)l.total) != 0)
        return fail(err, errlen, "ftruncate");
    void *p = mmap(NULL, l.total, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
    if (p == MAP_FAILED)
        return fail(err, errlen, "mmap");
    w->shm = p;
    w->size = l.total;
    return 0;
}

static int spawn(s6_worker *w, const char *exe, size_t as_limit, int shm_fd,
                 int sock, char *err, size_t errlen)
{
    char limit[32];
    snprintf(limit, sizeof limit, "%zu", as_limit);
    char *argv[] = {(char *)exe, "rules", "worker", limit, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, shm_fd, S6_WK_FD);
    posix_spawn_file_actions_adddup2(&fa, sock, S6_WK_SOCK);
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &all);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
    int rc = posix_spawn(&w->pid, exe, &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (rc != 0) {
        errno = rc;
        return fail(err, errlen, exe);
    }
    return 0;
}

int s6_worker_spawn(const char *exe, size_t as_limit, s6_worker **out,
                    char *err, size_t errlen)
{
    *out = NULL;
    s6_worker *w = calloc(1, sizeof *w);
    if (w == NULL)
        return -ENOMEM;
    w->sock = -1;
    int fd = -1, sv[2] = {-1, -1};
    int rc = map_shared(w, err, errlen, &fd);
    if (rc == 0 && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
                              sv) != 0)
        rc = fail(err, errlen, "socketpair");
    if (rc == 0)
        rc = spawn(w, exe, as_limit, fd, sv[1], err, errlen);
    if (fd >= 0)
        close(fd);
    if (sv[1] >= 0)
        close(sv[1]);
    w->sock = sv[0];
    if (rc != 0) {
        w->dead = 1;
        s6_worker_free(w);
        return rc;
    }
    *out = w;
    return 0;
}

s6_wk_shm *s6_worker_shm(s6_worker *w)
{
    return w->shm;
}

void *s6_worker_region(s6_worker *w, size_t offset)
{
    return (char *)w->shm + offset;
}

int s6_worker_alive(const s6_worker *w)
{
    return w != NULL && !w->dead;
}

static void describe_exit(int status, char *how, size_t howlen)
{
    if (WIFSIGNALED(status))
        snprintf(how, howlen, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else if (WIFEXITED(status))
        snprintf(how, howlen, "exited with status %d", WEXITSTATUS(status));
    else
        snprintf(how, howlen, "died");
}

/* A killed worker is reaped at once: SIGKILL cannot be caught, so the
 * wait is short, and no zombie outlives its handle. */
static void kill_and_reap(s6_worker *w, char *how, size_t howlen)
{
    int status = 0;
    w->dead = 1;
    if (w->pid <= 0)
        return;
    kill(w->pid, SIGKILL);
    while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (how != NULL && how[0] == '\0')
        describe_exit(status, how, howlen);
    w->pid = 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads one answer without waiting: 1 it is seq's, 0 none (yet) or an
 * older one, -1 the worker is gone. */
static int take_answer(s6_worker *w, uint32_t seq)
{
    uint32_t got = 0;
    ssize_t k = recv(w->sock, &got, sizeof got, MSG_DONTWAIT);
    if (k < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        return 0;
    if (k != (ssize_t)sizeof got)
        return -1;
    return got == seq ? 1 : 0;
}

/* Waits for the answer to seq; 1 answered, 0 timed out, -1 died. */
static int await(s6_worker *w, uint32_t seq, uint32_t timeout_ms)
{
    int64_t end = now_ms() + timeout_ms;
    for (;;) {
        int64_t left = end - now_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = {.fd = w->sock, .events = POLLIN};
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r == 0 ? 0 : -1;
        int a = take_answer(w, seq);
        if (a != 0)
            return a;
    }
}

int s6_worker_send(s6_worker *w, uint32_t cmd, uint32_t *seq)
{
    if (w == NULL || w->dead)
        return -EPIPE;
    w->shm->cmd = cmd;
    w->shm->status = 0;
    w->shm->err[0] = '\0';
    *seq = ++w->seq;
    if (send(w->sock, seq, sizeof *seq, MSG_NOSIGNAL) == (ssize_t)sizeof *seq)
        return 0;
    kill_and_reap(w, NULL, 0);
    return -EPIPE;
}

/* An outcome of await or take_answer as the call's result; a worker that
 * failed is killed and *how says how it ended. */
static int outcome(s6_worker *w, int r, uint32_t timeout_ms, char *how,
                   size_t howlen)
{
    if (r == 1)
        return 0;
    if (r == 0 && how != NULL)
        snprintf(how, howlen, "killed after %u ms without an answer",
                 timeout_ms);
    kill_and_reap(w, how, howlen);
    return r == 0 ? -ETIMEDOUT : -EPIPE;
}

int s6_worker_await(s6_worker *w, uint32_t seq, uint32_t timeout_ms,
                    char *how, size_t howlen)
{
    if (how != NULL && howlen > 0)
        how[0] = '\0';
    if (w == NULL || w->dead)
        return -EPIPE;
    return outcome(w, await(w, seq, timeout_ms), timeout_ms, how, howlen);
}

int s6_worker_try(s6_worker *w, uint32_t seq, char *how, size_t howlen)
{
    if (how != NULL && howlen > 0)
        how[0] = '\0';
    if (w == NULL || w->dead)
        return -EPIPE;
    int a = take_answer(w, seq);
    return a == 0 ? 1 : outcome(w, a, 0, how, howlen);
}

void s6_worker_kill(s6_worker *w, uint32_t after_ms, char *how, size_t howlen)
{
    if (how != NULL && howlen > 0)
        how[0] = '\0';
    if (w == NULL || w->dead)
        return;
    (void)outcome(w, 0, after_ms, how, howlen);
}

int s6_worker_fd(const s6_worker *w)
{
    return w != NULL && !w->dead ? w->sock : -1;
}

int s6_worker_call(s6_worker *w, uint32_t cmd, uint32_t timeout_ms,
                   char *how, size_t howlen)
{
    uint32_t seq = 0;
    if (how != NULL && howlen > 0)
        how[0] = '\0';
    int rc = s6_worker_send(w, cmd, &seq);
    return rc != 0 ? rc : s6_worker_await(w, seq, timeout_ms, how, howlen);
}

void s6_worker_free(s6_worker *w)
{
    if (w == NULL)
        return;
    kill_and_reap(w, NULL, 0);
    if (w->sock >= 0)
        close(w->sock);
    if (w->shm != NULL)
        munmap(w->shm, w->size);
    free(w);
}

const char *s6_worker_default_exe(void)
{
    const char *e = getenv("S6_RULE_WORKER_EXE");
    return e != NULL && e[0] != '\0' ? e : "/proc/self/exe";
}
