/*
 * s6_watchdog: stops a rule evaluation that overruns its deadline.
 *
 * One thread per watchdog sleeps on a condition variable (CLOCK_MONOTONIC)
 * and touches the Lua state only when an armed deadline passes: it then sets
 * a count-1 hook that raises "rule evaluation exceeded its deadline of N ms".
 * Until then the state runs without any hook, at full speed. The LuaJIT it
 * runs on must be built with -DLUAJIT_ENABLE_CHECKHOOK (s6::luajit), or the
 * hook never fires inside a JIT-compiled loop (docs/sandbox-deadline.md).
 *
 * Protocol, on the thread that owns L (the host):
 *
 *     s6_watchdog_arm(w, L, deadline_ms);
 *     rc = lua_pcall(L, nargs, nresults, 0);
 *     fired = s6_watchdog_disarm(w);
 *
 * - Disarm right after lua_pcall returns, before running any other Lua code
 *   on L: until then a fired hook keeps raising its error.
 * - The hook raises its error at every Lua instruction until disarm, so a
 *   script's own pcall, xpcall or coroutine.resume catches it only for the
 *   next instruction to raise it again: the error always reaches the host.
 * - disarm returns 1 when the deadline fired. It then removes the hook
 *   itself; the watchdog thread sets the hook while holding the lock disarm
 *   takes, so after disarm the thread never touches L again. Treat fired = 1
 *   as an overrun even when rc is 0 (the hook can land after the last Lua
 *   instruction, inside a C function that then returns normally).
 * - LuaJIT runs an xpcall message handler inside the erroring hook, where
 *   hooks are off: a handler that loops would never be stopped. Scripts get
 *   an xpcall built on pcall that calls the handler after pcall returns,
 *   never the raw one; likewise no newproxy (__gc runs with hooks off). The
 *   host's own message handler (lua_pcall's msgh) must be trusted code.
 * - The watchdog owns the state's hook: do not set other hooks on L while it
 *   is armed.
 * - The deadline cannot interrupt C code (a long string.rep, a pattern
 *   match): keep host functions bounded and strings under the memory cap.
 * - One watchdog guards one evaluation at a time (arming an armed watchdog
 *   is -EBUSY); several states may use one watchdog in turn.
 *
 * Functions return 0 (or the documented value) on success and a negative
 * errno code on failure.
 */
#pragma once

#include <lua.h>
#include <stdint.h>

typedef struct s6_watchdog s6_watchdog;

/* Starts the watchdog's thread; *out receives the watchdog. */
int s6_watchdog_start(s6_watchdog **out);

/* Stops the thread and frees w. w must be disarmed. NULL is a no-op. */
void s6_watchdog_stop(s6_watchdog *w);

/* Arms a deadline deadline_ms (1..INT_MAX) from now for an evaluation on L.
 * Call it on the thread that owns L: the first arm on a state stores w in
 * its registry for the hook (-ENOMEM if that allocation fails). */
int s6_watchdog_arm(s6_watchdog *w, lua_State *L, uint32_t deadline_ms);

/* Ends the evaluation: 1 if the deadline fired (the hook is removed), 0 if
 * not, -EINVAL if w was not armed. */
int s6_watchdog_disarm(s6_watchdog *w);
