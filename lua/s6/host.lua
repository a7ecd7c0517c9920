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
local checks = require("s6.checks")
local schema = require("s6.schema")

local C = core.lib
local M = {}

-- S6_JIT_LOG=PREFIX writes LuaJIT's trace log of each rule-set state to
-- PREFIX.<id>: how to see whether the hot loop compiles (docs/performance.md).
if os.getenv("S6_JIT_LOG") then
  require("jit.v").start(os.getenv("S6_JIT_LOG") .. "." .. tostring({}):match("0x%x+"))
end

local rules = {}          -- i -> { name, mod, mask, params = {regime -> table}, id }
local nrules, rule_ids = 0, {} -- #rules and each rules[i].id, read by the hot loop
local regimes = { [0] = "normal" }

local TRIGGER_BITS = { tick = 1, price = 2, fill = 4, signal = 8 }
local TRIGGER_NAMES = { "tick", "price", "fill", "signal" }
local KIND = { stop = 1, reduce = 2, close = 3, add = 4, event = 5, hedge = 6 }

-- Decoded rule states, flat and keyed by slot * nrules + i for rule i:
-- the generation of the store each was decoded from, and the read-only
-- view the rule gets.  Flat arrays keep the loop's memory traffic and the
-- GC's work small (one small table per slot and rule would not).
local state_gen, state_view

local function reset_state_cache()
  state_gen, state_view = {}, {}
end
reset_state_cache()

-- Per rule and evaluation (docs/rules.md, "Limits"): actions beyond the cap
-- are dropped and counted by the host; a larger state is the rule's error.
local max_actions, max_state_bytes = 16, 16384
function M.set_limits(actions, state_bytes)
  max_actions, max_state_bytes = actions, state_bytes
end

-- Regime names, index 0 first, as the host's config lists them.
function M.set_regimes(names)
  regimes = {}
  for i, name in ipairs(names) do regimes[i - 1] = name end
end

-- Parameters of rule r for every regime: defaults < config base < regime,
-- then the replay's sweep values ("set": {"steps[1].roe": 0.08}) on each.
local function params_by_regime(mod, overrides, spec)
  local base = checks.merge(mod.params, overrides and overrides.base)
  local by = {}
  for i, name in pairs(regimes) do
    local over = overrides and overrides.regimes and overrides.regimes[name]
    by[i] = over and checks.merge(base, over) or checks.merge(base, nil)
  end
  for path, value in pairs(overrides and overrides.set or {}) do
    for _, p in pairs(by) do
      local err = schema.set_path(spec, p, path, value, mod.name .. "." .. path)
      if err then error(err, 0) end
    end
  end
  return by
end

