-- The Lua half of s6-bench-core (bench_core.c): one hot loop per measured
-- primitive, written against the wrappers of lua/s6/core.lua exactly as a
-- rule would call them, and a watcher of the JIT's trace events.
--
-- Each loop feeds the same inputs as its C twin in bench_core.c (same
-- formulas in i, see there) and returns the same accumulated sum, which the
-- C side compares bit for bit.
local ffi = require("ffi")
local bit = require("bit")
local jit = require("jit")
local jutil = require("jit.util")
local core = require("s6.core")

local band = bit.band
local roe, price_for_roe_net = core.roe, core.price_for_roe_net
local liq_price, liq_distance = core.liq_price, core.liq_distance
local round_stop, format_decimal = core.round_stop, core.format_decimal

local B = { loops = {} }

-- The statically linked primitives must be the ones measured, not a
-- libs6core.so found on the side.
B.linked_in = rawequal(core.lib, ffi.C)

-- One loop per primitive on purpose: a generic loop taking the wrapper as
-- an argument would be a single loop in the bytecode, so a single trace
-- specialised to whichever primitive ran first.
local function side(i) return 1 - 2 * band(i, 1) end
local function mark(i) return 100 + band(i, 1023) * 0.01 end

function B.loops.s6_roe(n)
  local acc = 0
  for i = 0, n - 1 do
    acc = acc + roe(side(i), 0.5, 100, mark(i), 10)
  end
  return acc
end

function B.loops.s6_price_for_roe_net(n)
  local acc = 0
  for i = 0, n - 1 do
    acc = acc + price_for_roe_net(side(i), 0.5, 100, 10, 0.02, 0.0004,
                                  band(i, 255) * 0.001)
  end
  return acc
end

function B.loops.s6_liq_price_isolated(n)
  local acc = 0
  for i = 0, n - 1 do
    acc = acc + liq_price(side(i), 0.5, 100, mark(i) * 0.1, 0.004, 0)
  end
  return acc
end

function B.loops.s6_liq_distance(n)
  local acc = 0
  for i = 0, n - 1 do
    acc = acc + liq_distance(side(i), mark(i), 90 + band(i, 3) * 5)
  end
  return acc
end

local ATR_PERIOD = 14

function B.loops.s6_atr_push(n)
  local atr = core.atr_new(ATR_PERIOD)
  for i = 0, ATR_PERIOD do -- warm-up bars, as in C
    atr:push(mark(i) + 0.5, mark(i) - 0.5, mark(i))
  end
  local acc = 0
  for i = 0, n - 1 do
    local m = mark(i)
    acc = acc + atr:push(m + 0.5, m - 0.5, m)
  end
  return acc
end

function B.loops.s6_round_stop(n)
  local acc = 0
  for i = 0, n - 1 do
    acc = acc + round_stop(side(i), 100 + band(i, 1023) * 0.0037, 0.01)
  end
  return acc
end

function B.loops.s6_format_decimal(n)
  local acc = 0
  for i = 0, n - 1 do
    acc = acc + #format_decimal(band(i, 1023) * 0.01, 0.01)
  end
  return acc
end

-- Trace watching.  A measured loop passes when its own back-edge (the last
-- numeric for-loop of its function) carries a root trace that loops back to
-- itself, nothing stitches (a stitch ends a trace at a call the JIT cannot
-- compile and resumes in a new one: interpreter work inside the loop), no
-- trace of the loop falls back to the interpreter, and nothing aborts --
-- with one tolerated case, counted apart as "benign": a root trace that
-- started at the entry of a function the loop calls (a hot wrapper) and
-- then reached the loop's back-edge aborts with "leaving loop in root
-- trace".  That is the tracer's own heuristic, not something it cannot
-- compile; which counter fires first, and in which phase, depends on
-- hot-counter hash collisions, i.e. on where the bytecode lies in memory.
-- The loop's own looping trace, required above, follows and inlines it.
local vmdef = require("jit.vmdef")
local LLEAVE
for code, msg in pairs(vmdef.traceerr) do
  if msg == "leaving loop in root trace" then LLEAVE = code end
