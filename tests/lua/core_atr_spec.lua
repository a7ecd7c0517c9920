-- Wilder's ATR (batch and incremental) and the ATR stops through FFI.
local core = require("s6.core")
local S = dofile("tests/lua/support.lua")
local LONG, SHORT = 1, -1

-- Six hand-made bars; their true ranges (no TR for bar 0):
--   TR1 = max(11, 9.5)  - min(9.5, 9.5)  = 1.5
--   TR2 = max(12, 10.5) - min(10, 10.5)  = 2
--   TR3 = max(11, 11.5) - min(10, 11.5)  = 1.5  (gap down: prev close above H)
--   TR4 = max(13, 10.5) - min(11, 10.5)  = 2.5  (gap up: prev close below L)
--   TR5 = max(12, 12.5) - min(11, 12.5)  = 1.5
local H = { 10, 11, 12, 11, 13, 12 }
local L = { 9, 9.5, 10, 10, 11, 11 }
local C = { 9.5, 10.5, 11.5, 10.5, 12.5, 11 }

-- TA-Lib's recurrence, written out independently of the C code.
local function reference_atr(high, low, close, p)
  local out, sum, atr = {}, 0, nil
  for i = 1, #close do
    out[i] = S.NAN
    if i > 1 then
      local tr = math.max(high[i], close[i - 1]) - math.min(low[i], close[i - 1])
      if i - 1 < p then
        sum = sum + tr
      elseif i - 1 == p then
        atr = (sum + tr) / p
      else
        atr = (atr * (p - 1) + tr) / p
      end
      if atr then out[i] = atr end
    end
  end
  return out
end

-- A deterministic random walk (a 31-bit LCG, so every run sees the same bars).
local function seeded_bars(n, seed)
  local state = seed
  local function rnd()
    state = (state * 1103515245 + 12345) % 2147483648
    return state / 2147483648
  end
  local high, low, close, px = {}, {}, {}, 30000
  for i = 1, n do
    local open = px
    px = px * (1 + (rnd() - 0.5) * 0.02)
    high[i] = math.max(open, px) * (1 + rnd() * 0.005)
    low[i] = math.min(open, px) * (1 - rnd() * 0.005)
    close[i] = px
  end
  return high, low, close
end

