-- Treasury arithmetic and the stagnation predicate through FFI.
local core = require("s6.core")
local S = dofile("tests/lua/support.lua")

describe("core.treasury_need", function()
  it("is max(0, min_free_fut - free_fut)", function()
    assert.are.equal(600, core.treasury_need(1000, 400))   -- 1000 - 400
    assert.are.equal(0, core.treasury_need(1000, 1000))    -- exactly at the floor
    assert.are.equal(0, core.treasury_need(1000, 1500))    -- above it
    assert.are.equal(1200, core.treasury_need(1000, -200)) -- 1000 + 200
    assert.are.equal(0, core.treasury_need(0, 0))
  end)

  it("refuses bad input with NaN", function()
    S.nan_for(core.treasury_need, { 1000, 400 }, {
      [1] = S.NOT_NONNEG, [2] = S.NONFINITE,
    })
  end)
end)

describe("core.treasury_feasible", function()
  it("is free_spot >= need + spot_buffer", function()
    assert.is_true(core.treasury_feasible(700, 600, 100))   -- 700 >= 700
    assert.is_false(core.treasury_feasible(699.5, 600, 100))
    assert.is_true(core.treasury_feasible(0, 0, 0))
    assert.is_false(core.treasury_feasible(-1, 0, 0))
  end)

  it("refuses bad input with nil and a message", function()
    S.error_for(core.treasury_feasible, { 700, 600, 100 }, {
      [1] = S.NONFINITE, [2] = S.NOT_NONNEG, [3] = S.NOT_NONNEG,
    })
  end)
end)

describe("core.is_stagnant", function()
  it("is duration > T and |ROE| < roe_min", function()
    assert.is_true(core.is_stagnant(3600, 1800, 0.01, 0.02))
    assert.is_true(core.is_stagnant(3600, 1800, -0.01, 0.02))
    assert.is_false(core.is_stagnant(600, 1800, 0.01, 0.02))
    assert.is_false(core.is_stagnant(3600, 1800, 0.05, 0.02))
    assert.is_false(core.is_stagnant(3600, 1800, -0.05, 0.02))
  end)

  it("is strict on both bounds", function()
    assert.is_false(core.is_stagnant(1800, 1800, 0.01, 0.02))  -- duration == T
    assert.is_false(core.is_stagnant(3600, 1800, 0.25, 0.25))  -- |roe| == min
    assert.is_false(core.is_stagnant(3600, 1800, -0.25, 0.25))
  end)

  it("refuses bad input with nil and a message", function()
    S.error_for(core.is_stagnant, { 3600, 1800, 0.01, 0.02 }, {
      [1] = S.NOT_NONNEG, [2] = S.NOT_POS, [3] = S.NONFINITE,
      [4] = S.NOT_POS,
    })
  end)
end)
