-- s6.host — the trusted loop that runs rule scripts over a batch of positions.
--
-- The C host (src/rules/ruleset.c) makes one Lua state per rule-set version,
-- adds each rule with add_rule(), and then calls evaluate_batch() once per
-- batch: one C->Lua transition for thousands of evaluations.  The loop copies
-- each position's C view into reused read-only tables, calls every rule that
-- answers the trigger, and hands proposals and state changes back to C
-- through FFI calls into the sink.  An error or a deadline unwinds the whole
-- call; C records which (position, rule) was running from `prog` and calls
-- again from the next one, so no pcall sits in the hot loop.

local ffi = require("ffi")
local cjson = require("cjson.safe")
local core = require("s6.core")
local sandbox = require("s6.sandbox")
local views = require("s6.views")
local testkit = require("s6.testkit")

local C = core.lib
local M = {}

-- S6_JIT_LOG=PREFIX writes LuaJIT's trace log of each rule-set state to
-- PREFIX.<id>: how to see whether the hot loop compiles (docs/performance.md).
if os.getenv("S6_JIT_LOG") then
  require("jit.v").start(os.getenv("S6_JIT_LOG") .. "." .. tostring({}):match("0x%x+"))
end

local rules = {}          -- i -> { name, mod, mask, params = {regime -> table}, id }
local regimes = { [0] = "normal" }
local state_cache = {}    -- rule i -> slot -> { gen, table }

local TRIGGER_BITS = { tick = 1, price = 2, fill = 4, signal = 8 }
local KIND = { stop = 1, reduce = 2, close = 3, add = 4, event = 5 }

-- Regime names, index 0 first, as the host's config lists them.
function M.set_regimes(names)
  regimes = {}
  for i, name in ipairs(names) do regimes[i - 1] = name end
end

-- Parameters of rule r for every regime: defaults < config base < regime.
local function params_by_regime(mod, overrides)
  local base = testkit.merge(mod.params, overrides and overrides.base)
  local by = {}
  for i, name in pairs(regimes) do
    local over = overrides and overrides.regimes and overrides.regimes[name]
    by[i] = over and testkit.merge(base, over) or base
  end
  return by
end

