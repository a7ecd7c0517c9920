/*
 * test_exit_status.c — the exit statuses a supervisor reads
 * (docs/operations.md): a fatal stop while running (here: another
 * instance took the lease) ends with 1, which examples/s6-position.service
 * restarts; a signal ends with 0 (svc_stop, every story).  Status 2, a bad
 * configuration, is service_unit_file's.
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

static void lost_lease_exits_1(void **state)
{
    (void)state;
    svc_fx f;
    svc_fx_setup(&f, edit_config);
    svc_start(&f);
    /* another instance holds the lease now: the next renewal finds it */
    freeReplyObject(svc_redis(&f, "SET s6:lease other-instance PX 60000"));
    json_decref(svc_await_log(&f, "lease lost: stopping so that one "
                                  "instance acts"));
    int st = await_exit(&f.p);
    proc_free(&f.p);
    f.running = false;
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 1))
        fail_msg("a lost lease ended with wait status %d, want exit 1", st);
    svc_fx_teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lost_lease_exits_1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
