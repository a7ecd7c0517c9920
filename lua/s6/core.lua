-- s6.core — the trusted binding of libs6core through LuaJIT's FFI.
--
-- This module (and the rest of lua/) is the only code that touches `ffi`;
-- rule scripts get the plain-Lua functions below, which take and return
-- numbers, booleans, strings and tables, never cdata.
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

local function errmsg(code)
  return ffi.string(C.s6_strerror(code))
end
M.strerror = errmsg

-- Scalar primitives: numbers in, a number out (NaN for invalid input).
M.upnl = function(side, qty, entry, mark)
  return C.s6_upnl(side, qty, entry, mark)
end
M.roe = function(side, qty, entry, mark, margin)
  return C.s6_roe(side, qty, entry, mark, margin)
end
M.price_for_roe = function(side, qty, entry, margin, roe)
  return C.s6_price_for_roe(side, qty, entry, margin, roe)
end
M.price_for_roe_net = function(side, qty, entry, margin, fees_paid, fee_rate, roe)
  return C.s6_price_for_roe_net(side, qty, entry, margin, fees_paid, fee_rate, roe)
end
M.margin_ratio = function(side, qty, entry, mark, wallet, mmr, cum)
  return C.s6_margin_ratio(side, qty, entry, mark, wallet, mmr, cum)
end
M.liq_price = function(side, qty, entry, wallet, mmr, cum)
  return C.s6_liq_price_isolated(side, qty, entry, wallet, mmr, cum)
end
M.liq_distance = function(side, mark, liq)
  return C.s6_liq_distance(side, mark, liq)
end
M.atr_stop = function(side, entry, atr, k)
  return C.s6_atr_stop(side, entry, atr, k)
end
M.atr_trail = function(side, prev_stop, extreme, atr, k)
  return C.s6_atr_trail(side, prev_stop, extreme, atr, k)
end
M.addon_qty = function(q0, gamma, j)
  return C.s6_addon_qty(q0, gamma, j)
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
  return C.s6_round_to_step(value, step, dir or 0)
end
M.round_stop = function(side, price, tick)
  return C.s6_round_stop(side, price, tick)
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
M.liq_price_brackets = function(side, qty, entry, wallet, brackets)
  local n = #brackets
  local b = ffi.new("s6_mm_bracket[?]", n > 0 and n or 1)
  for i = 1, n do
    local src, dst = brackets[i], b[i - 1]
    dst.notional_floor = src.notional_floor
    dst.notional_cap = src.notional_cap
    dst.mmr = src.mmr
    dst.cum = src.cum
  end
  return C.s6_liq_price_brackets(side, qty, entry, wallet, b, n)
end

-- Batch ATR over three Lua arrays; returns an array of the same length
-- (NaN for the warm-up bars) or nil and a message.
M.atr = function(high, low, close, period)
  local n = #close
  if #high ~= n or #low ~= n then return nil, errmsg(C.S6_EINVAL) end
  local h = ffi.new("double[?]", n + 1)
  local l = ffi.new("double[?]", n + 1)
  local c = ffi.new("double[?]", n + 1)
  local out = ffi.new("double[?]", n + 1)
  for i = 1, n do
    h[i - 1], l[i - 1], c[i - 1] = high[i], low[i], close[i]
  end
  local rc = C.s6_atr(h, l, c, n, period, out)
  if rc < 0 then return nil, errmsg(rc) end
  local res = {}
  for i = 1, n do res[i] = out[i - 1] end
  return res
end

-- Incremental ATR: local a = core.atr_new(14); a:push(h, l, c) -> atr|nil
local Atr = {}
Atr.__index = Atr
function Atr:push(high, low, close)
  local rc = C.s6_atr_push(self.st, high, low, close, self.out)
  if rc == C.S6_OK then return self.out[0] end
  return nil, errmsg(rc) -- "not warmed up" until period+1 bars
end
M.atr_new = function(period)
  local st = ffi.new("s6_atr_state")
  local rc = C.s6_atr_init(st, period)
  if rc < 0 then return nil, errmsg(rc) end
  return setmetatable({ st = st, out = ffi.new("double[1]") }, Atr)
end

return M
