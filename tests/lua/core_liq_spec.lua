-- Liquidation price (plain and bracket-aware) and distance through FFI.
-- LP = (WB + cum - side*Q*EP) / (Q*MMR - side*Q)   (Binance USD-M isolated)
local core = require("s6.core")
local S = dofile("tests/lua/support.lua")
local LONG, SHORT = 1, -1

describe("core.liq_price", function()
  it("solves the isolated formula on both sides", function()
    -- long 1 @ 100, wallet 10, mmr 0: (10 - 100) / (0 - 1) = 90
    assert.are.equal(90, core.liq_price(LONG, 1, 100, 10, 0, 0))
    -- short: (10 + 100) / (0 + 1) = 110
    assert.are.equal(110, core.liq_price(SHORT, 1, 100, 10, 0, 0))
    -- mmr 0.005: long -90 / -0.995 = 90.452261...; short 110 / 1.005 = 109.452736...
    assert.is_near(90.4522613065, core.liq_price(LONG, 1, 100, 10, 0.005, 0), 1e-9)
    assert.is_near(109.4527363184, core.liq_price(SHORT, 1, 100, 10, 0.005, 0), 1e-9)
    -- cum adds to the wallet: long (10 + 1 - 100) / -1 = 89
    assert.are.equal(89, core.liq_price(LONG, 1, 100, 10, 0, 1))
  end)

  it("is where the margin balance meets the maintenance margin", function()
    for _, side in ipairs({ LONG, SHORT }) do
      local q, ep, wb, mmr, cum = 0.3, 250, 12, 0.004, 0.2
      local lp = core.liq_price(side, q, ep, wb, mmr, cum)
      local balance = wb + side * q * (lp - ep)
      assert.is_near(q * lp * mmr - cum, balance, 1e-9)
    end
  end)

  it("is 0 when the formula gives no liquidation price", function()
    -- long fully collateralised: (100 - 100) / -1 = 0 -> 0, never -0 or below
    assert.are.equal(0, core.liq_price(LONG, 1, 100, 100, 0, 0))
    assert.are.equal(0, core.liq_price(LONG, 1, 100, 150, 0.005, 0))
    -- one unit of wallet less: (99 - 100) / -1 = 1, a real price
    assert.are.equal(1, core.liq_price(LONG, 1, 100, 99, 0, 0))
  end)

  it("takes mmr in [0, 1)", function()
    assert.is_not_nan(core.liq_price(SHORT, 1, 100, 10, 0.999, 0))
    assert.is_nan(core.liq_price(SHORT, 1, 100, 10, 1, 0))
  end)

  it("refuses bad input with NaN", function()
    S.nan_for(core.liq_price, { LONG, 1, 100, 10, 0.005, 0 }, {
      [1] = S.BAD_SIDES, [2] = S.NOT_POS, [3] = S.NOT_POS, [4] = S.NOT_POS,
      [5] = { 1, 1.5, -0.001, S.NAN, S.INF, -S.INF }, [6] = S.NOT_NONNEG,
    })
  end)
end)

