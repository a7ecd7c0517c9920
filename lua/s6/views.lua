-- s6.views — the position and market views that rules read.
--
-- Trusted host code.  One table of field names serves both ways a view is
-- made: from the host's C structs in the hot loop (lua/s6/host.lua fills a
-- reused table in place) and from a partial Lua table with defaults (rule
-- self-checks and the busted specs).  Rules always receive read-only
-- proxies, so one rule cannot change what the next one reads.

local sandbox = require("s6.sandbox")
local core = require("s6.core")

local M = {}

M.MARKETS = { [0] = "FUT", [1] = "SPOT" }
M.TRIGGER_NAMES = { [1] = "tick", [2] = "price", [4] = "fill", [8] = "signal" }

-- Numeric fields copied 1:1 from s6_pos_view, with their defaults for a
-- hand-built view (a 1 BTC long at 100 with 10 of margin, flat, no futures
-- hedge held and no target exposure: NaN, as the host copies it).
M.POS_FIELDS = {
  side = 1, qty = 1, entry = 100, margin = 10, fees_paid = 0,
  exit_fee_rate = 0, leverage = 10, opened_at = 0, last_add_at = 0,
  add_on_count = 0, stop = 0, stop_step = 0, tp_step = 0, best_price = 0,
  roe = 0, upnl = 0, liq_price = 0, liq_distance = math.huge,
  hedge_qty = 0, target_exposure = 0 / 0,
}

-- Numeric fields copied 1:1 from s6_mkt_view (atr 0 = unknown).
M.MKT_FIELDS = {
  now = 0, mark = 100, last = 100, mid = 100, atr = 0, health = 1,
  signal_side = 0, signal_strength = 0,
}

-- A fresh pair (proxy, backing table) of read-only views.
function M.new_pair()
  local data = {}
  return sandbox.readonly(data), data
end

local function fill(data, fields, partial)
  for k, default in pairs(fields) do
    local v = partial[k]
    if v == nil then v = default end
    data[k] = v
  end
end

-- Derived figures the host computes for every evaluation; a hand-built
-- view gets them from the same primitives unless the caller set them.
local function derive(data, partial)
  local mark = partial.mark or data.entry
  if partial.roe == nil then
    data.roe = core.roe(data.side, data.qty, data.entry, mark, data.margin)
  end
  if partial.upnl == nil then
    data.upnl = core.upnl(data.side, data.qty, data.entry, mark)
  end
  if partial.best_price == nil then
    local better = data.side == 1 and math.max or math.min
    data.best_price = better(data.entry, mark)
  end
end

-- position{ side=-1, qty=2, entry=100, mark=95, ... }: a read-only view as
-- a rule sees it.  `mark` (not a view field) is used to derive roe/upnl.
function M.position(partial)
  partial = partial or {}
  local view, data = M.new_pair()
  fill(data, M.POS_FIELDS, partial)
  derive(data, partial)
  data.id = partial.id or "pos-test"
  data.symbol = partial.symbol or "BTCUSDT"
  data.market = partial.market or "FUT"
  local entries = partial.entry_quantities or { data.qty }
  local eq = {}
  for i = 1, #entries do eq[i] = entries[i] end
  data.n_entries = #entries
  data.entry_quantities = sandbox.readonly(eq)
  return view, data
end

function M.market(partial)
  partial = partial or {}
  local view, data = M.new_pair()
  fill(data, M.MKT_FIELDS, partial)
  data.regime = partial.regime or "normal"
  data.trigger = partial.trigger or "tick"
  return view, data
end

return M
