-- rules/hedge.lua: a SPOT book with a target net exposure E* gets the
-- futures quantity Δ = E*/P − Q_spot − Q_fut, outside a deadband of
-- max(deadband·|E*|, min_quote) in quote.
--
-- The book: 2 BTC spot at P = 50,000 (100,000 of exposure), E* = 50,000
-- unless a case says otherwise; the default deadband is 5% of |E*| = 2,500
-- (0.05 BTC at this price).
local kit = require("s6.testkit")

local rule = kit.load("rules/hedge.lua")

local P = 50000

local function book(over)
  return kit.with({ market = "SPOT", side = 1, qty = 2, entry = P, margin = 2 * P,
                    hedge_qty = 0, target_exposure = 50000 }, over)
end

local function eval(over, mkt, params)
  return kit.eval(rule, book(over), kit.with({ mark = P }, mkt), params)
end

local function hedged(actions) return kit.one(actions, "hedge") end

describe("hedge", function()
  it("passes its own self-checks", function()
    assert.is_true(kit.run_checks(rule) >= 4)
  end)

  it("defaults to a 5% deadband and a 10-quote floor", function()
    assert.same({ deadband = 0.05, min_quote = 10 }, kit.params(rule))
  end)

  it("answers tick, price and fill, not signals", function()
    assert.same({ "tick", "price", "fill" }, rule.triggers)
    for _, t in ipairs({ "tick", "price", "fill" }) do
      hedged(eval({}, { trigger = t }))
    end
    assert.same({}, eval({}, { trigger = "signal" }))
  end)

  describe("the quantity", function()
    it("sells futures down to the target, with a reason", function()
      local a = hedged(eval())
      assert.are.equal(-1, a.qty)
      assert.matches("sell 1 futures", a.reason)
      assert.matches("target 50000.00", a.reason)
    end)

    it("counts the futures already held", function()
      assert.are.equal(-0.5, hedged(eval({ hedge_qty = -0.5 })).qty)
    end)

    it("buys back when the book is over-hedged", function()
      local a = hedged(eval({ qty = 1, hedge_qty = -1 }))
      assert.are.equal(1, a.qty)
      assert.matches("buy 1 futures", a.reason)
    end)

    it("goes short futures for a negative target", function()
      assert.are.equal(-3, hedged(eval({ target_exposure = -50000 })).qty)
    end)

    it("hedges the book flat for a target of 0", function()
      assert.are.equal(-2, hedged(eval({ target_exposure = 0 })).qty)
    end)

    it("follows the mark: the same book at a higher price sells more", function()
      assert.are.equal(-1.5, hedged(eval({}, { mark = 100000 })).qty)
    end)

    it("agrees with s6.hedge_fut_qty", function()
      local core = require("s6.core")
      local want = core.hedge_fut_qty(2, -0.25, 48000, 50000)
      assert.are.equal(want, hedged(eval({ hedge_qty = -0.25 }, { mark = 48000 })).qty)
    end)
  end)

  describe("the deadband", function()
    -- a gap of exactly 2,500 (0.05 BTC) trades; just under it does not
    it("trades at the band and not inside it", function()
      hedged(eval({ hedge_qty = -0.95 }))
      assert.same({}, eval({ hedge_qty = -0.951 }))
      assert.same({}, eval({ hedge_qty = -1.04 }))
      hedged(eval({ hedge_qty = -1.05 }))
    end)

    it("uses min_quote when it is the larger (E* = 0)", function()
      -- 1e-4 BTC is 5 quote, under the 10 floor; 3e-4 is 15
      assert.same({}, eval({ target_exposure = 0, hedge_qty = -1.9999 }))
      hedged(eval({ target_exposure = 0, hedge_qty = -1.9997 }))
    end)

    it("takes its width from params", function()
      assert.same({}, eval({ hedge_qty = -0.5 }, nil, { deadband = 0.6 }))
      hedged(eval({ hedge_qty = -0.5 }, nil, { deadband = 0.4 }))
      -- a gap of 5,000: over the 2,500 band, under a 6,000 floor
      hedged(eval({ hedge_qty = -0.9 }))
      assert.same({}, eval({ hedge_qty = -0.9 }, nil, { min_quote = 6000 }))
    end)

    it("proposes nothing when the book is on target", function()
      assert.same({}, eval({ hedge_qty = -1 }))
    end)
  end)

  describe("what it leaves alone", function()
    it("a FUT position, even with a target", function()
      assert.same({}, eval({ market = "FUT" }))
    end)

    it("a symbol without a target (NaN, the host's 'none')", function()
      assert.same({}, eval({ target_exposure = 0 / 0 }))
      assert.same({}, kit.eval(rule, { market = "SPOT", qty = 2, entry = P }, { mark = P }))
    end)

    it("a spot position that is not long", function()
      assert.same({}, eval({ side = -1 }))
    end)

    it("keeps no state", function()
      local _, state = eval()
      assert.same({}, state)
    end)
  end)

  describe("bad input", function()
    it("survives every bad view field: no error, nothing invalid", function()
      assert.same({}, kit.bad_input_failures(rule, book(), { mark = P }))
      assert.same({}, kit.bad_input_failures(rule, book({ hedge_qty = -0.4 }), { mark = P }))
    end)

    local BAD_PARAMS = {
      { deadband = -0.05 }, { deadband = "5%" }, { deadband = 0 / 0 },
      { min_quote = -1 }, { min_quote = math.huge }, { min_quote = "10" },
    }
    for i, params in ipairs(BAD_PARAMS) do
      it("proposes nothing with bad params #" .. i, function()
        assert.same({}, eval({}, nil, params))
      end)
    end
  end)
end)
