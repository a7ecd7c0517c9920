-- PnL, ROE, lock prices and margin ratio through the FFI binding.
local core = require("s6.core")
local S = dofile("tests/lua/support.lua")
local LONG, SHORT = 1, -1

describe("core.upnl", function()
  it("is side * qty * (mark - entry)", function()
    -- long 0.5 @ 100, mark 110: +1 * 0.5 * 10 = 5
    assert.are.equal(5, core.upnl(LONG, 0.5, 100, 110))
    -- short: -1 * 0.5 * 10 = -5
    assert.are.equal(-5, core.upnl(SHORT, 0.5, 100, 110))
    -- short 2 @ 100, mark 90: -1 * 2 * (-10) = 20
    assert.are.equal(20, core.upnl(SHORT, 2, 100, 90))
  end)

  it("is zero at the entry price on both sides", function()
    assert.are.equal(0, core.upnl(LONG, 3, 100, 100))
    assert.are.equal(0, core.upnl(SHORT, 3, 100, 100))
  end)

  it("refuses bad input with NaN", function()
    S.nan_for(core.upnl, { LONG, 0.5, 100, 110 }, {
      [1] = S.BAD_SIDES, [2] = S.NOT_POS, [3] = S.NOT_POS, [4] = S.NOT_POS,
    })
  end)
end)

describe("core.roe", function()
  it("is unrealized PnL over the isolated margin", function()
    -- long 0.5 @ 100, mark 110, margin 25: 5 / 25 = 0.2
    assert.are.equal(0.2, core.roe(LONG, 0.5, 100, 110, 25))
    assert.are.equal(-0.2, core.roe(SHORT, 0.5, 100, 110, 25))
    -- 10x: 1 @ 100 with margin 10; a 1% move is 10% ROE: 1 / 10 = 0.1
    assert.are.equal(0.1, core.roe(LONG, 1, 100, 101, 10))
    assert.are.equal(0.1, core.roe(SHORT, 1, 100, 99, 10))
  end)

  it("falls when margin is added (same PnL over a larger wallet)", function()
    -- 1 / 10 = 0.1 before, 1 / 20 = 0.05 after adding 10 of margin
    assert.are.equal(0.05, core.roe(LONG, 1, 100, 101, 20))
  end)

  it("refuses bad input with NaN", function()
    S.nan_for(core.roe, { LONG, 0.5, 100, 110, 25 }, {
      [1] = S.BAD_SIDES, [2] = S.NOT_POS, [3] = S.NOT_POS, [4] = S.NOT_POS,
      [5] = S.NOT_POS,
    })
  end)
end)

describe("core.price_for_roe", function()
  it("is entry + side * roe * margin / qty", function()
    -- 100 + 0.25 * 10 / 0.5 = 100 + 5 = 105; short: 100 - 5 = 95
    assert.are.equal(105, core.price_for_roe(LONG, 0.5, 100, 10, 0.25))
    assert.are.equal(95, core.price_for_roe(SHORT, 0.5, 100, 10, 0.25))
    -- a stop at a loss: roe -0.5 -> 100 - 0.5 * 10 / 0.5 = 90
    assert.are.equal(90, core.price_for_roe(LONG, 0.5, 100, 10, -0.5))
  end)

  it("gives the entry (gross breakeven) for roe 0", function()
    assert.are.equal(100, core.price_for_roe(LONG, 0.5, 100, 10, 0))
    assert.are.equal(100, core.price_for_roe(SHORT, 0.5, 100, 10, 0))
  end)

  it("round-trips through core.roe", function()
    for _, side in ipairs({ LONG, SHORT }) do
      for _, rho in ipairs({ -0.3, 0.1, 0.2, 1.7 }) do
        local px = core.price_for_roe(side, 0.37, 250, 9.25, rho)
        assert.is_near(rho, core.roe(side, 0.37, 250, px, 9.25), 1e-12)
      end
    end
  end)

  it("refuses a lock price at or below zero", function()
    -- short: 100 - roe * 10 / 0.5 = 100 - 20 * roe; roe 5 -> 0
    assert.is_nan(core.price_for_roe(SHORT, 0.5, 100, 10, 5))
    -- roe 4.75 -> 100 - 95 = 5, still a price
    assert.are.equal(5, core.price_for_roe(SHORT, 0.5, 100, 10, 4.75))
    -- long: 100 + 20 * roe; roe -5 -> 0
    assert.is_nan(core.price_for_roe(LONG, 0.5, 100, 10, -5))
  end)

  it("refuses bad input with NaN", function()
    S.nan_for(core.price_for_roe, { LONG, 0.5, 100, 10, 0.25 }, {
      [1] = S.BAD_SIDES, [2] = S.NOT_POS, [3] = S.NOT_POS, [4] = S.NOT_POS,
      [5] = S.NONFINITE,
    })
  end)
end)

