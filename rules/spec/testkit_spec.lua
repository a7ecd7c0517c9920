-- lua/s6/testkit.lua: the kit the rule specs stand on, and the self-check
-- runner the host uses before a rule version goes live.  Each failure it
-- must report is provoked with a small inline rule.
local kit = require("s6.testkit")

local TEMPLATE = [[
local rule = { name = "r", triggers = { %s },
               params = { steps = { 1, 2 }, limits = { lo = 1, hi = 2 } }, schema = { steps = { list = "integer in [0, 99]" }, limits = { lo = "number", hi = "number" } } }
function rule.evaluate(pos, mkt, params, state)
%s
end
%s
return rule
]]

-- A rule "r" whose evaluate body, triggers and extra lines are given.
local function rule(body, triggers, extra)
  return kit.load_string(TEMPLATE:format(triggers or '"tick"', body, extra or ""), "spec/r.lua")
end

local function raises(pattern, fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok)
  assert.matches(pattern, tostring(err))
end

describe("testkit", function()
  describe("load", function()
    it("reports a syntax error with file:line", function()
      raises("^spec/r%.lua:2: ", kit.load_string, "local x = {\nreturn x", "spec/r.lua")
    end)

    it("refuses bytecode", function()
      raises("bytecode", kit.load_string, "\27LJ\2junk", "spec/r.lua")
    end)

    it("checks the contract: the name must be the file's", function()
      raises("differs from the file name 'other'", kit.load_string,
             TEMPLATE:format('"tick"', "return nil", ""), "spec/other.lua")
    end)

    it("reports a missing file", function()
      raises("no_such_rule", kit.load, "rules/no_such_rule.lua")
    end)

    it("gives the rule no way out of its sandbox", function()
      local r = rule("return { act.event(type(io) .. type(os) .. type(require), 'x') }")
      assert.equal("nilnilnil", kit.eval(r, {}, {})[1].name)
    end)
  end)

  describe("views", function()
    it("share one mark between position and market", function()
      local pos, mkt = kit.scene({ side = -1, entry = 100, qty = 2, margin = 20 }, { mark = 90 })
      assert.equal(90, mkt.mark)
      assert.equal(1, pos.roe) -- (100 − 90)·2 / 20
      assert.equal(90, pos.best_price)
    end)

    it("take last and mid from the mark unless given", function()
      local mkt = kit.market { mark = 90, mid = 90.5 }
      assert.same({ 90, 90.5 }, { mkt.last, mkt.mid })
    end)

    it("are read-only", function()
      raises("read%-only", function() kit.position({}).qty = 5 end)
    end)
  end)

  describe("params", function()
    local r = rule("return nil")

    it("merge maps key by key and replace lists whole", function()
      local p = kit.params(r, { steps = { 9 }, limits = { hi = 5 } })
      assert.same({ steps = { 9 }, limits = { lo = 1, hi = 5 } }, p)
    end)

    it("never hand out the rule's own defaults", function()
      kit.params(r).steps[1] = 99
      assert.same({ 1, 2 }, kit.params(r).steps)
    end)
  end)

  describe("eval", function()
    it("returns an empty list for nil and keeps the state", function()
      local actions, state = kit.eval(rule("return nil"), {}, {}, nil, { n = 1 })
      assert.same({}, actions)
      assert.same({ n = 1 }, state)
    end)

    it("does not call a rule for a trigger it does not answer", function()
      local r = rule("error('called')", '"fill"')
      assert.same({}, kit.eval(r, {}, { trigger = "tick" }))
      raises("called", kit.eval, r, {}, {}) -- default: the rule's first trigger
    end)

    local ERRORS = {
      { "a list of actions or nil", "return 'stop'" },
      { "not made by an act constructor", "return { { type = 'moon' } }" },
      { "invalid proposal.*protective side", "return { act.stop(mkt.mark + 1) }" },
      { "invalid proposal.*tighten", "return { act.stop(90) }", { stop = 95 } },
      { "invalid proposal.*remaining", "return { act.reduce(pos.qty * 2) }" },
      { "invalid proposal.*fraction", "return { act.reduce_fraction(0) }" },
      { "invalid proposal.*finite", "return { act.add(0 / 0) }" },
      { "invalid proposal.*name", "return { act.event('') }" },
      { "changed its params", "params.limits.lo = 0" },
      { "changed its state in place", "state.n = 2" },
      { "plain%-data", "return nil, { f = tostring }" },
      { "plain%-data", "return nil, { x = 0 / 0 }" },
    }
    for _, e in ipairs(ERRORS) do
      it("raises on `" .. e[2] .. "`", function()
        local pos = { side = 1, mark = 100 }
        for k, v in pairs(e[3] or {}) do pos[k] = v end
        raises(e[1], kit.eval, rule(e[2]), pos, {}, nil, { n = 1 })
      end)
    end

    it("accepts a state returned after changing it", function()
      local _, state = kit.eval(rule("state.n = state.n + 1; return nil, state"), {}, {}, nil,
                                { n = 1 })
      assert.same({ n = 2 }, state)
    end)

    it("refuses a view mixed with a plain table", function()
      raises("both as views", kit.eval, rule("return nil"), kit.position {}, {})
    end)
  end)

  describe("find", function()
    local actions = { { type = "stop", price = 1 }, { type = "event", name = "A" },
                      { type = "event", name = "B" } }

    it("returns the first action of a type, or of a type and name", function()
      assert.equal(1, kit.find(actions, "stop").price)
      assert.equal("A", kit.find(actions, "event").name)
      assert.equal("B", kit.find(actions, "event", "B").name)
      assert.is_nil(kit.find(actions, "add"))
    end)

    it("lists every action of a type", function()
      assert.equal(2, #kit.find_all(actions, "event"))
    end)

    it("takes the one action of a type, and raises unless it is alone", function()
      assert.equal(1, kit.one({ actions[1] }, "stop").price)
      assert.equal("B", kit.one({ actions[3] }, "event", "B").name)
      raises("expected one stop action, got {stop, event A, event B}", kit.one, actions, "stop")
      raises("expected one event A action, got {event B}", kit.one, { actions[3] }, "event", "A")
      raises("got {}", kit.one, {}, "add")
    end)
  end)

  it("varies a base table without touching it", function()
    local base = { side = 1, entries = { 1 } }
    local t = kit.with(base, { side = -1, mark = 90 })
    assert.same({ side = -1, entries = { 1 }, mark = 90 }, t)
    t.entries[1] = 5
    assert.same({ side = 1, entries = { 1 } }, base)
  end)

  it("lists the bad inputs a rule does not survive", function()
    local fragile = rule("if pos.qty ~= pos.qty then error('NaN qty') end")
    local failures = kit.bad_input_failures(fragile, { side = 1 }, {})
    assert.equal(1, #failures)
    assert.matches("^pos%.qty = %-?nan: .*NaN qty", failures[1])
    assert.same({}, kit.bad_input_failures(rule("return nil"), { side = 1 }, {}))
  end)

  it("persists state through JSON, as the host stores it", function()
    assert.same({ step = 2, seen = { 1, 2 } }, kit.persist({ step = 2, seen = { 1, 2 } }))
    raises("plain data", kit.persist, { f = print })
  end)

  it("makes one bad case per view field and bad number, plus bad entries", function()
    local n = 0
    for _ in pairs(require("s6.views").POS_FIELDS) do n = n + 1 end
    for _ in pairs(require("s6.views").MKT_FIELDS) do n = n + 1 end
    local cases = kit.bad_inputs({ side = 1 }, {})
    assert.equal(n * 5 + 4, #cases)
    assert.equal(1, cases[1].pos.side == 1 and 1 or 0) -- the base survives where not varied
  end)

  describe("run_checks", function()
    local function with_checks(checks)
      return rule("if pos.roe > 0 then return { act.event('UP') } end", nil,
                  "rule.checks = " .. checks)
    end

    it("counts the checks it ran", function()
      local r = with_checks([[{
        { name = "up", pos = { mark = 101 }, expect = function(a) assert(#a == 1) end },
        { name = "flat", pos = { mark = 100 }, expect = function(a) assert(#a == 0) end } }]])
      assert.equal(2, kit.run_checks(r))
      assert.equal(0, kit.run_checks(rule("return nil")))
    end)

    it("names the rule, the check and the failing line", function()
      local r = with_checks([[{
        { name = "wrong", pos = { mark = 101 },
          expect = function(a)
            assert(#a == 0)
          end } }]])
      raises("^r: self%-check 'wrong': spec/r%.lua:9: assertion failed!$", kit.run_checks, r)
    end)

    it("fails a check whose proposal the host would refuse", function()
      local r = rule("return { act.stop(mkt.mark * 2) }", nil,
                     "rule.checks = { { name = 'bad', expect = function() end } }")
      raises("^r: self%-check 'bad': r: invalid proposal: .*protective side", kit.run_checks, r)
    end)

    it("fails a check without an expect function", function()
      local r = rule("return nil", nil, "rule.checks = { { name = 'empty' } }")
      raises("'empty': a check needs an expect function", kit.run_checks, r)
    end)

    it("passes params overrides and state to the rule", function()
      local r = rule("return { act.event(tostring(params.limits.lo + state.n)) }", nil, [[
        rule.checks = { { params = { limits = { lo = 10 } }, state = { n = 5 },
                          expect = function(a) assert(a[1].name == "15") end } }]])
      assert.equal(1, kit.run_checks(r))
    end)
  end)
end)
