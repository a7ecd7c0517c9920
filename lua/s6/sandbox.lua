-- s6.sandbox — loads rule scripts into allow-listed environments.
--
-- Trusted host code.  A rule script sees only what `new_env` puts in its
-- environment: a handful of safe base functions, read-only copies of
-- math/string/table, the primitives as plain-Lua functions (`s6`), the
-- action constructors (`act`), the number tests of s6.helpers as globals,
-- and nothing that reaches the host: no io, os, ffi, debug, jit, load*,
-- dofile, require, setfenv/getfenv, collectgarbage, rawset, string.dump.
-- docs/rules.md lists the environment; the sandbox specs in tests/lua try
-- each escape.

local core = require("s6.core")
local helpers = require("s6.helpers")

local M = {}

local function ro_error(_, key)
  error("attempt to modify read-only table (field '" .. tostring(key) .. "')", 2)
end

-- Every read-only proxy, weakly: table.insert, table.remove and table.sort
-- write raw, past __newindex, so the sandbox's versions refuse these.
local proxies = setmetatable({}, { __mode = "k" })

-- A read-only view of t: reads go through, writes raise, and the metatable
-- is hidden so neither getmetatable nor setmetatable can reach it.
local function readonly(t)
  local p = setmetatable({}, { __index = t, __newindex = ro_error, __metatable = false })
  proxies[p] = true
  return p
end
M.readonly = readonly

local function copy_of(t, drop)
  local c = {}
  for k, v in pairs(t) do
    if not (drop and drop[k]) then c[k] = v end
  end
  return c
end

local function guard_raw(name)
  local fn = table[name]
  return function(t, ...)
    if proxies[t] then error("attempt to modify a read-only table with table." .. name, 2) end
    return fn(t, ...)
  end
end

local function table_lib()
  local t = copy_of(table)
  for _, name in ipairs({ "insert", "remove", "sort" }) do t[name] = guard_raw(name) end
  return t
end

-- math.random of one environment: xorshift32 on its own state, so no rule
-- sees (or moves) another's sequence.  Seeded the same for every rule:
-- a rule's results do not depend on which other rules run.
local function math_lib()
  local m = copy_of(math)
  local x = 2463534242
  local function nextx()
    x = bit.bxor(x, bit.lshift(x, 13))
    x = bit.bxor(x, bit.rshift(x, 17))
    x = bit.bxor(x, bit.lshift(x, 5))
    return (x % 4294967296) / 4294967296
  end
  m.randomseed = function(seed)
    x = bit.tobit(tonumber(seed) or 0)
    if x == 0 then x = 2463534242 end
  end
  m.random = function(a, b)
    local u = nextx()
    if a == nil then return u end
    if b == nil then a, b = 1, a end
    if a > b then error("bad argument to 'random' (interval is empty)", 2) end
    return math.floor(u * (b - a + 1)) + a
  end
  return readonly(m)
end

-- string.dump would turn any function into bytecode a later load could
-- abuse; strings reach the real string table through their metatable, so
-- it goes from the real table, and the metatable itself is hidden.
local function harden_strings()
  string.dump = nil
  local mt = getmetatable("")
  -- false once hidden: this module may be loaded again in the same state
  -- (busted reloads modules for every spec file).
  if type(mt) == "table" then mt.__metatable = false end
end

local SAFE_BASE = {
  "assert", "error", "ipairs", "next", "pairs", "pcall", "select",
  "tonumber", "tostring", "type", "unpack", "rawequal", "rawget",
  "getmetatable", "setmetatable",
}

-- LuaJIT runs an xpcall error handler with hooks off, so a handler that
-- loops could never be stopped by the deadline.  This xpcall calls the
-- handler after pcall returns, as ordinary code the deadline reaches.
local function pack(...) return select("#", ...), { ... } end
local function sandbox_xpcall(f, handler, ...)
  local n, res = pack(pcall(f, ...))
  if res[1] then return unpack(res, 1, n) end
  return false, handler(res[2])
end

