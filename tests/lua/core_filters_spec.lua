-- Exchange filters through FFI: rounding to tick/step in the safe
-- direction and exact decimal strings for order bodies.
local core = require("s6.core")
local S = dofile("tests/lua/support.lua")
local LONG, SHORT = 1, -1
local DOWN, NEAREST, UP = -1, 0, 1

describe("core.round_to_step", function()
  it("floors, rounds to nearest and ceils", function()
    assert.are.equal(1.23, core.round_to_step(1.234, 0.01, DOWN))
    assert.are.equal(1.24, core.round_to_step(1.234, 0.01, UP))
    assert.are.equal(1.23, core.round_to_step(1.234, 0.01, NEAREST))
    assert.are.equal(1.24, core.round_to_step(1.236, 0.01, NEAREST))
    assert.are.equal(1.23, core.round_to_step(1.234, 0.01))     -- dir defaults to nearest
    assert.are.equal(2.5, core.round_to_step(2.7, 0.5, DOWN))
    assert.are.equal(3, core.round_to_step(2.7, 0.5, UP))
    assert.are.equal(-1.24, core.round_to_step(-1.234, 0.01, DOWN))
    assert.are.equal(-1.23, core.round_to_step(-1.234, 0.01, UP))
  end)

  it("leaves a value on the grid alone despite binary noise", function()
    -- 0.3 / 0.1 = 2.9999999999999996: still 0.3, in every direction
    for _, dir in ipairs({ DOWN, NEAREST, UP }) do
      assert.are.equal(0.3, core.round_to_step(0.3, 0.1, dir))
      assert.are.equal(7, core.round_to_step(7, 1, dir))
    end
    -- 0.1 + 0.2 = 0.30000000000000004 comes back as the double nearest 0.3
    assert.are.equal(0.3, core.round_to_step(0.1 + 0.2, 0.01, UP))
  end)

  it("never returns -0", function()
    local r = core.round_to_step(-0.001, 0.01, NEAREST)
    assert.are.equal(0, r)
    assert.are.equal(S.INF, 1 / r)
  end)

  it("refuses bad input with NaN", function()
    S.nan_for(core.round_to_step, { 1.234, 0.01, DOWN }, {
      [1] = S.NONFINITE, [2] = S.NOT_POS,
      [3] = { 2, -2, 0.5, S.NAN, S.INF, -S.INF, 2 ^ 32 + 1 },
    })
    -- more grid steps than a double counts exactly (> 2^53)
    assert.is_nan(core.round_to_step(1e300, 0.01, DOWN))
  end)
end)

describe("core.round_stop", function()
  it("rounds tighter: up for a long, down for a short", function()
    assert.are.equal(100.13, core.round_stop(LONG, 100.123, 0.01))
    assert.are.equal(100.12, core.round_stop(SHORT, 100.123, 0.01))
    assert.are.equal(100.12, core.round_stop(LONG, 100.12, 0.01))   -- on the grid
    assert.are.equal(100.12, core.round_stop(SHORT, 100.12, 0.01))
    assert.are.equal(0.01, core.round_stop(LONG, 0.004, 0.01))
  end)

  it("refuses a short stop that rounds down to zero", function()
    assert.is_nan(core.round_stop(SHORT, 0.004, 0.01))
  end)

  it("refuses bad input with NaN", function()
    S.nan_for(core.round_stop, { LONG, 100.123, 0.01 }, {
      [1] = S.BAD_SIDES, [2] = S.NOT_POS, [3] = S.NOT_POS,
    })
  end)
end)

describe("core.round_qty", function()
  it("rounds down so a reduce never exceeds the position", function()
    assert.are.equal(0.123, core.round_qty(0.123456, 0.001))
    assert.are.equal(0.001, core.round_qty(0.0019999, 0.001))
    assert.are.equal(0.3, core.round_qty(0.3, 0.1))
    assert.are.equal(0, core.round_qty(0.0009, 0.001))
    assert.are.equal(0, core.round_qty(0, 0.001))
  end)

  it("refuses bad input with NaN", function()
    S.nan_for(core.round_qty, { 0.123456, 0.001 }, {
      [1] = S.NOT_NONNEG, [2] = S.NOT_POS,
    })
  end)
end)

describe("core.step_decimals", function()
  it("counts the decimals of a tick or step", function()
    local cases = { [1] = 0, [10] = 0, [0.5] = 1, [0.3] = 1, [0.01] = 2,
                    [0.00001] = 5, [1e-12] = 12 }
    for step, d in pairs(cases) do
      assert.are.equal(d, core.step_decimals(step))
    end
  end)

  it("refuses a step with more than 12 decimals or none that fit", function()
    for _, step in ipairs({ 1e-13, 1.5e-12 }) do
      local d, msg = core.step_decimals(step)
      assert.is_nil(d)
      assert.are.equal("result out of range", msg)
    end
  end)

  it("refuses bad input with nil and a message", function()
    S.error_for(core.step_decimals, { 0.01 }, { [1] = S.NOT_POS })
  end)
end)

describe("core.format_decimal", function()
  it("prints exactly the step's decimals", function()
    assert.are.equal("0.3", core.format_decimal(0.3, 0.1))
    assert.are.equal("0.30", core.format_decimal(0.1 + 0.2, 0.01))
    assert.are.equal("12345.6", core.format_decimal(12345.6, 0.1))
    assert.are.equal("5", core.format_decimal(5, 1))
    assert.are.equal("1.5", core.format_decimal(1.5, 0.5))
    assert.are.equal("0.00001", core.format_decimal(0.00001, 0.00001))
    assert.are.equal("-1.25", core.format_decimal(-1.25, 0.01))
    assert.are.equal("0.00", core.format_decimal(0, 0.01))
    assert.are.equal("0.00", core.format_decimal(-0.0, 0.01))
  end)

  it("prints what round_* returns, and it reads back as the same double", function()
    for _, v in ipairs({ 0.123456, 1234.5678, 0.0019999, 7 }) do
      local q = core.round_qty(v, 0.001)
      local s = assert(core.format_decimal(q, 0.001))
      assert.is_truthy(s:match("^%d+%.%d%d%d$"))
      assert.are.equal(q, tonumber(s))
    end
  end)

  it("refuses a value off the step's grid", function()
    for _, v in ipairs({ 0.0019999, 1.005, 0.30000001 }) do
      local s, msg = core.format_decimal(v, 0.01)
      assert.is_nil(s)
      assert.are.equal("invalid argument", msg)
    end
  end)

  it("refuses bad input with nil and a message", function()
    S.error_for(core.format_decimal, { 0.3, 0.1 }, {
      [1] = S.NONFINITE, [2] = S.NOT_POS,
    })
    S.error_for(core.format_decimal, { 0.3, 0.1 }, { [2] = { 1e-13 } },
                "result out of range")
  end)
end)
