-- SPOT books (weighted average cost) and the futures hedge through FFI.
local core = require("s6.core")
local S = dofile("tests/lua/support.lua")

describe("core.wac_after_buy", function()
  it("is (Q*WAC + Qb*Pb) / (Q + Qb)", function()
    -- (2 * 100 + 1 * 130) / 3 = 330 / 3 = 110
    assert.are.equal(110, core.wac_after_buy(2, 100, 1, 130))
  end)

  it("starts a flat book at the buy price, whatever the old WAC", function()
    assert.are.equal(130, core.wac_after_buy(0, 100, 1, 130))
    assert.are.equal(130, core.wac_after_buy(0, S.NAN, 1, 130))
  end)

  it("refuses bad input with NaN", function()
    S.nan_for(core.wac_after_buy, { 2, 100, 1, 130 }, {
      [1] = S.NOT_NONNEG, [2] = S.NOT_POS, [3] = S.NOT_POS, [4] = S.NOT_POS,
    })
  end)
end)

describe("core.spot_realized", function()
  it("is (P_sell - WAC) * Q_sell", function()
    -- (120 - 110) * 0.5 = 5; at a loss (100 - 110) * 0.5 = -5
    assert.are.equal(5, core.spot_realized(120, 110, 0.5))
    assert.are.equal(-5, core.spot_realized(100, 110, 0.5))
    assert.are.equal(0, core.spot_realized(110, 110, 0.5))
  end)

  it("refuses bad input with NaN", function()
    S.nan_for(core.spot_realized, { 120, 110, 0.5 }, {
      [1] = S.NOT_POS, [2] = S.NOT_POS, [3] = S.NOT_POS,
    })
  end)
end)

describe("core.spot_unrealized", function()
  it("is (P_mark - WAC) * Q_remain", function()
    -- (120 - 110) * 2 = 20; (90 - 110) * 2 = -40
    assert.are.equal(20, core.spot_unrealized(120, 110, 2))
    assert.are.equal(-40, core.spot_unrealized(90, 110, 2))
  end)

  it("is 0 for a flat book, whatever the WAC", function()
    assert.are.equal(0, core.spot_unrealized(120, 110, 0))
    assert.are.equal(0, core.spot_unrealized(120, S.NAN, 0))
  end)

  it("refuses bad input with NaN", function()
    S.nan_for(core.spot_unrealized, { 120, 110, 2 }, {
      [1] = S.NOT_POS, [2] = S.NOT_POS, [3] = S.NOT_NONNEG,
    })
  end)
end)

describe("core.hedge_fut_qty", function()
  it("brings Q_spot*P + Q_fut*P to the target", function()
    -- flat target: 0 / 100 - 2 - 0 = -2 (short 2)
    assert.are.equal(-2, core.hedge_fut_qty(2, 0, 100, 0))
    -- target 50: 50 / 100 - 2 - 0 = -1.5
    assert.are.equal(-1.5, core.hedge_fut_qty(2, 0, 100, 50))
    -- already hedged: 0 / 100 - 2 - (-2) = 0
    assert.are.equal(0, core.hedge_fut_qty(2, -2, 100, 0))
    -- net short target: -100 / 100 - 2 - 0 = -3
    assert.are.equal(-3, core.hedge_fut_qty(2, 0, 100, -100))
    -- no spot, long futures, target 250: 2.5 - 0 - 1 = 1.5
    assert.are.equal(1.5, core.hedge_fut_qty(0, 1, 100, 250))
  end)

  it("lands on the target exposure", function()
    local spot, fut, px, target = 1.37, -0.4, 2513.25, 812.5
    local delta = core.hedge_fut_qty(spot, fut, px, target)
    assert.is_near(target, spot * px + (fut + delta) * px, 1e-9)
  end)

  it("refuses bad input with NaN", function()
    S.nan_for(core.hedge_fut_qty, { 2, 0, 100, 50 }, {
      [1] = S.NOT_NONNEG, [2] = S.NONFINITE, [3] = S.NOT_POS,
      [4] = S.NONFINITE,
    })
  end)
end)