-- Compiles one rule in its own sandbox; returns its index or raises with
-- chunkname:line.  overrides_json is the config's {"base":{},"regimes":{}}.
function M.add_rule(id, name, chunkname, source, overrides_json)
  local mod, env = sandbox.load(source, chunkname)
  if not mod then error(env or (chunkname .. ": rule returned nothing"), 0) end
  local ok, err = sandbox.check_contract(mod, chunkname, name)
  if not ok then error(err, 0) end
  local overrides
  if overrides_json and overrides_json ~= "" then
    overrides, err = cjson.decode(overrides_json)
    if not overrides then error(chunkname .. ": bad parameter overrides: " .. err, 0) end
  end
  local mask = 0
  for _, t in ipairs(mod.triggers) do mask = bit.bor(mask, TRIGGER_BITS[t]) end
  rules[#rules + 1] = {
    id = id, name = name, mod = mod, mask = mask, env = env,
    params = params_by_regime(mod, overrides),
  }
  state_cache[#rules] = {}
  return #rules
end

function M.rule_count() return #rules end

-- Before a version goes live: every rule on canned positions (both sides,
-- in profit and in loss, every trigger) through the test kit's evaluation,
-- which refuses a malformed return, a proposal the host would refuse and
-- state changed in place; then the rule's own self-checks.
local CANNED = {
  { side = 1, entry = 100, mark = 125, qty = 1, margin = 10 },
  { side = -1, entry = 100, mark = 75, qty = 1, margin = 10 },
  { side = 1, entry = 100, mark = 95, qty = 1, margin = 10 },
  { side = -1, entry = 100, mark = 105, qty = 1, margin = 10 },
}

local function probe(r)
  for _, c in ipairs(CANNED) do
    for trigger in pairs(TRIGGER_BITS) do
      testkit.eval(r.mod, views.position(c),
                   views.market { mark = c.mark, last = c.mark, mid = c.mark,
                                  atr = 2, now = 86400, trigger = trigger },
                   r.params[0], {})
    end
  end
end

function M.self_check()
  for _, r in ipairs(rules) do
    probe(r)
    testkit.run_checks(r.mod)
  end
  return true
end

-- ---- the hot loop ------------------------------------------------------

local pos_view, pos_data = views.new_pair()
local mkt_view, mkt_data = views.new_pair()
local entries = {}
pos_data.entry_quantities = sandbox.readonly(entries)

local POS_KEYS, MKT_KEYS = {}, {}
for k in pairs(views.POS_FIELDS) do POS_KEYS[#POS_KEYS + 1] = k end
for k in pairs(views.MKT_FIELDS) do MKT_KEYS[#MKT_KEYS + 1] = k end

local ids = {}     -- slot -> id string, set by the host when a slot is taken
local symbols = {} -- slot -> symbol
function M.set_slot(slot, id, symbol)
  ids[slot], symbols[slot] = id, symbol
  for r = 1, #rules do state_cache[r][slot] = nil end
end

local function fill_views(p, m)
  for i = 1, #POS_KEYS do
    local k = POS_KEYS[i]
    pos_data[k] = p[k]
  end
  local n = p.n_entries
  for i = 1, n do entries[i] = p.entry_qty[i - 1] end
  for i = n + 1, #entries do entries[i] = nil end
  pos_data.n_entries = n
  pos_data.id = ids[p.slot]
  pos_data.symbol = symbols[p.slot]
  pos_data.market = views.MARKETS[p.market]
  for i = 1, #MKT_KEYS do
    local k = MKT_KEYS[i]
    mkt_data[k] = m[k]
  end
  if mkt_data.atr ~= mkt_data.atr then mkt_data.atr = 0 end
  mkt_data.regime = regimes[p.regime] or "normal"
  mkt_data.trigger = views.TRIGGER_NAMES[m.trigger]
end

local function state_for(store, r, slot)
  local cache = state_cache[r]
  local c = cache[slot]
  local gen = C.s6_state_gen(store, slot, rules[r].id)
  if c and c[1] == gen then return c[2] end
  local len = ffi.new("size_t[1]")
  local js = C.s6_state_get(store, slot, rules[r].id, len)
  local st = js ~= nil and cjson.decode(ffi.string(js, len[0])) or {}
  if type(st) ~= "table" then st = {} end
  -- read-only: a rule changes its state by returning a new one, so what
  -- runs is always what is stored
  local view = sandbox.readonly(st)
  cache[slot] = { gen, view, st }
  return view
end

local function put_state(store, r, slot, st)
  local c = state_cache[r][slot]
  if c and st == c[2] then return end -- the same state handed back
  local js = type(st) == "table" and cjson.encode(st)
  if not js then error(rules[r].name .. ": new state must be a plain-data table", 0) end
  local gen = C.s6_state_set(store, slot, rules[r].id, js, #js)
  state_cache[r][slot] = { gen, sandbox.readonly(st), st }
end

local function num(x)
  return type(x) == "number" and x or 0 / 0
end

local function emit(sink, i, r, actions)
  for k = 1, #actions do
    local a = actions[k]
    local kind = type(a) == "table" and KIND[a.type] or 0
    local name = kind == 5 and tostring(a.name) or nil
    local reason = kind ~= 0 and a.reason ~= nil and tostring(a.reason) or nil
    if kind == 0 then reason = "malformed action (not made by an act constructor)" end
    C.s6_sink_action(sink, i, rules[r].id, kind,
                     kind ~= 0 and num(a.price) or 0 / 0,
                     kind ~= 0 and num(a.qty) or 0 / 0,
                     kind ~= 0 and num(a.fraction) or 0 / 0, name, reason)
  end
end

-- pos, mkt: s6_pos_view/s6_mkt_view arrays of n; prog: s6_eval_progress;
-- all three arrive as light userdata from C.
-- holding where to start and, while running, where the loop is.
local POS_PTR = ffi.typeof("const s6_pos_view *")
local MKT_PTR = ffi.typeof("const s6_mkt_view *")
local PROG_PTR = ffi.typeof("s6_eval_progress *")
local SINK_PTR = ffi.typeof("s6_sink *")
local STORE_PTR = ffi.typeof("s6_state_store *")

function M.evaluate_batch(pos, mkt, n, sink, store, prog)
  -- light userdata in, typed pointers for the loop: the JIT cannot pass
  -- light userdata to a C function
  pos, mkt, prog = ffi.cast(POS_PTR, pos), ffi.cast(MKT_PTR, mkt), ffi.cast(PROG_PTR, prog)
  sink, store = ffi.cast(SINK_PTR, sink), ffi.cast(STORE_PTR, store)
  local nrules = #rules
  local start_i, start_r = prog.pos, prog.rule
  for i = start_i, n - 1 do
    local p, m = pos[i], mkt[i]
    fill_views(p, m)
    local mask = m.trigger
    for r = (i == start_i and start_r or 1), nrules do
      local rule = rules[r]
      if bit.band(rule.mask, mask) ~= 0 and prog.skip[r - 1] == 0 then
        prog.pos, prog.rule = i, r
        local actions, st = rule.mod.evaluate(pos_view, mkt_view,
                                              rule.params[p.regime] or rule.params[0],
                                              state_for(store, r, p.slot))
        if actions then emit(sink, i, r, actions) end
        if st ~= nil then put_state(store, r, p.slot, st) end
      end
    end
  end
  prog.pos, prog.rule = n, 1
  return n
end

return M