-- The primitives a rule may call, by the name rules use.
local PRIMITIVES = {
  "upnl", "roe", "price_for_roe", "price_for_roe_net", "margin_ratio",
  "liq_price", "liq_distance", "atr_stop", "atr_trail", "addon_qty",
  "avg_entry_after_add", "wac_after_buy", "spot_realized", "spot_unrealized",
  "hedge_fut_qty", "treasury_need", "treasury_feasible", "is_stagnant",
  "round_to_step", "round_stop", "round_qty", "step_decimals",
}

local function primitives()
  local t = {}
  for _, name in ipairs(PRIMITIVES) do t[name] = core[name] end
  return readonly(t)
end

-- Action constructors: the only shapes the host accepts (docs/rules.md).
local act = {
  -- step: the lock-in step the stop stands for (a trailing rule's), so
  -- the host records it with the stop without reading the rule's state
  stop = function(price, reason, step)
    return { type = "stop", price = price, reason = reason, step = step }
  end,
  reduce = function(qty, reason)
    return { type = "reduce", qty = qty, reason = reason }
  end,
  reduce_fraction = function(fraction, reason)
    return { type = "reduce", fraction = fraction, reason = reason }
  end,
  close = function(reason)
    return { type = "close", reason = reason }
  end,
  add = function(qty, reason)
    return { type = "add", qty = qty, reason = reason }
  end,
  event = function(name, reason)
    return { type = "event", name = name, reason = reason }
  end,
  hedge = function(qty, reason)
    return { type = "hedge", qty = qty, reason = reason }
  end,
}

local shared -- built once per Lua state: every env shares these read-only tables

local function shared_tables()
  if shared then return shared end
  harden_strings()
  shared = {
    string = readonly(copy_of(string, { dump = true })),
    table = readonly(table_lib()),
    s6 = primitives(),
    act = readonly(act),
  }
  return shared
end

-- A fresh environment for one rule.  Globals a rule defines stay in its
-- own environment; shared tables are read-only.
function M.new_env()
  local env = {}
  for _, name in ipairs(SAFE_BASE) do env[name] = _G[name] end
  env.xpcall = sandbox_xpcall
  for name, f in pairs(helpers) do env[name] = f end
  for name, t in pairs(shared_tables()) do env[name] = t end
  env.math = math_lib()
  env._G = env
  return env
end

-- Compiles source as text only (bytecode refused) into a new environment
-- and runs its top level.  Returns the module table and the environment,
-- or nil and a message carrying chunkname:line.
function M.load(source, chunkname)
  if type(source) ~= "string" then
    return nil, chunkname .. ": source is not a string"
  end
  if source:byte(1) == 27 then
    return nil, chunkname .. ": precompiled bytecode is refused"
  end
  local env = M.new_env()
  local fn, err = load(source, "@" .. chunkname, "t", env)
  if not fn then return nil, err end
  local ok, mod = pcall(fn)
  if not ok then return nil, tostring(mod) end
  return mod, env
end

M.TRIGGERS = { tick = true, price = true, fill = true, signal = true }

-- Checks a loaded module against the rule contract.  expected_name is the
-- file's base name; a rule must say the same.
function M.check_contract(mod, chunkname, expected_name)
  local function fail(msg) return nil, chunkname .. ": " .. msg end
  if type(mod) ~= "table" then return fail("a rule must return a table") end
  if type(mod.name) ~= "string" or mod.name == "" then
    return fail("field 'name' must be a non-empty string")
  end
  if expected_name and mod.name ~= expected_name then
    return fail("name '" .. mod.name .. "' differs from the file name '" .. expected_name .. "'")
  end
  if type(mod.evaluate) ~= "function" then
    return fail("field 'evaluate' must be a function")
  end
  if type(mod.triggers) ~= "table" or #mod.triggers == 0 then
    return fail("field 'triggers' must list at least one of tick, price, fill, signal")
  end
  for i, t in ipairs(mod.triggers) do
    if not M.TRIGGERS[t] then
      return fail("triggers[" .. i .. "] '" .. tostring(t) .. "' is not one of tick, price, fill, signal")
    end
  end
  if mod.params ~= nil and type(mod.params) ~= "table" then
    return fail("field 'params' must be a table")
  end
  if mod.checks ~= nil and type(mod.checks) ~= "table" then
    return fail("field 'checks' must be a list of self-checks")
  end
  return true
end

return M
