-- The binding as a whole: every wrapper hands back plain Lua values, error
-- codes read as the header defines them, and C ints are taken only when
-- they are exact.
local core = require("s6.core")
local S = dofile("tests/lua/support.lua")

local BARS = { { 10, 11, 12, 11 }, { 9, 9.5, 10, 10 }, { 9.5, 10.5, 11.5, 10.5 } }
local BRACKETS = {
  { notional_floor = 0, notional_cap = 50000, mmr = 0.004, cum = 0 },
  { notional_floor = 50000, notional_cap = 1e6, mmr = 0.005, cum = 50 },
}

-- One valid and one invalid call per wrapper.  A wrapper added to
-- lua/s6/core.lua without a row here fails the coverage test below.
local CALLS = {
  strerror = { { -22 }, { 7 } },
  upnl = { { 1, 1, 100, 110 }, { 0, 1, 100, 110 } },
  roe = { { 1, 1, 100, 110, 10 }, { 1, 1, 100, 110, 0 } },
  price_for_roe = { { 1, 1, 100, 10, 0.1 }, { 1, -1, 100, 10, 0.1 } },
  price_for_roe_net = { { -1, 1, 100, 10, 0.04, 0.0004, 0 },
                        { -1, 1, 100, 10, 0.04, 1, 0 } },
  margin_ratio = { { 1, 1, 100, 90, 20, 0.005, 0 }, { 1, 1, 100, 90, 20, 1, 0 } },
  liq_price = { { 1, 1, 100, 10, 0.005, 0 }, { 1, 1, 100, S.NAN, 0.005, 0 } },
  liq_price_brackets = { { 1, 1, 1e4, 1e3, BRACKETS }, { 1, 1, 1e4, 1e3, {} } },
  liq_distance = { { 1, 100, 90 }, { 1, 100, -1 } },
  atr = { { BARS[1], BARS[2], BARS[3], 2 }, { BARS[1], BARS[2], BARS[3], 0 } },
  atr_new = { { 2 }, { 0 } },
  atr_stop = { { 1, 100, 2, 1.5 }, { 1, 100, 2, -1.5 } },
  atr_trail = { { 1, 0, 110, 2, 1.5 }, { 1, S.INF, 110, 2, 1.5 } },
  addon_qty = { { 1, 0.5, 1 }, { 1, 1, 1 } },
  avg_entry_after_add = { { 1, 100, 1, 110 }, { 1, 100, 0, 110 } },
  wac_after_buy = { { 1, 100, 1, 110 }, { -1, 100, 1, 110 } },
  spot_realized = { { 110, 100, 1 }, { 110, 100, 0 } },
  spot_unrealized = { { 110, 100, 1 }, { 110, 100, -1 } },
  hedge_fut_qty = { { 1, 0, 100, 0 }, { 1, 0, 0, 0 } },
  treasury_need = { { 1000, 400 }, { -1, 400 } },
  treasury_feasible = { { 700, 600, 100 }, { 700, -1, 100 } },
  is_stagnant = { { 3600, 1800, 0.01, 0.02 }, { 3600, 0, 0.01, 0.02 } },
  round_to_step = { { 1.234, 0.01, -1 }, { 1.234, 0.01, 3 } },
  round_stop = { { 1, 100.123, 0.01 }, { 1, 100.123, 0 } },
  round_qty = { { 0.1234, 0.001 }, { 0.1234, -0.001 } },
  step_decimals = { { 0.01 }, { 0 } },
  format_decimal = { { 0.3, 0.1 }, { 0.3, 0 } },
}

local PLAIN = { number = true, boolean = true, string = true, table = true,
                ["nil"] = true }

-- A value a rule script may hold: no cdata or userdata, at any depth of a
-- returned table (functions are allowed as methods of a returned object).
local function assert_plain(v, where, seen)
  local t = type(v)
  assert(PLAIN[t] or (t == "function" and seen),
         where .. " hands out a " .. t)
  if t ~= "table" then return end
  seen = seen or {}
  if seen[v] then return end
  seen[v] = true
  for k, x in pairs(v) do
    assert_plain(k, where .. " key", seen)
    assert_plain(x, where .. "." .. tostring(k), seen)
  end
  local mt = getmetatable(v)
  if mt ~= nil then assert_plain(mt, where .. " metatable", seen) end
