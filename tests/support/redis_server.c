#include "redis_server.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define START_DEADLINE_MS 10000

static int fail(const char *what)
{
    fprintf(stderr, "redis test server: %s: %s\n", what, strerror(errno));
    return -1;
}

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct sockaddr_in loopback(int port)
{
    struct sockaddr_in a = { .sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    return a;
}

int s6test_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = loopback(0);
    socklen_t len = sizeof(a);
    int port = -1;

    if (fd < 0)
        return fail("socket");
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static bool port_free(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = loopback(port);
    bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static void notify_path(const s6test_redis *srv, char *out, size_t n)
{
    snprintf(out, n, "%s/notify", srv->dir);
}

static int notify_socket(const s6test_redis *srv)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return fail("notify socket");
    notify_path(srv, a.sun_path, sizeof(a.sun_path));
    unlink(a.sun_path);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return fail("bind notify socket");
    }
    return fd;
}

static void exec_server(const s6test_redis *srv)
{
    char port[16], log[192], notify[160], timeout[16];

    prctl(PR_SET_PDEATHSIG, SIGKILL);
    snprintf(port, sizeof(port), "%d", srv->port);
    snprintf(log, sizeof(log), "%s/redis.log", srv->dir);
    notify_path(srv, notify, sizeof(notify));
    setenv("NOTIFY_SOCKET", notify, 1);
    snprintf(timeout, sizeof(timeout), "%d", srv->cluster_node_timeout_ms);
    if (srv->cluster_node_timeout_ms > 0)
        execlp("redis-server", "redis-server", "--port", port, "--bind",
               "127.0.0.1", "--dir", srv->dir, "--save", "", "--appendonly",
               "no", "--daemonize", "no", "--supervised", "systemd",
               "--logfile", log, "--enable-debug-command", "local",
               "--cluster-enabled", "yes", "--cluster-config-file",
               "nodes.conf", "--cluster-node-timeout", timeout,
               (char *)NULL);
    /* With aof every write is on disk before it is answered, so a kill
     * and restart loses nothing a client was told had happened. */
    execlp("redis-server", "redis-server", "--port", port, "--bind",
           "127.0.0.1", "--dir", srv->dir, "--save", "", "--appendonly",
           srv->aof ? "yes" : "no", "--appendfsync", "always",
           "--daemonize", "no", "--supervised", "systemd", "--logfile", log,
           "--enable-debug-command", "local", (char *)NULL);
    _exit(127);
}

/* Waits for READY=1 on the notify socket, or the child's exit. */
static int await_ready(s6test_redis *srv, int nfd, int pidfd)
{
    long long deadline = now_ms() + START_DEADLINE_MS;
    char buf[512];

    for (;;) {
        long long left = deadline - now_ms();
        struct pollfd p[2] = { { .fd = nfd, .events = POLLIN },
                               { .fd = pidfd, .events = POLLIN } };
        if (left <= 0) {
            fprintf(stderr, "redis test server: no READY=1 within %d ms "
                            "(see %s/redis.log)\n", START_DEADLINE_MS, srv->dir);
            return -1;
        }
        if (poll(p, pidfd >= 0 ? 2 : 1, (int)left) < 0 && errno != EINTR)
            return fail("poll");
        if (p[1].revents) {
            fprintf(stderr, "redis test server: redis-server exited during "
                            "start (see %s/redis.log)\n", srv->dir);
            return -1;
        }
        if (p[0].revents & POLLIN) {
            ssize_t n = recv(nfd, buf, sizeof(buf) - 1, 0);
            if (n > 0) {
                buf[n] = '\0';
                if (strstr(buf, "READY=1"))
                    return 0;
            }
        }
    }
}

/* One blocking PING with a receive timeout: the server really answers. */
static int ping(const s6test_redis *srv)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = loopback(srv->port);
    struct timeval tv = { .tv_sec = 5 };
    char buf[16] = { 0 };
    int rc = -1;

    if (fd < 0)
        return fail("socket");
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        write(fd, "PING\r\n", 6) == 6 && read(fd, buf, sizeof(buf) - 1) > 0 &&
        strncmp(buf, "+PONG", 5) == 0)
        rc = 0;
    else
        fail("PING");
    close(fd);
    return rc;
}

static int spawn(s6test_redis *srv)
{
    int nfd = notify_socket(srv);
    int rc = -1;

    if (nfd < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(nfd);
        return fail("fork");
    }
    if (pid == 0)
        exec_server(srv);
    srv->pid = pid;
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (await_ready(srv, nfd, pidfd) == 0 && ping(srv) == 0)
        rc = 0;
    if (pidfd >= 0)
        close(pidfd);
    close(nfd);
    if (rc != 0)
        s6test_redis_stop(srv);
    return rc;
}

int s6test_redis_start(s6test_redis *srv)
{
    return s6test_redis_start_cluster_node(srv, 0);
}

int s6test_redis_start_cluster_node(s6test_redis *srv, int node_timeout_ms)
{
    const char *tmp = getenv("TMPDIR");
    int aof = srv->aof;

    memset(srv, 0, sizeof(*srv));
    srv->aof = aof;
    srv->cluster_node_timeout_ms = node_timeout_ms;
    snprintf(srv->dir, sizeof(srv->dir), "%s/s6redis.XXXXXX",
             tmp && *tmp && strlen(tmp) < 60 ? tmp : "/tmp");
    if (!mkdtemp(srv->dir))
        return fail("mkdtemp");
    /* The port can be taken between probe and bind: try a few. */
    for (int attempt = 0; attempt < 3; attempt++) {
        srv->port = s6test_free_port();
        /* A cluster node also listens on port + 10000 (its bus). */
        while (node_timeout_ms > 0 && srv->port > 0 &&
               (srv->port > 55535 || !port_free(srv->port + 10000)))
            srv->port = s6test_free_port();
        if (srv->port <= 0)
            break;
        snprintf(srv->url, sizeof(srv->url), "redis://127.0.0.1:%d/0", srv->port);
        if (spawn(srv) == 0)
            return 0;
    }
    s6test_redis_destroy(srv);
    return -1;
}

int s6test_redis_stop(s6test_redis *srv)
{
    int status;

    if (srv->pid <= 0)
        return 0;
    kill(srv->pid, SIGKILL);
    while (waitpid(srv->pid, &status, 0) < 0 && errno == EINTR)
        ;
    srv->pid = 0;
    return 0;
}

int s6test_redis_restart(s6test_redis *srv)
{
    s6test_redis_stop(srv);
    return spawn(srv);
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[512];

    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

void s6test_redis_destroy(s6test_redis *srv)
{
    s6test_redis_stop(srv);
    if (srv->dir[0])
        remove_dir(srv->dir);
    srv->dir[0] = '\0';
}
