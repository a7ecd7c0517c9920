-- rules/atr_stop.lua: the initial ATR stop and the ATR trail from the best
-- price since entry.  Prices are written as 100 ± distance so each case
-- mirrors for the short by flipping the sign: `px(d)` is d beyond 100 in
-- the position's favour.
local kit = require("s6.testkit")

local rule = kit.load("rules/atr_stop.lua")

local function stop_of(actions) return kit.one(actions, "stop").price end

describe("atr_stop", function()
  it("passes its own self-checks", function()
    assert.is_true(kit.run_checks(rule) >= 3)
  end)

  it("defaults to k = 2 ATRs", function()
    assert.equal(2, kit.params(rule).k)
  end)

  for _, side in ipairs({ 1, -1 }) do
    local function px(d) return 100 + side * d end

    describe(side == 1 and "a long" or "a short", function()
      it("without a stop gets entry − side·k·ATR, from the entry, not the mark", function()
        local actions = kit.eval(rule, { side = side, entry = 100, mark = px(2) }, { atr = 1.5 })
        assert.equal(px(-3), stop_of(actions))
      end)

      it("takes k from its params", function()
        local actions = kit.eval(rule, { side = side, entry = 100, mark = px(1) }, { atr = 1.5 },
                                 { k = 3 })
        assert.equal(px(-4.5), stop_of(actions))
      end)

      it("gets no initial stop once the mark is already past it", function()
        local actions = kit.eval(rule, { side = side, entry = 100, mark = px(-3.5) },
                                 { atr = 1.5 })
        assert.same({}, actions)
      end)

      it("trails the best price since entry by k·ATR", function()
        local pos = { side = side, entry = 100, mark = px(5), best_price = px(6), stop = px(-3) }
        assert.equal(px(3), stop_of(kit.eval(rule, pos, { atr = 1.5 })))
      end)

      it("follows the best price, not the mark, after a pull-back", function()
        local pos = { side = side, entry = 100, mark = px(3.5), best_price = px(6), stop = px(-3) }
        assert.equal(px(3), stop_of(kit.eval(rule, pos, { atr = 1.5 })))
      end)

      it("never loosens when the ATR widens", function()
        local pos = { side = side, entry = 100, mark = px(5), best_price = px(6), stop = px(3) }
        assert.same({}, kit.eval(rule, pos, { atr = 3 }))
      end)

      it("does not trail to the mark or beyond it", function()
        local pos = { side = side, entry = 100, mark = px(2.5), best_price = px(6), stop = px(-3) }
        assert.same({}, kit.eval(rule, pos, { atr = 1.5 }))
      end)

      it("moves only by at least min_move × mark (>=), never churns", function()
        -- a mark that is a power of two makes min_move = 1/mark a threshold
        -- of exactly 1.0 of price; the trail target is best ∓ 2·2.
        local mark = side == 1 and 128 or 64
        local best, target = mark + side * 2, mark - side * 2
        local params = { min_move = 1 / mark }
        local function pos(stop)
          return { side = side, entry = 100, mark = mark, best_price = best, stop = stop }
        end
        assert.equal(target, stop_of(kit.eval(rule, pos(target - side), { atr = 2 }, params)))
        assert.same({}, kit.eval(rule, pos(target - side * 0.5), { atr = 2 }, params))
        assert.same({}, kit.eval(rule, pos(target), { atr = 2 }, { min_move = 0 }))
      end)

      it("answers ticks and price moves only", function()
        local pos = { side = side, entry = 100, mark = px(2) }
        assert.equal(1, #kit.eval(rule, pos, { atr = 1.5, trigger = "price" }))
        assert.same({}, kit.eval(rule, pos, { atr = 1.5, trigger = "fill" }))
        assert.same({}, kit.eval(rule, pos, { atr = 1.5, trigger = "signal" }))
      end)
    end)
  end

  it("keeps no state", function()
    local _, state = kit.eval(rule, { side = 1, entry = 100, mark = 101 }, { atr = 1 }, nil,
                              { note = "kept" })
    assert.same({ note = "kept" }, state)
  end)

  describe("bad input", function()
    local TRAILING = { side = 1, entry = 100, mark = 105, best_price = 106, stop = 97 }

    it("survives every bad view field: no error, nothing invalid", function()
      for _, base in ipairs({ TRAILING, { side = -1, entry = 100, mark = 99 } }) do
        assert.same({}, kit.bad_input_failures(rule, base, { atr = 1.5 }))
      end
    end)

    for _, atr in ipairs({ 0, 0 / 0, -1, math.huge }) do
      it("proposes nothing when the ATR is " .. tostring(atr), function()
        assert.same({}, kit.eval(rule, { side = 1, entry = 100, mark = 101 }, { atr = atr }))
        assert.same({}, kit.eval(rule, TRAILING, { atr = atr }))
      end)
    end

    it("proposes nothing without a best price to trail from", function()
      local pos = { side = 1, entry = 100, mark = 105, best_price = 0, stop = 97 }
      assert.same({}, kit.eval(rule, pos, { atr = 1.5 }))
    end)

    for _, params in ipairs({ { k = 0 }, { k = "two" }, { k = 0 / 0 }, { min_move = -1 } }) do
      it("proposes nothing with bad params k=" .. tostring(params.k), function()
        assert.same({}, kit.eval(rule, TRAILING, { atr = 1.5 }, params))
      end)
    end
  end)
end)