describe("core.liq_price_brackets", function()
  -- cum_i = cum_(i-1) + floor_i * (mmr_i - mmr_(i-1)), Binance's continuity
  -- rule: 50000 * 0.001 = 50; 50 + 250000 * 0.005 = 1300.
  local function brackets()
    return {
      { notional_floor = 0, notional_cap = 50000, mmr = 0.004, cum = 0 },
      { notional_floor = 50000, notional_cap = 250000, mmr = 0.005, cum = 50 },
      { notional_floor = 250000, notional_cap = 1e6, mmr = 0.01, cum = 1300 },
    }
  end

  it("uses the entry bracket when the answer stays in it", function()
    -- long 1 @ 10000, wallet 1000, bracket 1: -9000 / -0.996 = 9036.14...
    local lp = core.liq_price_brackets(LONG, 1, 10000, 1000, brackets())
    assert.are.equal(core.liq_price(LONG, 1, 10000, 1000, 0.004, 0), lp)
    assert.is_near(9036.1445783133, lp, 1e-9)
  end)

  it("re-solves a long whose liquidation falls into a lower bracket", function()
    -- entry notional 60000 -> bracket 2: (15000 + 50 - 60000) / -0.995 = 45175.9,
    -- a notional of bracket 1, so re-solve: -45000 / -0.996 = 45180.72...
    local lp = core.liq_price_brackets(LONG, 1, 60000, 15000, brackets())
    assert.is_near(45180.7228915663, lp, 1e-9)
    assert.are.equal(core.liq_price(LONG, 1, 60000, 15000, 0.004, 0), lp)
  end)

  it("re-solves a short whose liquidation rises into a higher bracket", function()
    -- entry notional 40000 -> bracket 1: 52000 / 1.004 = 51792.8, a notional
    -- of bracket 2, so re-solve: (12000 + 50 + 40000) / 1.005 = 51791.04...
    local lp = core.liq_price_brackets(SHORT, 1, 40000, 12000, brackets())
    assert.is_near(51791.0447761194, lp, 1e-9)
    assert.are.equal(core.liq_price(SHORT, 1, 40000, 12000, 0.005, 50), lp)
  end)

  it("keeps the last bracket above its cap", function()
    -- notional 2e6 > 1e6: (300000 + 1300 - 2e6) / (0.01 - 1)
    local lp = core.liq_price_brackets(LONG, 1, 2e6, 300000, brackets())
    assert.are.equal(core.liq_price(LONG, 1, 2e6, 300000, 0.01, 1300), lp)
  end)

  it("is 0 when there is no liquidation price", function()
    assert.are.equal(0, core.liq_price_brackets(LONG, 1, 10000, 20000, brackets()))
  end)

  it("refuses bad scalar input with NaN", function()
    S.nan_for(core.liq_price_brackets, { LONG, 1, 10000, 1000, brackets() }, {
      [1] = S.BAD_SIDES, [2] = S.NOT_POS, [3] = S.NOT_POS, [4] = S.NOT_POS,
    })
  end)

  it("refuses bad bracket tables with NaN", function()
    local function with(i, field, value)
      local b = brackets()
      b[i][field] = value
      return b
    end
    local bad = {
      {}, "brackets", 42, true,
      { 1, 2, 3 },                                    -- entries not tables
      { { notional_floor = 0, notional_cap = 1e6, mmr = 0.004 } }, -- no cum
      with(2, "mmr", "0.005"),                        -- a string, not a number
      with(1, "notional_floor", -1),                  -- negative floor
      with(2, "notional_floor", 40000),               -- gap/overlap with 1
      with(3, "notional_cap", 250000),                -- cap <= floor
      with(2, "mmr", 1), with(2, "mmr", -0.001), with(2, "mmr", S.NAN),
      with(3, "cum", -1), with(3, "cum", S.INF),
      with(1, "notional_cap", S.NAN),
    }
    for i, b in ipairs(bad) do
      local r = core.liq_price_brackets(LONG, 1, 10000, 1000, b)
      assert(S.is_nan(r), "bad table #" .. i .. " accepted: " .. tostring(r))
    end
    assert.is_nan(core.liq_price_brackets(LONG, 1, 10000, 1000, nil))
  end)
end)

describe("core.liq_distance", function()
  it("is the fraction of the mark left before liquidation", function()
    -- long mark 100, liq 90: (100 - 90) / 100 = 0.1
    assert.are.equal(0.1, core.liq_distance(LONG, 100, 90))
    -- short mark 100, liq 110: -(100 - 110) / 100 = 0.1
    assert.are.equal(0.1, core.liq_distance(SHORT, 100, 110))
  end)

  it("is 0 at the liquidation price and negative past it", function()
    assert.are.equal(0, core.liq_distance(LONG, 90, 90))
    assert.are.equal(0, core.liq_distance(SHORT, 110, 110))
    -- long mark 80, liq 90: -10 / 80 = -0.125
    assert.are.equal(-0.125, core.liq_distance(LONG, 80, 90))
    -- short mark 120, liq 110: -(10) / 120 = -0.08333...
    assert.is_near(-1 / 12, core.liq_distance(SHORT, 120, 110), 1e-15)
  end)

  it("is +inf when there is no liquidation price (liq 0)", function()
    assert.are.equal(S.INF, core.liq_distance(LONG, 100, 0))
    assert.are.equal(S.INF, core.liq_distance(SHORT, 100, 0))
  end)

  it("refuses bad input with NaN", function()
    S.nan_for(core.liq_distance, { LONG, 100, 90 }, {
      [1] = S.BAD_SIDES, [2] = S.NOT_POS, [3] = S.NOT_NONNEG,
    })
  end)
end)