end

describe("the s6.core binding", function()
  it("has a sample call for every wrapper", function()
    for name, v in pairs(core) do
      if name ~= "lib" then
        assert.are.equal("function", type(v), name)
        assert(CALLS[name], "no sample call for core." .. name)
      end
    end
    for name in pairs(CALLS) do
      assert(core[name], "core." .. name .. " is gone")
    end
  end)

  it("never hands cdata to its caller", function()
    for name, calls in pairs(CALLS) do
      for i, args in ipairs(calls) do
        local r1, r2 = core[name](unpack(args, 1, #args))
        assert_plain(r1, name .. " call " .. i)
        assert_plain(r2, name .. " call " .. i .. " (second value)")
      end
    end
    -- and neither does the incremental ATR's method
    local a = core.atr_new(2)
    for i = 1, 4 do
      local v, msg = a:push(BARS[1][i], BARS[2][i], BARS[3][i])
      assert_plain(v, "atr push")
      assert_plain(msg, "atr push (message)")
    end
    assert_plain(a:push(S.NAN, 1, 1), "atr push (bad bar)")
  end)

  it("exposes the library's error codes as the header defines them", function()
    local lib = core.lib
    assert.are.same({ 0, -22, -1001, -34, -1002 }, {
      tonumber(lib.S6_OK), tonumber(lib.S6_EINVAL), tonumber(lib.S6_ESHORT),
      tonumber(lib.S6_ERANGE), tonumber(lib.S6_ENOTREADY) })
  end)

  it("reads every error code, and unknown ones, as a message", function()
    assert.are.equal("ok", core.strerror(0))
    assert.are.equal("invalid argument", core.strerror(-22))
    assert.are.equal("series too short for the period", core.strerror(-1001))
    assert.are.equal("result out of range", core.strerror(-34))
    assert.are.equal("indicator not warmed up", core.strerror(-1002))
    for _, code in ipairs({ -5000, 1, 1.5, -1.5, S.NAN, S.INF, -2 ^ 40 }) do
      assert.are.equal("unknown error", core.strerror(code))
    end
  end)

  it("refuses a C int argument that is not an exact int32", function()
    -- the FFI alone would truncate 1.9 to 1 (a long) and wrap 2^32 + 1
    for _, side in ipairs({ 1.9, -1.9, 0.5, 2 ^ 32 + 1, -(2 ^ 32) - 1 }) do
      assert.is_nan(core.upnl(side, 1, 100, 110))
      assert.is_nan(core.round_stop(side, 100.123, 0.01))
    end
    assert.are.equal(10, core.upnl(1.0, 1, 100, 110))
  end)

  it("raises a Lua error, not a crash, for a non-number argument", function()
    assert.has_error(function() core.upnl(1, nil, 100, 110) end)
    assert.has_error(function() core.roe(1, 1, 100, "110", 10) end)
    assert.has_error(function() core.round_stop(nil, 100, 0.01) end)
  end)

  it("gives the same answers once the calls are JIT-compiled", function()
    -- the first calls run in the interpreter, the later ones on a trace
    local function sample()
      return core.roe(1, 0.5, 100, 110, 25),
             core.liq_price(-1, 1, 100, 10, 0.005, 0),
             core.format_decimal(0.3, 0.1),
             core.is_stagnant(3600, 1800, 0.01, 0.02),
             core.upnl(1.5, 1, 100, 110)
    end
    local r, l, f, st, u = sample()
    local differ = 0
    for _ = 1, 500 do
      local r2, l2, f2, st2, u2 = sample()
      if r2 ~= r or l2 ~= l or f2 ~= f or st2 ~= st or u2 == u2 then
        differ = differ + 1
      end
    end
    assert.are.equal(0, differ)
    assert.is_nan(u)
  end)
end)
