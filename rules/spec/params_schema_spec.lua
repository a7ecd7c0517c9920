-- Parameter schemas (lua/s6/schema.lua): every shipped rule declares the
-- type and range of each parameter beside its defaults, and an override
-- the schema does not allow is refused with its path in the config file.
local kit = require("s6.testkit")
local schema = require("s6.schema")
local cjson = require("cjson")

local SHIPPED = { "add_on", "atr_stop", "hedge", "stagnation", "tp_ladder", "trailing_stop" }

local function load(name) return kit.load("rules/" .. name .. ".lua") end

local function spec_of(name)
  local r = load(name)
  return schema.of_rule(r, r.name), r
end

local function refusal(name, over, at)
  return schema.check(spec_of(name), over, at or ("rules.params." .. name .. ".base"), name)
end

local function read_config()
  local f = assert(io.open("config/s6.json", "rb"))
  local doc = cjson.decode(f:read("*a"))
  f:close()
  return doc
end

describe("parameter schemas", function()
  it("every shipped rule declares one that its defaults satisfy", function()
    for _, name in ipairs(SHIPPED) do
      local spec, r = spec_of(name)
      assert.is_not_nil(spec, name)
      assert.is_nil(schema.check(spec, r.params, "params"), name)
    end
  end)

  it("the shipped config/s6.json's overrides pass them", function()
    for name, over in pairs(read_config().rules.params) do
      assert.is_nil(refusal(name, over.base), name)
    end
  end)

  describe("refuse, naming the path", function()
    local cases = {
      { "trailing_stop", { min_mvoe = 0.001 },
        "rules.params.trailing_stop.base.min_mvoe: unknown parameter (expected one of min_move, steps)" },
      { "trailing_stop", { min_move = 0.5 },
        "rules.params.trailing_stop.base.min_move: must be a number in [0, 0.1] (got 0.5)" },
      { "trailing_stop", { steps = { { roe = 0.1, lock_roe = 0 }, { roe = 0.2 } } },
        "rules.params.trailing_stop.base.steps[2].lock_roe: missing (each item must set it)" },
      { "trailing_stop", { steps = { { roe = "0.1", lock_roe = 0 } } },
        "rules.params.trailing_stop.base.steps[1].roe: must be a finite number (got '0.1')" },
      { "trailing_stop", { steps = { roe = 0.1 } },
        "rules.params.trailing_stop.base.steps: must be a list (got a table)" },
      { "tp_ladder", { steps = { { roe = 0.12, entry = 1.5 } } },
        "rules.params.tp_ladder.base.steps[1].entry: must be an integer (got 1.5)" },
      { "tp_ladder", { steps = { { roe = 0.12, fractoin = 0.5 } } },
        "rules.params.tp_ladder.base.steps[1].fractoin: unknown parameter (expected one of entry, fraction, roe)" },
      { "add_on", { gamma = 1 },
        "rules.params.add_on.base.gamma: must be a number in (0, 1) (got 1)" },
      { "add_on", { cap = 2.5 }, "rules.params.add_on.base.cap: must be an integer (got 2.5)" },
      { "add_on", { thresholds = { 0.05, -0.1 } },
        "rules.params.add_on.base.thresholds[2]: must be a number in [0, 10] (got -0.1)" },
      { "atr_stop", { k = 0 }, "rules.params.atr_stop.base.k: must be a number in (0, 100] (got 0)" },
      { "stagnation", { roe_min = cjson.null },
        "rules.params.stagnation.base.roe_min: must be a finite number (got null)" },
    }
    for _, c in ipairs(cases) do
      it(c[3], function() assert.equal(c[3], refusal(c[1], c[2])) end)
    end

    it("in a regime's values too", function()
      assert.equal("rules.params.atr_stop.regimes.volatile.kk: unknown parameter (expected one of k, min_move)",
                   refusal("atr_stop", { kk = 3 }, "rules.params.atr_stop.regimes.volatile"))
    end)
  end)

  it("kit.params refuses what the host would", function()
    local ok, err = pcall(kit.params, load("atr_stop"), { k = -2 })
    assert.is_false(ok)
    assert.matches("params.k: must be a number in %(0, 100%] %(got %-2%)", err)
    assert.equal(3, kit.params(load("atr_stop"), { k = 3 }).k)
  end)

  it("a rule without a schema takes no overrides", function()
    local r = kit.load_string([[
      local rule = { name = "bare", triggers = { "tick" }, params = { x = 1 } }
      function rule.evaluate() return nil end
      return rule]], "spec/bare.lua")
    assert.equal("rules.params.bare.base.x: bare declares no parameter schema (rule.schema), "
                 .. "so nothing of it can be set",
                 schema.check(schema.of_rule(r, "spec/bare.lua"), { x = 2 }, "rules.params.bare.base", "bare"))
  end)

  it("a schema the defaults break is refused when the rule loads", function()
    local src = [[
      local rule = { name = "r", triggers = { "tick" }, params = { k = 5 },
                     schema = { k = "number in [0, 1]" } }
      function rule.evaluate() return nil end
      return rule]]
    local ok, err = pcall(kit.load_string, src, "spec/r.lua")
    assert.is_false(ok)
    assert.equal("spec/r.lua: params.k: must be a number in [0, 1] (got 5) (the defaults disagree with the schema)", err)
    ok, err = pcall(kit.load_string, src:gsub("number in %[0, 1%]", "numbr"), "spec/r.lua")
    assert.is_false(ok)
    assert.matches("^spec/r.lua: schema.k: cannot read the spec 'numbr'", err)
  end)

  describe("set_path (the replay's sweeps)", function()
    it("sets a list item's field, 1-based", function()
      local spec, r = spec_of("trailing_stop")
      local p = kit.params(r)
      assert.is_nil(schema.set_path(spec, p, "steps[1].roe", 0.08, "trailing_stop.steps[1].roe"))
      assert.same({ roe = 0.08, lock_roe = 0 }, p.steps[1])
      assert.equal(0.2, p.steps[2].roe)
    end)

    it("refuses an unknown name, a missing item and a bad value", function()
      local spec, r = spec_of("trailing_stop")
      local p = kit.params(r)
      assert.equal("trailing_stop.steps[3].roe: no item 3 (the list has 2)",
                   schema.set_path(spec, p, "steps[3].roe", 0.3, "trailing_stop.steps[3].roe"))
      assert.equal("trailing_stop.step[1].roe: unknown parameter",
                   schema.set_path(spec, p, "step[1].roe", 0.3, "trailing_stop.step[1].roe"))
      assert.equal("trailing_stop.min_move: must be a number in [0, 0.1] (got 2)",
                   schema.set_path(spec, p, "min_move", 2, "trailing_stop.min_move"))
    end)
  end)
end)