end

local function opname(ins)
  local op = band(ins, 0xff)
  return (vmdef.bcnames:sub(op * 6 + 1, op * 6 + 6):gsub(" ", ""))
end

-- The trace compiled for the last numeric for-loop of fn, or nil: once a
-- loop is compiled its FORL becomes JFORL, whose D operand is the trace.
local function loop_trace(fn)
  local last
  for pc = 1, math.huge do
    local ins = jutil.funcbc(fn, pc)
    if not ins then break end
    if opname(ins):match("^[IJ]?FORL$") then last = ins end
  end
  if last and opname(last) == "JFORL" then
    local tr = bit.rshift(last, 16)
    local info = jutil.traceinfo(tr)
    if info and info.linktype == "loop" then return tr end
  end
  return nil
end

local function abort_reason(err, info)
  if type(err) == "number" and vmdef.traceerr[err] then
    if type(info) == "function" then info = tostring(info) end
    return string.format(vmdef.traceerr[err], info)
  end
  return tostring(err)
end

local function where(func, pc)
  local fi = jutil.funcinfo(func, pc)
  return fi.loc or tostring(func)
end

local watch

local function note(fmt, ...)
  watch.notes[#watch.notes + 1] = string.format(fmt, ...)
end

local function fail(fmt, ...)
  watch.failures = watch.failures + 1
  note(fmt, ...)
end

local function stitch(tr, fmt, ...)
  watch.stitched[tr] = true
  note(fmt, ...)
end

local function on_abort(tr, func, pc, err, info)
  local loc, why = where(func, pc), abort_reason(err, info)
  if err == LLEAVE then
    watch.benign = watch.benign + 1
    note("trace %d (benign) aborted at %s: %s", tr, loc, why)
  else
    fail("trace %d aborted at %s: %s", tr, loc, why)
  end
end

local function on_stop(tr, func, pc)
  local linktype = jutil.traceinfo(tr).linktype
  if linktype == "stitch" then
    stitch(tr, "trace %d ends in a stitch at %s", tr, where(func, pc))
  elseif linktype == "interpreter" and watch.start_fn[tr] == watch.fn then
    fail("trace %d falls back to the interpreter at %s", tr, where(func, pc))
  end
end

-- S6_BENCH_JITV=1 prints every trace event to stderr, like LuaJIT's -jv
-- (which cannot run at the same time: one handler per VM event).
local verbose = os.getenv("S6_BENCH_JITV")

local function on_trace(what, tr, func, pc, otr, oex)
  if verbose then
    io.stderr:write(string.format("[%s trace %s %s %s/%s %s]\n", watch.phase,
      what, tostring(tr), where(func, pc), tostring(otr), tostring(oex),
      what == "stop" and jutil.traceinfo(tr).linktype or ""))
  end
  if what == "start" then
    watch.start_fn[tr] = func
    if oex == -1 then
      stitch(tr, "trace %d stitched from trace %d at %s", tr, otr,
             where(func, pc))
    end
  elseif what == "stop" then
    on_stop(tr, func, pc)
  elseif what == "abort" then
    on_abort(tr, func, pc, otr, oex)
  end
end

-- watch_start(name) before the warm-up run, watch_timed() before the timed
-- run, watch_stop() after it.
function B.watch_start(name)
  watch = { fn = assert(B.loops[name], name), phase = "warm-up",
            failures = 0, benign = 0, stitched = {}, start_fn = {},
            notes = {} }
  jit.attach(on_trace, "trace")
end

function B.watch_timed()
  watch.phase = "timed"
end

-- Returns: the measured loop's trace number (0: not compiled), failures
-- (aborts and fallbacks), benign warm-up aborts, stitched traces, notes.
function B.watch_stop()
  jit.attach(on_trace)
  local stitches = 0
  for _ in pairs(watch.stitched) do stitches = stitches + 1 end
  local tr = loop_trace(watch.fn)
  if not tr then note("the measured loop has no looping trace") end
  return tr or 0, watch.failures, watch.benign, stitches,
         table.concat(watch.notes, "\n")
end

B.version = jit.version

return B
