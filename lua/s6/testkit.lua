-- s6.testkit — build positions and markets, evaluate a rule, read its
-- proposals: what a spec needs so that it reads like the rule's
-- documentation (docs/rules.md, "Testing a rule with busted").
--
-- Test code with no busted in it; the host never loads it.  What the host
-- also runs (views, eval, invalid, run_checks, the parameter overlay) lives
-- in s6.checks and is re-exported here.
--
--   local kit  = require("s6.testkit")
--   local rule = kit.load("rules/trailing_stop.lua")
--   local actions, state = kit.eval(rule, { side = 1, entry = 100, mark = 101 })
--   local stop = kit.find(actions, "stop")

local cjson = require("cjson.safe")
local sandbox = require("s6.sandbox")
local views = require("s6.views")
local checks = require("s6.checks")
local schema = require("s6.schema")

local M = {}

-- The host's own evaluation, views and checks (lua/s6/checks.lua): a spec
-- sees a rule exactly as the host does.
for _, name in ipairs({ "copy", "merge", "position", "market", "scene", "eval",
                        "invalid", "run_checks" }) do
  M[name] = checks[name]
end
local deep_copy, merge = checks.copy, checks.merge

-- ---- loading ---------------------------------------------------------------

-- Loads a rule from source text exactly as the host does: text only, in
-- its own sandbox, checked against the contract (its name must be the file
-- name in chunkname).  Raises "chunkname:line: message".
function M.load_string(source, chunkname)
  local mod, env_or_err = sandbox.load(source, chunkname)
  if not mod then error(env_or_err or (chunkname .. ": the rule returned nothing"), 0) end
  local name = chunkname:match("([^/\\]+)%.lua$")
  local ok, err = sandbox.check_contract(mod, chunkname, name)
  if not ok then error(err, 0) end
  schema.of_rule(mod, chunkname) -- raises if the schema is unreadable or the defaults break it
  return mod
end

-- Loads a rule file (a path from the project root, e.g. "rules/atr_stop.lua").
function M.load(path)
  local f, err = io.open(path, "rb")
  if not f then error(tostring(err), 2) end
  local source = f:read("*a")
  f:close()
  return M.load_string(source, path)
end

-- A copy of the plain table base with the fields of over set on it: one
-- base position per spec, varied case by case.
function M.with(base, over)
  local t = deep_copy(base)
  for k, v in pairs(over or {}) do t[k] = deep_copy(v) end
  return t
end

-- ---- parameters and state --------------------------------------------------

-- The rule's defaults overlaid with overrides, as the host overlays config;
-- raises "params.<path>: why" for an override the rule's schema refuses,
-- as the host refuses it in the configuration.  (kit.eval does not check:
-- a spec may hand a rule parameters the host would refuse, to show it
-- survives them.)
function M.params(rule, overrides)
  if overrides ~= nil then
    local err = schema.check(schema.of_rule(rule, rule.name or "rule"), overrides, "params",
                             rule.name)
    if err then error(err, 2) end
  end
  return merge(rule.params, overrides)
end

-- The state as it comes back after the host stored it (JSON) — what a rule
-- sees after a restart or a reload.  Raises if it is not plain data.
function M.persist(state)
  local js, err = cjson.encode(state)
  if not js then error("state is not plain data: " .. tostring(err), 2) end
  return cjson.decode(js)
end

-- ---- reading proposals -----------------------------------------------------

-- The first action of a type ("stop", "reduce", "close", "add", "event", "hedge"),
-- for events optionally of a name; nil when there is none.
function M.find(actions, type_, name)
  for _, a in ipairs(actions) do
    if a.type == type_ and (name == nil or a.name == name) then return a end
  end
  return nil
end

-- The only action, which must be of type_ (and name, for an event);
-- raises otherwise.  kit.one(actions, "stop").price
function M.one(actions, type_, name)
  local a = actions[1]
  if #actions ~= 1 or a.type ~= type_ or (name ~= nil and a.name ~= name) then
    local got = {}
    for i, x in ipairs(actions) do got[i] = tostring(x.type) .. (x.name and " " .. x.name or "") end
    error(string.format("expected one %s action, got {%s}", type_ .. (name and " " .. name or ""),
                        table.concat(got, ", ")), 2)
  end
  return a
end

-- Every action of a type, in order.
function M.find_all(actions, type_)
  local out = {}
  for _, a in ipairs(actions) do
    if a.type == type_ then out[#out + 1] = a end
  end
  return out
end

-- ---- bad input -------------------------------------------------------------

local NAN = 0 / 0
local BAD_NUMBERS = { NAN, math.huge, -math.huge, 0, -1 }
local BAD_ENTRIES = { {}, { NAN }, { 0 }, { -1 } }

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

local function variant(pos, mkt, which, key, value)
  local c = { pos = deep_copy(pos or {}), mkt = deep_copy(mkt or {}) }
  c[which][key] = value
  c.name = string.format("%s.%s = %s", which, key,
                         type(value) == "table" and "{" .. table.concat(value, ", ") .. "}"
                         or tostring(value))
  return c
end

-- bad_inputs(pos, mkt) -> cases { name=, pos=, mkt= }: copies of the plain
-- tables with one view field at a time set to NaN, ±inf, 0 or -1 (and
-- entry_quantities empty or holding a bad number).  A rule must survive
-- every one: no error, no invalid proposal.
function M.bad_inputs(pos, mkt)
  local cases = {}
  for _, which in ipairs({ "pos", "mkt" }) do
    local fields = which == "pos" and views.POS_FIELDS or views.MKT_FIELDS
    for _, key in ipairs(sorted_keys(fields)) do
      for _, v in ipairs(BAD_NUMBERS) do
        cases[#cases + 1] = variant(pos, mkt, which, key, v)
      end
    end
  end
  for _, entries in ipairs(BAD_ENTRIES) do
    cases[#cases + 1] = variant(pos, mkt, "pos", "entry_quantities", entries)
  end
  return cases
end

-- The bad input cases around (pos, mkt) on which eval() fails — errors,
-- malformed returns, invalid proposals — as "case: message" strings;
-- assert.same({}, kit.bad_input_failures(rule, pos, mkt)) in a spec.
function M.bad_input_failures(rule, pos, mkt, params, state)
  local failures = {}
  for _, c in ipairs(M.bad_inputs(pos, mkt)) do
    local ok, err = pcall(M.eval, rule, c.pos, c.mkt, params, state)
    if not ok then failures[#failures + 1] = c.name .. ": " .. tostring(err) end
  end
  return failures
end

return M
