-- Add-on sizing through FFI: geometric decay and the new average entry.
local core = require("s6.core")
local S = dofile("tests/lua/support.lua")

describe("core.addon_qty", function()
  it("is q0 * gamma^j", function()
    -- 1 * 0.5^0 = 1, 1 * 0.5^1 = 0.5, 1 * 0.5^2 = 0.25
    assert.are.equal(1, core.addon_qty(1, 0.5, 0))
    assert.are.equal(0.5, core.addon_qty(1, 0.5, 1))
    assert.are.equal(0.25, core.addon_qty(1, 0.5, 2))
    -- 0.8 * 0.75^3 = 0.8 * 0.421875 = 0.3375
    assert.is_near(0.3375, core.addon_qty(0.8, 0.75, 3), 1e-15)
  end)

  it("takes gamma strictly inside (0, 1)", function()
    assert.is_not_nan(core.addon_qty(1, 1e-9, 1))
    assert.is_not_nan(core.addon_qty(1, 0.999999, 1))
    assert.is_nan(core.addon_qty(1, 0, 1))
    assert.is_nan(core.addon_qty(1, 1, 1))
  end)

  it("refuses a size that underflows to zero", function()
    -- 0.5^2000 is below the smallest double
    assert.is_nan(core.addon_qty(1, 0.5, 2000))
  end)

  it("refuses bad input with NaN", function()
    S.nan_for(core.addon_qty, { 1, 0.5, 1 }, {
      [1] = S.NOT_POS,
      [2] = { 0, 1, 1.5, -0.5, S.NAN, S.INF, -S.INF },
      [3] = { -1, 1.5, S.NAN, S.INF, -S.INF, 2 ^ 32 + 1 },
    })
  end)
end)

describe("core.avg_entry_after_add", function()
  it("is the quantity-weighted entry", function()
    -- (1 * 100 + 0.5 * 130) / 1.5 = 165 / 1.5 = 110
    assert.are.equal(110, core.avg_entry_after_add(1, 100, 0.5, 130))
    -- adding at the same price keeps the entry
    assert.are.equal(100, core.avg_entry_after_add(3, 100, 2, 100))
  end)

  it("refuses bad input with NaN", function()
    S.nan_for(core.avg_entry_after_add, { 1, 100, 0.5, 130 }, {
      [1] = S.NOT_POS, [2] = S.NOT_POS, [3] = S.NOT_POS, [4] = S.NOT_POS,
    })
  end)
end)
