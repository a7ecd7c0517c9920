-- A rule-like workload for the deadline benchmark (docs/sandbox-deadline.md).
-- Synthetic, seeded data: positions held in Lua tables, four small rules in
-- the spirit of the shipped ones (ROE lock-in stop, ATR trailing stop,
-- take-profit ladder, stagnation), each doing plain arithmetic and a few
-- table lookups and proposing action tables. A trusted loop evaluates a batch
-- with reused market views and applies what the rules propose, so steps fire
-- once; 1 % of the positions are replaced by fresh ones every batch, which
-- keeps a steady trickle of actions.
local M = {}

local N_SYMBOLS = 50
local CHURN = 0.01

M.params = {
  taker_fee = 0.0005,
  min_step = 0.001, -- a stop moves only if it improves by 0.1 % of the mark
  lock_steps = { { roe = 0.10, lock = 0.0 }, { roe = 0.20, lock = 0.10 } },
  ladder = { { roe = 0.12, fraction = 0.5 }, { roe = 0.25, fraction = 0.5 } },
  atr_k = 3,
  stagnation_s = 3600,
  stagnation_roe = 0.02,
}

local function roe_of(p, mark)
  return p.side * p.qty * (mark - p.entry) / p.margin
end

-- Where closing (paying the exit's taker fee) leaves `lock` ROE after the
-- fees already paid.
local function lock_price(p, lock, fee)
  local side, qty = p.side, p.qty
  local need = lock * p.margin + p.fees_paid
  return (p.entry * qty + side * need) / (qty * (1 - side * fee))
end

local function trailing_stop(p, m, params, st)
  local roe = roe_of(p, m.mark)
  local steps = params.lock_steps
  for k = #steps, st.lock_step + 1, -1 do
    local s = steps[k]
    if roe >= s.roe then
      local px = lock_price(p, s.lock, params.taker_fee)
      if p.side * (px - p.stop) > params.min_step * m.mark then
        return { kind = "move_stop", price = px, lock_step = k }
      end
      return nil
    end
  end
  return nil
end

local function atr_stop(p, m, params, st)
  local side, mark = p.side, m.mark
  if side * (mark - st.best) > 0 then st.best = mark end
  local px = st.best - side * params.atr_k * m.atr
  if side * (px - p.stop) > params.min_step * mark and side * (mark - px) > 0 then
    return { kind = "move_stop", price = px }
  end
  return nil
end

local function tp_ladder(p, m, params, st)
  local rung = params.ladder[st.ladder_step + 1]
  if rung and roe_of(p, m.mark) >= rung.roe then
    return { kind = "reduce", qty = p.qty * rung.fraction,
             ladder_step = st.ladder_step + 1 }
  end
  return nil
end

local function stagnation(p, m, params, st)
  local stale = m.now - p.opened_at > params.stagnation_s
    and math.abs(roe_of(p, m.mark)) < params.stagnation_roe
  if stale and not st.stagnated then
    return { kind = "event", name = "STAGNATED", stagnated = true }
  end
  if not stale then st.stagnated = false end
  return nil
end

M.rules = { trailing_stop, atr_stop, tp_ladder, stagnation }

local function open_position(marks, now)
  local sym = math.random(N_SYMBOLS)
  local side = math.random() < 0.5 and -1 or 1
  local mark = marks[sym].mark
  local entry = mark * (1 + 0.04 * (math.random() - 0.5))
  local qty = 1000 / entry
  local p = {
    sym = sym, side = side, qty = qty, entry = entry, leverage = 10,
    margin = qty * entry / 10, fees_paid = qty * entry * 0.0005,
    stop = entry * (1 - side * 0.05), opened_at = now - 7200 * math.random(),
  }
  return p, { lock_step = 0, ladder_step = 0, best = entry, stagnated = false }
end

function M.new_book(n, seed)
  math.randomseed(seed)
  local marks = {}
  for s = 1, N_SYMBOLS do
    local mark = 10 + 990 * math.random()
    marks[s] = { mark = mark, atr = mark * 0.01, now = 0 }
  end
  local pos, state = {}, {}
  for i = 1, n do pos[i], state[i] = open_position(marks, 0) end
  return { pos = pos, state = state, marks = marks, now = 0, actions = 0 }
end

-- What the host does with a valid action, reduced to its effect on the book.
local function apply(p, st, a)
  if a.kind == "move_stop" then
    p.stop = a.price
    st.lock_step = a.lock_step or st.lock_step
  elseif a.kind == "reduce" then
    p.qty = p.qty - a.qty
    p.margin = p.margin * (1 - a.qty / (p.qty + a.qty))
    st.ladder_step = a.ladder_step
  else
    st.stagnated = a.stagnated
  end
end

local function next_tick(book)
  book.now = book.now + 1
  for s = 1, #book.marks do
    local m = book.marks[s]
    m.mark = m.mark * (1 + 0.004 * (math.random() - 0.5))
    m.now = book.now
  end
  local pos, state = book.pos, book.state
  for _ = 1, math.floor(#pos * CHURN) do
    local i = math.random(#pos)
    pos[i], state[i] = open_position(book.marks, book.now)
  end
end

-- The trusted host loop: one call evaluates the whole batch with every rule.
function M.batch(book, rules, params)
  next_tick(book)
  local pos, state, marks = book.pos, book.state, book.marks
  local proposed = 0
  for i = 1, #pos do
    local p, st = pos[i], state[i]
    local m = marks[p.sym]
    for r = 1, #rules do
      local a = rules[r](p, m, params, st)
      if a then
        apply(p, st, a)
        proposed = proposed + 1
      end
    end
  end
  book.actions = book.actions + proposed
  return proposed
end

-- Option (b): rules (or the demo loop) never compiled, always interpreted.
function M.jit_off(what)
  local fns = what == "rules" and M.rules or { M[what] }
  for _, fn in ipairs(fns) do jit.off(fn, true) end
end

-- A loop that ends by itself after a few hundred milliseconds when compiled:
-- how late a deadline stops it shows whether hooks reach compiled traces.
function M.long_loop()
  local n = 0
  for i = 1, 4e8 do n = n + i % 3 end
  return n
end

return M
