/*
 * test_exit_status.c — the exit statuses a supervisor reads
 * (docs/operations.md): a lost lease is no exit at all (the service
 * pauses, and a signal then still ends it with 0); a failure while
 * starting (here: the HTTP port is taken) ends with 1, which
 * examples/s6-position.service restarts; a signal ends with 0 (svc_stop,
 * every story).  Status 2, a bad configuration, is service_unit_file's.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "fixture.h"

static void edit_config(json_t *cfg)
{
    svc_edit_common(cfg);
}

/* The lease is another instance's: the service pauses and waits to take
 * it back, and it is still the signal that ends it, with 0. */
static void lost_lease_does_not_exit(void **state)
{
    (void)state;
    svc_fx f;
    svc_fx_setup(&f, edit_config);
    svc_start(&f);
    /* another instance holds the lease now: the next renewal finds it */
    freeReplyObject(svc_redis(&f, "SET s6:lease other-instance PX 60000"));
    json_decref(svc_await_log(&f, "lease lost: paused until it is "
                                  "acquired again"));
    assert_int_equal(waitpid(f.p.pid, NULL, WNOHANG), 0);
    svc_stop(&f); /* fails unless the status is 0 */
    svc_fx_teardown(&f);
}

/* A second process on the first one's port cannot listen: status 1. */
static void port_taken_exits_1(void **state)
{
    (void)state;
    svc_fx f;
    svc_fx_setup(&f, edit_config);
    svc_start(&f);
    proc second;
    svc_spawn(&f, &second, f.port, "s6-test-2");
    json_decref(await_log(&second, "cannot start the HTTP server"));
    int st = await_exit(&second);
    proc_free(&second);
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 1))
        fail_msg("a taken port ended with wait status %d, want exit 1", st);
    svc_stop(&f);
    svc_fx_teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lost_lease_does_not_exit),
        cmocka_unit_test(port_taken_exits_1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