describe("core.atr", function()
  it("matches the hand-worked values", function()
    local atr = assert(core.atr(H, L, C, 3))
    assert.are.equal(6, #atr)
    for i = 1, 3 do assert.is_nan(atr[i]) end        -- out[0..p-1]
    -- ATR[3] = (1.5 + 2 + 1.5) / 3 = 5/3
    assert.are.equal(5 / 3, atr[4])
    -- ATR[4] = (5/3 * 2 + 2.5) / 3 = 35/18 = 1.9444...
    assert.are.equal((5 / 3 * 2 + 2.5) / 3, atr[5])
    assert.is_near(35 / 18, atr[5], 1e-15)
    -- ATR[5] = (35/18 * 2 + 1.5) / 3 = 97/54 = 1.7962...
    assert.is_near(97 / 54, atr[6], 1e-15)
  end)

  it("with period 1 is the true range itself", function()
    local atr = assert(core.atr(H, L, C, 1))
    assert.is_nan(atr[1])
    assert.are.same({ 1.5, 2, 1.5, 2.5, 1.5 }, { unpack(atr, 2, 6) })
  end)

  it("needs period + 1 bars exactly", function()
    -- period 5 over 6 bars: ATR[5] = (1.5 + 2 + 1.5 + 2.5 + 1.5) / 5 = 1.8
    local atr = assert(core.atr(H, L, C, 5))
    assert.are.equal(1.8, atr[6])
    local r, msg = core.atr(H, L, C, 6)
    assert.is_nil(r)
    assert.are.equal("series too short for the period", msg)
    r, msg = core.atr({}, {}, {}, 1)
    assert.is_nil(r)
    assert.are.equal("series too short for the period", msg)
  end)

  it("agrees with TA-Lib's recurrence on a long seeded series", function()
    local high, low, close = seeded_bars(5000, 20240607)
    for _, p in ipairs({ 1, 14, 100 }) do
      local atr = assert(core.atr(high, low, close, p))
      local ref = reference_atr(high, low, close, p)
      for i = 1, #close do
        if i <= p then
          assert.is_nan(atr[i])
        elseif atr[i] ~= ref[i] then
          error(string.format("period %d bar %d: %.17g ~= %.17g", p, i,
                              atr[i], ref[i]))
        end
      end
    end
  end)

  it("refuses a bad period", function()
    S.error_for(core.atr, { H, L, C, 3 }, {
      [4] = { 0, -1, 1.5, S.NAN, S.INF, -S.INF, 2 ^ 32 + 3 },
    })
  end)

  it("refuses bad bars and bad arrays", function()
    local function with(t, i, v)
      local copy = { unpack(t) }
      copy[i] = v
      return copy
    end
    S.error_for(core.atr, { H, L, C, 3 }, {
      [1] = { with(H, 2, S.NAN), with(H, 6, S.INF), with(H, 1, 0),
              with(H, 3, 9.9), -- high below low (10)
              with(H, 4, "11"), { 10, 11 }, "high", 7 },
      [2] = { with(L, 1, -S.INF), with(L, 5, -1), with(L, 2, 0),
              with(L, 2, true), { unpack(L, 1, 5) } },
      [3] = { with(C, 3, S.NAN), with(C, 6, 0), with(C, 1, -9.5) },
    })
  end)
end)

describe("core.atr_new", function()
  it("warms up for period bars, then equals batch ATR bit for bit", function()
    local high, low, close = seeded_bars(5000, 7)
    local p = 14
    local batch = assert(core.atr(high, low, close, p))
    local inc = assert(core.atr_new(p))
    for i = 1, #close do
      local v, msg = inc:push(high[i], low[i], close[i])
      if i <= p then
        assert.is_nil(v)
        assert.are.equal("indicator not warmed up", msg)
      elseif v ~= batch[i] then
        error(string.format("bar %d: %.17g ~= %.17g", i, v, batch[i]))
      end
    end
  end)

  it("skips a refused bar without disturbing the state", function()
    local inc = assert(core.atr_new(3))
    for i = 1, 4 do inc:push(H[i], L[i], C[i]) end
    for _, bar in ipairs({ { S.NAN, 11, 12.5 }, { 13, 11, S.INF },
                           { 13, 14, 12.5 }, { 13, 11, 0 }, { 13, -1, 12 } }) do
      local v, msg = inc:push(bar[1], bar[2], bar[3])
      assert.is_nil(v)
      assert.are.equal("invalid argument", msg)
    end
    -- the next good bars continue the hand-worked series
    assert.are.equal((5 / 3 * 2 + 2.5) / 3, inc:push(H[5], L[5], C[5]))
    assert.is_near(97 / 54, inc:push(H[6], L[6], C[6]), 1e-15)
  end)

  it("with period 1 is ready from the second bar", function()
    local inc = assert(core.atr_new(1))
    assert.is_nil(inc:push(H[1], L[1], C[1]))
    assert.are.equal(1.5, inc:push(H[2], L[2], C[2]))
  end)

  it("refuses a bad period", function()
    S.error_for(core.atr_new, { 14 }, {
      [1] = { 0, -1, 1.5, S.NAN, S.INF, -S.INF, 2 ^ 32 + 14 },
    })
  end)
end)

describe("core.atr_stop", function()
  it("is entry - side * k * ATR", function()
    -- 100 - 1.5 * 2 = 97; short 100 + 3 = 103
    assert.are.equal(97, core.atr_stop(LONG, 100, 2, 1.5))
    assert.are.equal(103, core.atr_stop(SHORT, 100, 2, 1.5))
  end)

  it("refuses a stop at or below zero", function()
    -- 3 - 1.5 * 2 = 0; 3.5 - 3 = 0.5
    assert.is_nan(core.atr_stop(LONG, 3, 2, 1.5))
    assert.are.equal(0.5, core.atr_stop(LONG, 3.5, 2, 1.5))
  end)

  it("refuses bad input with NaN", function()
    S.nan_for(core.atr_stop, { LONG, 100, 2, 1.5 }, {
      [1] = S.BAD_SIDES, [2] = S.NOT_POS, [3] = S.NOT_POS, [4] = S.NOT_POS,
    })
  end)
end)

describe("core.atr_trail", function()
  it("starts from the extreme when there is no stop yet (prev 0)", function()
    -- long: 110 - 1.5 * 2 = 107; short: 90 + 3 = 93
    assert.are.equal(107, core.atr_trail(LONG, 0, 110, 2, 1.5))
    assert.are.equal(93, core.atr_trail(SHORT, 0, 90, 2, 1.5))
  end)

  it("tightens and never loosens", function()
    assert.are.equal(107, core.atr_trail(LONG, 105, 110, 2, 1.5))
    assert.are.equal(108, core.atr_trail(LONG, 108, 110, 2, 1.5))
    assert.are.equal(107, core.atr_trail(LONG, 107, 110, 2, 1.5))
    assert.are.equal(93, core.atr_trail(SHORT, 95, 90, 2, 1.5))
    assert.are.equal(92, core.atr_trail(SHORT, 92, 90, 2, 1.5))
  end)

  it("keeps the old stop when the candidate is not a price", function()
    -- long: 2 - 1.5 * 2 = -1
    assert.are.equal(1.25, core.atr_trail(LONG, 1.25, 2, 2, 1.5))
    assert.is_nan(core.atr_trail(LONG, 0, 2, 2, 1.5))
  end)

  it("refuses bad input with NaN", function()
    S.nan_for(core.atr_trail, { LONG, 105, 110, 2, 1.5 }, {
      [1] = S.BAD_SIDES, [2] = S.NOT_NONNEG, [3] = S.NOT_POS,
      [4] = S.NOT_POS, [5] = S.NOT_POS,
    })
  end)
end)
