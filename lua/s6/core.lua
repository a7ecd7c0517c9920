-- s6.core — the trusted binding of libs6core through LuaJIT's FFI.
--
-- This module (and the rest of lua/) is the only code that touches `ffi`;
-- rule scripts get the plain-Lua functions below, which take and return
-- numbers, booleans, strings and tables, never cdata.  Invalid numbers
-- (NaN, infinities, out of range, a fractional side or period) give NaN or
-- nil and a message, as each wrapper says; an argument of the wrong Lua
-- type (nil, a string) raises a Lua error or is refused the same way.
--
-- The declarations come from lua/s6/cdef.lua, generated from
-- src/core/s6_core.h.  Inside the s6-position binary the primitives are
-- linked in and reached through ffi.C; elsewhere (busted, benchmarks) the
-- shared library is loaded from $S6_CORE_LIB, else build/libs6core.so.

local ffi = require("ffi")

-- busted reloads modules for every spec file, but ffi declarations live as
-- long as the Lua state: declare once.
if not pcall(ffi.typeof, "s6_atr_state") then
  ffi.cdef(require("s6.cdef"))
end

local function load_core()
  if pcall(function() return ffi.C.s6_upnl end) then
    return ffi.C
  end
  return ffi.load(os.getenv("S6_CORE_LIB") or "build/libs6core.so")
end

local C = load_core()
local M = { lib = C }
local NAN = 0 / 0
local floor = math.floor

-- The FFI truncates a Lua number passed as a C int (side 1.5 would become
-- 1, a long).  An int argument that is not an exact int32 is replaced by
-- `bad`, a value the primitive rejects, so it reports invalid input.
local function int_arg(x, bad)
  if x == floor(x) and x >= -2147483648 and x <= 2147483647 then return x end
  return bad
end
local BAD_SIDE, BAD_PERIOD, BAD_J, BAD_DIR = 0, 0, -1, 2

local function errmsg(code)
  return ffi.string(C.s6_strerror(int_arg(code, 1)))
end
M.strerror = errmsg

-- Scalar primitives: numbers in, a number out (NaN for invalid input).
M.upnl = function(side, qty, entry, mark)
  return C.s6_upnl(int_arg(side, BAD_SIDE), qty, entry, mark)
end
M.roe = function(side, qty, entry, mark, margin)
  return C.s6_roe(int_arg(side, BAD_SIDE), qty, entry, mark, margin)
end
M.price_for_roe = function(side, qty, entry, margin, roe)
  return C.s6_price_for_roe(int_arg(side, BAD_SIDE), qty, entry, margin, roe)
end
M.price_for_roe_net = function(side, qty, entry, margin, fees_paid, fee_rate, roe)
  return C.s6_price_for_roe_net(int_arg(side, BAD_SIDE), qty, entry, margin,
                                fees_paid, fee_rate, roe)
end
M.margin_ratio = function(side, qty, entry, mark, wallet, mmr, cum)
  return C.s6_margin_ratio(int_arg(side, BAD_SIDE), qty, entry, mark, wallet,
                           mmr, cum)
end
M.liq_price = function(side, qty, entry, wallet, mmr, cum)
  return C.s6_liq_price_isolated(int_arg(side, BAD_SIDE), qty, entry, wallet,
                                 mmr, cum)
end
M.liq_distance = function(side, mark, liq)
  return C.s6_liq_distance(int_arg(side, BAD_SIDE), mark, liq)
end
M.atr_stop = function(side, entry, atr, k)
  return C.s6_atr_stop(int_arg(side, BAD_SIDE), entry, atr, k)
end
M.atr_trail = function(side, prev_stop, extreme, atr, k)
  return C.s6_atr_trail(int_arg(side, BAD_SIDE), prev_stop, extreme, atr, k)
end
M.addon_qty = function(q0, gamma, j)
  return C.s6_addon_qty(q0, gamma, int_arg(j, BAD_J))
end
M.avg_entry_after_add = function(qty, entry, add_qty, add_price)
  return C.s6_avg_entry_after_add(qty, entry, add_qty, add_price)
end
M.wac_after_buy = function(qty, wac, buy_qty, buy_price)
  return C.s6_wac_after_buy(qty, wac, buy_qty, buy_price)
end
M.spot_realized = function(sell_price, wac, sell_qty)
  return C.s6_spot_realized(sell_price, wac, sell_qty)
end
M.spot_unrealized = function(mark, wac, qty)
  return C.s6_spot_unrealized(mark, wac, qty)