describe("core.price_for_roe_net", function()
  -- 1 @ 100, margin 10, entry fee already paid 0.0004 * 100 = 0.04,
  -- exit taker fee rate 0.0004.  P = (roe*M + fees + side*Q*E) / (Q*(side - f))
  local Q, E, M, FEES, F = 1, 100, 10, 0.04, 0.0004

  local function net_pnl(side, px)
    return side * Q * (px - E) - FEES - F * Q * px
  end

  it("gives the net breakeven for roe 0", function()
    -- long: (0 + 0.04 + 100) / (1 - 0.0004) = 100.04 / 0.9996 = 100.080032...
    local long = core.price_for_roe_net(LONG, Q, E, M, FEES, F, 0)
    assert.is_near(100.04 / 0.9996, long, 1e-12)
    assert.is_near(100.0800320128, long, 1e-9)
    -- short: (0 + 0.04 - 100) / (-1 - 0.0004) = 99.96 / 1.0004 = 99.920031...
    local short = core.price_for_roe_net(SHORT, Q, E, M, FEES, F, 0)
    assert.is_near(99.9200319872, short, 1e-9)
    -- closing there leaves zero after both fees
    assert.is_near(0, net_pnl(LONG, long), 1e-9)
    assert.is_near(0, net_pnl(SHORT, short), 1e-9)
    -- and it is beyond the gross breakeven, which would lose both fees
    assert.is_true(long > E and short < E)
  end)

  it("locks the target ROE net of fees", function()
    -- long roe 0.1: (1 + 0.04 + 100) / 0.9996 = 101.080432...
    local px = core.price_for_roe_net(LONG, Q, E, M, FEES, F, 0.1)
    assert.is_near(101.0804321729, px, 1e-9)
    assert.is_near(0.1 * M, net_pnl(LONG, px), 1e-9)
    px = core.price_for_roe_net(SHORT, Q, E, M, FEES, F, 0.1)
    assert.is_near(0.1 * M, net_pnl(SHORT, px), 1e-9)
  end)

  it("equals the gross lock price without fees", function()
    -- (0.25 * 10 + 0 + 0.5 * 100) / 0.5 = 105; short (2.5 - 50) / -0.5 = 95
    assert.are.equal(105, core.price_for_roe_net(LONG, 0.5, 100, 10, 0, 0, 0.25))
    assert.are.equal(95, core.price_for_roe_net(SHORT, 0.5, 100, 10, 0, 0, 0.25))
  end)

  it("accepts an exit fee rate just under 1 and refuses 1", function()
    assert.is_not_nan(core.price_for_roe_net(LONG, Q, E, M, FEES, 0.999, 0))
    assert.is_nan(core.price_for_roe_net(LONG, Q, E, M, FEES, 1, 0))
  end)

  it("refuses bad input with NaN", function()
    S.nan_for(core.price_for_roe_net, { LONG, Q, E, M, FEES, F, 0 }, {
      [1] = S.BAD_SIDES, [2] = S.NOT_POS, [3] = S.NOT_POS, [4] = S.NOT_POS,
      [5] = S.NOT_NONNEG, [6] = { 1, 2, -0.0004, S.NAN, S.INF, -S.INF },
      [7] = S.NONFINITE,
    })
  end)
end)

describe("core.margin_ratio", function()
  -- (Q*mark*mmr - cum) / (wallet + uPnL); mmr 0.0125 keeps the hand sums exact
  it("is maintenance margin over margin balance", function()
    -- long 1 @ 100, mark 80, wallet 25: balance 25 - 20 = 5,
    -- maintenance 80 * 0.0125 = 1 -> 1 / 5 = 0.2
    assert.are.equal(0.2, core.margin_ratio(LONG, 1, 100, 80, 25, 0.0125, 0))
    -- short 1 @ 100, mark 120: balance 5, maintenance 1.5 -> 0.3
    assert.are.equal(0.3, core.margin_ratio(SHORT, 1, 100, 120, 25, 0.0125, 0))
    -- cum is subtracted: (1 - 0.5) / 5 = 0.1
    assert.are.equal(0.1, core.margin_ratio(LONG, 1, 100, 80, 25, 0.0125, 0.5))
  end)

  it("never reports a negative maintenance margin", function()
    -- 1 - 3 < 0 -> 0
    assert.are.equal(0, core.margin_ratio(LONG, 1, 100, 80, 25, 0.0125, 3))
  end)

  it("is +inf once the balance is zero or below", function()
    -- long, mark 80, wallet 20: balance 20 - 20 = 0
    assert.are.equal(S.INF, core.margin_ratio(LONG, 1, 100, 80, 20, 0.0125, 0))
    assert.are.equal(S.INF, core.margin_ratio(SHORT, 1, 100, 130, 20, 0.0125, 0))
  end)

  it("reaches 1 at the liquidation price", function()
    for _, side in ipairs({ LONG, SHORT }) do
      local lp = core.liq_price(side, 1, 100, 10, 0.005, 0)
      assert.is_near(1, core.margin_ratio(side, 1, 100, lp, 10, 0.005, 0), 1e-12)
    end
  end)

  it("refuses bad input with NaN", function()
    S.nan_for(core.margin_ratio, { LONG, 1, 100, 80, 25, 0.0125, 0 }, {
      [1] = S.BAD_SIDES, [2] = S.NOT_POS, [3] = S.NOT_POS, [4] = S.NOT_POS,
      [5] = S.NOT_POS, [6] = { 1, 1.5, -0.01, S.NAN, S.INF, -S.INF },
      [7] = S.NOT_NONNEG,
    })
  end)
end)
