-- s6.checks — what the host checks of a rule before a version goes live:
-- an evaluation on canned views that refuses a malformed return, a
-- proposal the host would refuse and state changed in place, and the
-- rule's own self-checks.
--
-- Trusted host code, used by lua/s6/host.lua and, through s6.testkit, by
-- the busted specs, so a check behaves the same in a spec, in
-- `s6-position rules check` and on reload.  It also holds the parameter
-- overlay the host applies to config.

local cjson = require("cjson.safe")
local views = require("s6.views")
local helpers = require("s6.helpers")

local M = {}

-- ---- plain-data helpers ---------------------------------------------------

local function deep_copy(v)
  if type(v) ~= "table" then return v end
  local c = {}
  for k, x in pairs(v) do c[k] = deep_copy(x) end
  return c
end
M.copy = deep_copy

local function deep_equal(a, b)
  if a == b or (a ~= a and b ~= b) then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  for k, v in pairs(a) do
    if not deep_equal(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

-- The same overlay the host applies to config (lua/s6/host.lua): a map
-- merges key by key, anything else — a list such as a ladder — replaces
-- the default whole, so an override never blends two ladders.
local function merge(base, over)
  local out = deep_copy(base) or {}
  for k, v in pairs(over or {}) do
    if type(v) == "table" and type(out[k]) == "table" and #v == 0 then
      out[k] = merge(out[k], v)
    else
      out[k] = deep_copy(v)
    end
  end
  return out
end

M.merge = merge

-- ---- views -----------------------------------------------------------------

-- position{ side=-1, entry=100, qty=2, margin=20, mark=90 }: the read-only
-- view a rule receives.  Unset fields take the defaults of s6.views (a 1 BTC
-- long at 100 with 10 of margin); roe, upnl and best_price are derived from
-- `mark` unless given.
function M.position(partial)
  return views.position(partial)
end

-- market{ mark=90, atr=1.5, now=3600 }: last and mid default to the mark.
function M.market(partial)
  partial = partial or {}
  if partial.mark ~= nil and (partial.last == nil or partial.mid == nil) then
    partial = deep_copy(partial)
    partial.last = partial.last or partial.mark
    partial.mid = partial.mid or partial.mark
  end
  return views.market(partial)
end

-- Both views from plain tables with one mark: the market's mark, else the
-- position's, else its entry.  default_trigger fills mkt.trigger if unset.
function M.scene(pos, mkt, default_trigger)
  pos, mkt = deep_copy(pos or {}), deep_copy(mkt or {})
  local mark = mkt.mark or pos.mark or pos.entry or views.MKT_FIELDS.mark
  pos.mark, mkt.mark = mark, mark
  mkt.trigger = mkt.trigger or default_trigger
  return M.position(pos), M.market(mkt)
end

-- A view is a read-only proxy whose metatable is hidden (getmetatable gives
-- false); anything else handed to eval is a plain description of one.
local function is_view(t)
  return type(t) == "table" and getmetatable(t) == false
end

-- ---- evaluation ------------------------------------------------------------

local KNOWN = { stop = true, reduce = true, close = true, add = true, event = true,
                hedge = true }

local function answers(rule, trigger)
  for _, t in ipairs(rule.triggers) do
    if t == trigger then return true end
  end
  return false
end

-- Calls the rule once on views; returns actions (a list) and the state,
-- or nil and what the host would call a rule error.
local function evaluate(rule, pos, mkt, params, state)
  state = state or {}
  if not answers(rule, mkt.trigger) then return {}, state end
  local p = merge(rule.params, params)
  local p_before, given = deep_copy(p), deep_copy(state)
  local actions, new_state = rule.evaluate(pos, mkt, p, given)
  local who = tostring(rule.name) .. ": "
  if actions ~= nil and type(actions) ~= "table" then
    return nil, who .. "evaluate must return a list of actions or nil"
  end
  actions = actions or {}
  for i, a in ipairs(actions) do
    if type(a) ~= "table" or not KNOWN[a.type] then
      return nil, who .. "action " .. i .. " is not made by an act constructor"
    end
  end
  local bad = M.invalid(actions, pos, mkt)
  if #bad > 0 then return nil, who .. "invalid proposal: " .. table.concat(bad, "; ") end
  if not deep_equal(p, p_before) then
    return nil, who .. "evaluate changed its params (every position shares them)"
  end
  if new_state == nil then
    if not deep_equal(given, state) then
      return nil, who .. "evaluate changed its state in place; return the new state instead"
    end
    return actions, state
  end
  if type(new_state) ~= "table" or not cjson.encode(new_state) then
    return nil, who .. "new state must be a plain-data table"
  end
  return actions, new_state
end

-- eval(rule, pos, mkt, params, state) -> actions (always a list), state.
--   pos, mkt  views, or plain tables turned into views by scene() (then an
--             unset trigger is the rule's first one);
--   params    overrides on the rule's defaults (nil: the defaults);
--   state     the rule's state for this position (nil: a fresh one, {}).
-- Like the host, a rule is not called for a trigger it does not answer.
-- The rule gets a copy of the state; the state returned is the one it
-- handed back, or the old one when it returned none.  Raises on what the
-- host treats as a rule error: a malformed return, params or state changed
-- in place, a state that cannot be stored — and on a proposal the host
-- would refuse (see invalid()): in a spec that is always a bug.
function M.eval(rule, pos, mkt, params, state)
  if is_view(pos) ~= is_view(mkt) then
    error("eval: pass pos and mkt both as views or both as plain tables", 2)
  end
  if not is_view(pos) then
    pos, mkt = M.scene(pos, mkt, rule.triggers[1])
  end
  local actions, state_or_err = evaluate(rule, pos, mkt, params, state)
  if not actions then error(state_or_err, 2) end
  return actions, state_or_err
end

local positive, finite = helpers.positive, helpers.finite

local function finite_nonzero(x)
  return finite(x) and x ~= 0
end

-- Why a proposal would be refused by the host's invariants that a rule can
-- know about (rounding and exchange filters aside); nil when it is fine.
local CHECK = {
  stop = function(a, pos, mkt)
    if not positive(a.price) then return "price is not a finite positive number" end
    local s = pos.side
    if not (s * (mkt.mark - a.price) > 0) then
      return "not on the protective side of the mark " .. tostring(mkt.mark)
    end
    if pos.stop ~= 0 and not (s * (a.price - pos.stop) > 0) then
      return "does not tighten the current stop " .. tostring(pos.stop)
    end
  end,
  reduce = function(a, pos)
    if a.fraction ~= nil then
      if not (positive(a.fraction) and a.fraction <= 1) then return "fraction not in (0, 1]" end
    elseif not (positive(a.qty) and a.qty <= pos.qty) then
      return "qty not in (0, remaining quantity]"
    end
  end,
  close = function() end,
  add = function(a)
    if not positive(a.qty) then return "qty is not a finite positive number" end
  end,
  event = function(a)
    if type(a.name) ~= "string" or a.name == "" then return "event without a name" end
  end,
  hedge = function(a, pos)
    if not finite_nonzero(a.qty) then return "qty is not a finite number other than 0" end
    if pos.market ~= "SPOT" or not finite(pos.target_exposure) then
      return "a hedge is for a SPOT position with a target exposure"
    end
  end,
}

-- invalid(actions, pos, mkt) -> a list of reasons, empty when every
-- proposal is valid.  assert.same({}, kit.invalid(...)) in a spec.
-- pos and mkt are views, or the plain tables given to eval.
function M.invalid(actions, pos, mkt)
  if not is_view(pos) then pos, mkt = M.scene(pos, mkt) end
  local out = {}
  for i, a in ipairs(actions) do
    local check = type(a) == "table" and CHECK[a.type]
    local why = check and check(a, pos, mkt) or (not check and "unknown action")
    if why then
      out[#out + 1] = string.format("action %d (%s): %s", i, tostring(a.type), why)
    end
  end
  return out
end

-- ---- self-checks -------------------------------------------------------------

local KIT_SOURCE = debug.getinfo(1, "S").source

-- Puts "file:line:" in front of a message that has none (assert() in a
-- check raises without one): the nearest Lua frame below the kit's own,
-- i.e. inside the check.
local function located(msg)
  msg = tostring(msg)
  if msg:match("^[^\n]-:%d+: ") then return msg end
  for level = 2, 20 do
    local info = debug.getinfo(level, "Sl")
    if not info or info.source == KIT_SOURCE then break end
    if info.what ~= "C" and info.currentline > 0 then
      return info.short_src .. ":" .. info.currentline .. ": " .. msg
    end
  end
  return msg
end

-- ---- realistic clocks ---------------------------------------------------------

-- Days since 1970-01-01 of a UTC civil date (proleptic Gregorian).
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local doy = math.floor((153 * ((m + 9) % 12) + 2) / 5) + d - 1
  return era * 146097 + yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100)
         + doy - 719468
end

local DAY = 86400

-- The host clocks a rule is also tried at before it goes live: the wall
-- clock now and around it, the month and year boundaries next to it, and
-- fixed dates that break naive date code (a year's last second, a leap day,
-- the 32-bit limit).  A rule whose arithmetic on mkt.now or pos.opened_at
-- only fails on a real date (the canned views use small times) is refused
-- instead of failing on live positions.
function M.realistic_times(now)
  now = math.floor(now or os.time())
  local d = os.date("!*t", now)
  local month = days_from_civil(d.year, d.month, 1) * DAY
  local next_month = days_from_civil(d.month == 12 and d.year + 1 or d.year,
                                     d.month % 12 + 1, 1) * DAY
  local next_year = days_from_civil(d.year + 1, 1, 1) * DAY
  return {
    now, now - DAY, now + DAY, now + 30 * DAY, now + 365 * DAY,
    month, next_month - 1, next_month, next_year - 1, next_year,
    1704067199, -- 2023-12-31 23:59:59 UTC
    1709164800, -- 2024-02-29 00:00:00 UTC
    2147483647, -- 2038-01-19 03:14:07 UTC, the signed 32-bit limit
  }
end

-- The self-checks' share of those: every third (now, a month on, the end
-- of this month, the new year, the 32-bit limit); each check runs at each.
function M.check_times(times)
  local out = {}
  for i = 1, #times, 3 do out[#out + 1] = times[i] end
  return out
end

function M.time_label(t)
  return ("now = %d, %s"):format(t, os.date("!%Y-%m-%d %H:%M:%S UTC", t))
end

-- The check's views moved to host time t: the clock and every time of the
-- position that is set, so durations stay what the check meant.
local function at_time(c, t)
  local pos, mkt = deep_copy(c.pos or {}), deep_copy(c.mkt or {})
  local delta = t - (mkt.now or 0)
  mkt.now = t
  for _, k in ipairs({ "opened_at", "last_add_at" }) do
    if pos[k] ~= nil and pos[k] ~= 0 then pos[k] = pos[k] + delta end
  end
  return pos, mkt
end

local function run_check(rule, c)
  local pos, mkt = M.scene(c.pos, c.mkt, rule.triggers[1])
  local actions, state_or_err = evaluate(rule, pos, mkt, c.params, c.state)
  if not actions then error(state_or_err, 0) end
  c.expect(actions, state_or_err)
end

-- The same check at host time t: its expectations were written for its
-- own clock, so only what the host refuses counts (an error, a malformed
-- return, an invalid proposal).
local function run_check_at(rule, c, t)
  local p, m = at_time(c, t)
  local pos, mkt = M.scene(p, m, rule.triggers[1])
  local actions, err = evaluate(rule, pos, mkt, c.params, c.state)
  if not actions then error(err, 0) end
end

-- Runs rule.checks, a list of
--   { name=, pos={...}, mkt={...}, params={...}?, state={...}?,
--     expect=function(actions, state) ... end }
-- where expect raises (assert) when the rule is wrong.  Every proposal of
-- a check must also be valid, as in eval().  Each check then runs again at
-- realistic host times (times, default M.check_times(M.realistic_times())), where
-- only an error or an invalid proposal fails it.  Returns the number of
-- checks run; raises "<rule>: self-check '<name>': file:line: message"
-- (with the time, when only a realistic one failed) at the first failure.
function M.run_checks(rule, times)
  local checks = rule.checks or {}
  times = times or M.check_times(M.realistic_times())
  for i, c in ipairs(checks) do
    local label = type(c) == "table" and c.name or ("#" .. i)
    local ok, err
    if type(c) ~= "table" or type(c.expect) ~= "function" then
      ok, err = false, "a check needs an expect function"
    else
      ok, err = xpcall(run_check, located, rule, c)
      for _, t in ipairs(times) do
        if not ok then break end
        ok, err = xpcall(run_check_at, located, rule, c, t)
        if not ok then err = tostring(err) .. " (at " .. M.time_label(t) .. ")" end
      end
    end
    if not ok then
      error(string.format("%s: self-check '%s': %s", tostring(rule.name),
                          tostring(label), tostring(err)), 0)
    end
  end
  return #checks
end

return M