-- The config's overrides against the rule's schema, each with its path in
-- the config file: nothing is merged that the rule does not declare.
local function check_overrides(mod, spec, overrides)
  if type(overrides) ~= "table" then return end
  local at = "rules.params." .. mod.name
  local err = schema.check(spec, overrides.base, at .. ".base", mod.name)
  for _, regime in ipairs(type(overrides.regimes) == "table" and schema.sorted_keys(overrides.regimes) or {}) do
    err = err or schema.check(spec, overrides.regimes[regime], at .. ".regimes." .. regime, mod.name)
  end
  if err then error(err, 0) end
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
  local spec = schema.of_rule(mod, chunkname)
  check_overrides(mod, spec, overrides)
  local mask = 0
  for _, t in ipairs(mod.triggers) do mask = bit.bor(mask, TRIGGER_BITS[t]) end
  rules[#rules + 1] = {
    id = id, name = name, mod = mod, mask = mask, env = env,
    params = params_by_regime(mod, overrides, spec),
  }
  nrules, rule_ids[#rules] = #rules, id
  reset_state_cache() -- its keys depend on the number of rules
  return #rules
end

function M.rule_count() return #rules end

-- Before a version goes live: every rule on canned positions (both sides,
-- in profit and in loss, every trigger) through the checked evaluation,
-- which refuses a malformed return, a proposal the host would refuse and
-- state changed in place; then the rule's own self-checks.
local CANNED = {
  { side = 1, entry = 100, mark = 125, qty = 1, margin = 10 },
  { side = -1, entry = 100, mark = 75, qty = 1, margin = 10 },
  { side = 1, entry = 100, mark = 95, qty = 1, margin = 10 },
  { side = -1, entry = 100, mark = 105, qty = 1, margin = 10 },
  { side = 1, entry = 100, mark = 110, qty = 2, margin = 200, market = "SPOT",
    hedge_qty = -0.5, target_exposure = 100 },
}

-- What the live host would cut or refuse, refused before going live.
local function within_limits(r, actions, st)
  if type(actions) == "table" and #actions > max_actions then
    error(("%s: returns %d actions, above the cap of %d"):format(
      r.name, #actions, max_actions), 0)
  end
  for _, a in ipairs(type(actions) == "table" and actions or {}) do
    if type(a) == "table" and a.type == "event" and
       C.s6_rule_event_ok(tostring(a.name)) == 0 then
      error(("%s: event name '%s' is not a rule event (reserved for the engine or malformed)"):format(
        r.name, tostring(a.name)), 0)
    end
  end
  local js = type(st) == "table" and cjson.encode(st)
  if js and #js > max_state_bytes then
    error(("%s: new state is %d bytes as JSON, above the limit of %d"):format(
      r.name, #js, max_state_bytes), 0)
  end
end

-- Canned positions at host time t, opened six hours before it, under the
-- given triggers.
local function probe_at(r, t, canned, triggers)
  for _, c in ipairs(canned) do
    local pos = checks.copy(c)
    pos.opened_at = t - 6 * 3600
    for _, trigger in ipairs(triggers) do
      local actions, st = checks.eval(r.mod, views.position(pos),
                   views.market { mark = c.mark, last = c.mark, mid = c.mark,
                                  atr = 2, now = t, trigger = trigger },
                   r.params[0], {})
      within_limits(r, actions, st)
    end
  end
end

-- Every canned position under every trigger at a small clock (as the
-- canned views always had), then each realistic clock with one canned
-- position under one of the rule's own triggers, both in turn: every
-- position and every trigger meets several dates, at a cost close to the
-- small clock's alone (every combination at every date would cost a check
-- deadline on a busy machine).  An error says at which time.
local function probe(r, times)
  probe_at(r, 86400, CANNED, TRIGGER_NAMES)
  local own = r.mod.triggers
  for i, t in ipairs(times) do
    local ok, err = pcall(probe_at, r, t, { CANNED[(i - 1) % #CANNED + 1] },
                          { own[(i - 1) % #own + 1] })
    if not ok then
      error(tostring(err) .. " (at " .. checks.time_label(t) .. ")", 0)
    end
  end
end

-- prog (light userdata, may be nil): where a worker publishes the rule it
-- is in, so a rule that kills the worker is named.
function M.self_check(prog)
  prog = prog and ffi.cast("s6_eval_progress *", prog)
  local times = checks.realistic_times()
  for i, r in ipairs(rules) do
    if prog then prog.rule = i end
    probe(r, times)
    checks.run_checks(r.mod, checks.check_times(times))
  end
  return true
end

-- ---- the hot loop ------------------------------------------------------

local pos_view, pos_data = views.new_pair()
local mkt_view, mkt_data = views.new_pair()
local entries = {}
pos_data.entry_quantities = sandbox.readonly(entries)

-- copy(d, c) sets d[k] = c[k] for every name in fields, as straight-line
-- code generated once.  A loop over the names would index the cdata with a
-- key that changes every iteration, which the JIT can only follow with a
-- side trace per field.
local function copier(fields)
  local names = {}
  for k in pairs(fields) do names[#names + 1] = k end
  table.sort(names)
  local body = {}
  for i, k in ipairs(names) do body[i] = ("d.%s = c.%s"):format(k, k) end
  local src = "return function(d, c) " .. table.concat(body, "; ") .. " end"
  return assert(load(src, "=s6.host.copy", "t", {}))()
end
local copy_pos, copy_mkt = copier(views.POS_FIELDS), copier(views.MKT_FIELDS)

local ids = {}     -- slot -> id string, set by the host when a slot is taken
local symbols = {} -- slot -> symbol
function M.set_slot(slot, id, symbol)
  ids[slot], symbols[slot] = id, symbol
  for r = 1, nrules do
    local key = slot * nrules + r
    state_gen[key], state_view[key] = nil, nil
  end
end

local function fill_views(p, m)
  copy_pos(pos_data, p)
  local n = p.n_entries
  for i = 1, n do entries[i] = p.entry_qty[i - 1] end
  for i = n + 1, #entries do entries[i] = nil end
  pos_data.n_entries = n
  pos_data.id = ids[p.slot]
  pos_data.symbol = symbols[p.slot]
  pos_data.market = views.MARKETS[p.market]
  copy_mkt(mkt_data, m)
  if mkt_data.atr ~= mkt_data.atr then mkt_data.atr = 0 end
  mkt_data.regime = regimes[p.regime] or "normal"
  mkt_data.trigger = views.TRIGGER_NAMES[m.trigger]
end

local EMPTY = sandbox.readonly({}) -- every absent or non-table state
local len_buf = ffi.new("size_t[1]")

-- The state rule r runs with for a slot: the stored one, decoded once per
-- store generation (the host may replace it: restore, slot reuse).
-- Read-only: a rule changes its state by returning a new one, so what runs
-- is always what is stored.
local function state_for(store, r, slot)
  local id = rule_ids[r]
  local gen = C.s6_state_gen(store, slot, id)
  local key = slot * nrules + r
  if state_gen[key] == gen then return state_view[key] end
  local js = C.s6_state_get(store, slot, id, len_buf)
  -- no next() to spot an empty state: compiled, it crashed the stock
  -- LuaJIT 2.1.0-beta3 here now and then (SIGSEGV in the trace)
  local st = js ~= nil and cjson.decode(ffi.string(js, len_buf[0]))
  local view = type(st) == "table" and sandbox.readonly(st) or EMPTY
  state_gen[key], state_view[key] = gen, view
  return view
end

local function put_state(store, r, slot, st)
  local key = slot * nrules + r
  if st == state_view[key] then return end -- the same state handed back
  local js = type(st) == "table" and cjson.encode(st)
  if not js then error(rules[r].name .. ": new state must be a plain-data table", 0) end
  if #js > max_state_bytes then
    error(("%s: new state is %d bytes as JSON, above the limit of %d"):format(
      rules[r].name, #js, max_state_bytes), 0)
  end
  local gen = C.s6_state_set(store, slot, rule_ids[r], js, #js)
  state_gen[key], state_view[key] = gen, sandbox.readonly(st)
end

local function num(x)
  return type(x) == "number" and x or 0 / 0
end

-- A stop's lock-in step as the C int it crosses as: a whole number >= 0,
-- anything else 0.
local function step_of(x)
  return type(x) == "number" and x >= 0 and x < 2147483648 and math.floor(x) or 0
end

local function emit(sink, i, r, actions)
  local n = #actions
  if n > max_actions then
    C.s6_sink_capped(sink, rules[r].id, n - max_actions)
    n = max_actions
  end
  for k = 1, n do
    local a = actions[k]
    local kind = type(a) == "table" and KIND[a.type] or 0
    local name = kind == 5 and tostring(a.name) or nil
    local reason = kind ~= 0 and a.reason ~= nil and tostring(a.reason) or nil
    if kind == 0 then reason = "malformed action (not made by an act constructor)" end
    C.s6_sink_action(sink, i, rules[r].id, kind,
                     kind ~= 0 and num(a.price) or 0 / 0,
                     kind ~= 0 and num(a.qty) or 0 / 0,
                     kind ~= 0 and num(a.fraction) or 0 / 0,
                     kind == 1 and step_of(a.step) or 0, name, reason)
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

-- The last light userdata seen for sink, store and prog and their typed
-- pointers: they rarely change between calls, and each cast allocates.
local last_sink, last_store, last_prog, sink_ptr, store_ptr, prog_ptr

function M.evaluate_batch(pos, mkt, n, sink, store, prog)
  -- light userdata in, typed pointers for the loop: the JIT cannot pass
  -- light userdata to a C function
  pos, mkt = ffi.cast(POS_PTR, pos), ffi.cast(MKT_PTR, mkt)
  if sink ~= last_sink then last_sink, sink_ptr = sink, ffi.cast(SINK_PTR, sink) end
  if store ~= last_store then last_store, store_ptr = store, ffi.cast(STORE_PTR, store) end
  if prog ~= last_prog then last_prog, prog_ptr = prog, ffi.cast(PROG_PTR, prog) end
  sink, store, prog = sink_ptr, store_ptr, prog_ptr
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