end
M.hedge_fut_qty = function(spot_qty, fut_qty, price, target)
  return C.s6_hedge_fut_qty(spot_qty, fut_qty, price, target)
end
M.treasury_need = function(min_free_fut, free_fut)
  return C.s6_treasury_need(min_free_fut, free_fut)
end
M.round_to_step = function(value, step, dir)
  return C.s6_round_to_step(value, step, int_arg(dir or 0, BAD_DIR))
end
M.round_stop = function(side, price, tick)
  return C.s6_round_stop(int_arg(side, BAD_SIDE), price, tick)
end
M.round_qty = function(qty, step)
  return C.s6_round_qty(qty, step)
end

-- Predicates: true/false, or nil and a message for invalid input.
local function predicate(rc)
  if rc < 0 then return nil, errmsg(rc) end
  return rc == 1
end
M.treasury_feasible = function(free_spot, need, buffer)
  return predicate(C.s6_treasury_feasible(free_spot, need, buffer))
end
M.is_stagnant = function(duration_s, t_s, roe, roe_min)
  return predicate(C.s6_is_stagnant(duration_s, t_s, roe, roe_min))
end

M.step_decimals = function(step)
  local d = C.s6_step_decimals(step)
  if d < 0 then return nil, errmsg(d) end
  return d
end

local fmt_buf = ffi.new("char[64]")
M.format_decimal = function(value, step)
  local n = C.s6_format_decimal(value, step, fmt_buf, 64)
  if n < 0 then return nil, errmsg(n) end
  return ffi.string(fmt_buf, n)
end

-- Brackets: an array of {notional_floor=, notional_cap=, mmr=, cum=}.
-- A malformed table (not an array of tables of four numbers) is invalid
-- input like any other: NaN, not a Lua error.
local BRACKET_FIELDS = { "notional_floor", "notional_cap", "mmr", "cum" }
M.liq_price_brackets = function(side, qty, entry, wallet, brackets)
  if type(brackets) ~= "table" then return NAN end
  local n = #brackets
  local b = ffi.new("s6_mm_bracket[?]", n > 0 and n or 1)
  for i = 1, n do
    local src, dst = brackets[i], b[i - 1]
    if type(src) ~= "table" then return NAN end
    for _, f in ipairs(BRACKET_FIELDS) do
      if type(src[f]) ~= "number" then return NAN end
      dst[f] = src[f]
    end
  end
  return C.s6_liq_price_brackets(int_arg(side, BAD_SIDE), qty, entry, wallet,
                                 b, n)
end

-- An array of exactly n numbers?
local function numbers(t, n)
  if type(t) ~= "table" or #t ~= n then return false end
  for i = 1, n do
    if type(t[i]) ~= "number" then return false end
  end
  return true
end

-- Batch ATR over three Lua arrays of numbers; returns an array of the same
-- length (NaN for the warm-up bars) or nil and a message.
M.atr = function(high, low, close, period)
  local n = type(close) == "table" and #close or -1
  if not (numbers(high, n) and numbers(low, n) and numbers(close, n)) then
    return nil, errmsg(C.S6_EINVAL)
  end
  local h = ffi.new("double[?]", n + 1)
  local l = ffi.new("double[?]", n + 1)
  local c = ffi.new("double[?]", n + 1)
  local out = ffi.new("double[?]", n + 1)
  for i = 1, n do
    h[i - 1], l[i - 1], c[i - 1] = high[i], low[i], close[i]
  end
  local rc = C.s6_atr(h, l, c, n, int_arg(period, BAD_PERIOD), out)
  if rc < 0 then return nil, errmsg(rc) end
  local res = {}
  for i = 1, n do res[i] = out[i - 1] end
  return res
end

-- Incremental ATR: local a = core.atr_new(14); a:push(h, l, c) -> atr|nil
-- The state and the output cell stay in the closure: whoever holds the
-- object can feed bars but never reach cdata (an unchecked index into the
-- output cell would be a raw memory write).
M.atr_new = function(period)
  local st = ffi.new("s6_atr_state")
  local rc = C.s6_atr_init(st, int_arg(period, BAD_PERIOD))
  if rc < 0 then return nil, errmsg(rc) end
  local out = ffi.new("double[1]")
  local function push(_, high, low, close)
    local prc = C.s6_atr_push(st, high, low, close, out)
    if prc == C.S6_OK then return out[0] end
    return nil, errmsg(prc) -- "not warmed up" until period+1 bars
  end
  return { push = push }
end

return M
