-- Every escape a rule script might try, and what it meets instead.
-- These run the real sandbox (lua/s6/sandbox.lua) that the host uses.
local sandbox = require("s6.sandbox")

-- Runs `body` as a rule's top level; returns what it returned or the error.
local function run(body)
  local mod, err = sandbox.load(body, "rules/escape.lua")
  return mod, err
end

local function value_of(expr)
  local mod, err = run("return " .. expr)
  assert(err == nil or type(err) == "table", err)
  return mod
end

describe("the rule sandbox", function()
  it("hides every dangerous global", function()
    for _, name in ipairs { "io", "os", "ffi", "debug", "jit", "load",
                            "loadstring", "dofile", "loadfile", "require",
                            "setfenv", "getfenv", "collectgarbage", "rawset",
                            "module", "package", "newproxy", "coroutine" } do
      assert.is_nil(value_of(name), name .. " must not be reachable")
    end
  end)

  it("removes string.dump from the environment and from the real string table", function()
    assert.is_nil(value_of("string.dump"))
    assert.is_nil(value_of('("").dump'))
  end)

  it("does not hand out the string metatable", function()
    assert.is_false(value_of('getmetatable("")'))
  end)

  it("keeps shared tables read-only", function()
    for _, target in ipairs { "math.pi", "string.rep", "table.insert", "s6.roe", "act.stop" } do
      local mod, err = run(target .. " = nil")
      assert.is_nil(mod)
      assert.matches("read%-only", err)
    end
  end)

  it("refuses to swap a shared table's metatable", function()
    local _, err = run("setmetatable(math, {})")
    assert.matches("protected metatable", err)
    assert.is_false(value_of("getmetatable(s6)"))
  end)

  it("gives each rule its own globals", function()
    local a = assert(run("leak = 42; return { }"))
    assert.is_table(a)
    assert.is_nil(value_of("leak"))
  end)

  it("cannot reach the host's globals through _G", function()
    assert.is_nil(value_of("_G.io"))
    assert.is_nil(value_of("_G.require"))
  end)

  it("offers an xpcall whose handler runs as ordinary code", function()
    -- (a handler run inside LuaJIT's error handling would escape the deadline)
    local mod = assert(run([[
      local ok, msg = xpcall(function() error("inner", 0) end,
                             function(e) return "handled " .. e end)
      local ok2, a, b = xpcall(function(x, y) return x + y, "two" end,
                               function() return "unused" end, 1, 2)
      return { ok, msg, ok2, a, b }
    ]]))
    assert.same({ false, "handled inner", true, 3, "two" }, mod)
    assert.is_nil(value_of("newproxy"))
  end)

  it("gives every rule the host's number tests (docs/rules.md)", function()
    local got = value_of([[{
      finite(1), finite(0 / 0), finite(math.huge), finite("1"),
      positive(2), positive(0), positive(-math.huge), positive(0 / 0),
      nonneg(0), nonneg(-1), count(3), count(-1), count(0 / 0), count(nil) }]])
    assert.same({ true, false, false, false, true, false, false, false,
                  true, false, 3, 0, 0, 0 }, got)
  end)

  it("refuses precompiled bytecode", function()
    local _, err = run(string.char(27) .. "LJ\2")
    assert.matches("bytecode is refused", err)
  end)

  it("reports a syntax error with file:line", function()
    local _, err = run("local x =\n= 2")
    assert.matches("^rules/escape.lua:2:", err)
  end)

  it("reports a runtime error at load with file:line", function()
    local _, err = run("\n\nerror('nope')")
    assert.matches("^rules/escape.lua:3: nope", err)
  end)

  it("does not leak the host through primitive wrappers", function()
    -- a wrapper is a plain Lua function: no upvalues reachable without debug,
    -- and its environment cannot be read without getfenv
    assert.equals("function", value_of("type(s6.roe)"))
    assert.is_nil(value_of("getfenv"))
  end)

  it("keeps the views read-only", function()
    local views = require("s6.views")
    local pos = views.position { side = 1 }
    assert.has_error(function() pos.qty = 0 end)
    assert.has_error(function() pos.entry_quantities[1] = 5 end)
    assert.is_false(getmetatable(pos))
  end)

  it("refuses raw writes into read-only tables through the table library", function()
    -- table.insert/remove/sort write past __newindex: a rule's table
    -- library refuses the host's read-only proxies
    local views = require("s6.views")
    local pos = views.position { side = 1, qty = 2 }
    local env = sandbox.new_env()
    for _, call in ipairs {
      function() env.table.insert(pos.entry_quantities, 1, 1000) end,
      function() env.table.insert(pos, "x") end,
      function() env.table.remove(pos.entry_quantities) end,
      function() env.table.sort(pos.entry_quantities) end,
    } do
      assert.has_error(call)
    end
    assert.equals(2, pos.entry_quantities[1])
    assert.is_nil(rawget(pos.entry_quantities, 1))
    local own = {}
    env.table.insert(own, 3)
    assert.equals(3, own[1])
  end)

  it("gives each rule its own math.random", function()
    local a, b = sandbox.new_env(), sandbox.new_env()
    local first = a.math.random()
    for _ = 1, 10 do b.math.random() end   -- b moves only its own sequence
    b.math.randomseed(42)
    local c = sandbox.new_env()
    assert.equals(c.math.random(), first)   -- the same start for every rule
    assert.equals(a.math.random(), c.math.random())
    local n = a.math.random(1, 6)
    assert.is_true(n >= 1 and n <= 6 and n == math.floor(n))
  end)
end)

describe("the rule contract check", function()
  local function check(src)
    local mod, err = sandbox.load(src, "rules/x.lua")
    if not mod then return nil, err end
    return sandbox.check_contract(mod, "rules/x.lua", "x")
  end

  it("accepts a minimal rule", function()
    assert.is_true(check("return { name = 'x', triggers = { 'tick' }, evaluate = function() end }"))
  end)

  it("names what is wrong", function()
    local cases = {
      { "return 1", "must return a table" },
      { "return { triggers = {'tick'}, evaluate = function() end }", "'name'" },
      { "return { name = 'y', triggers = {'tick'}, evaluate = function() end }", "differs from the file name" },
      { "return { name = 'x', triggers = {'tick'} }", "'evaluate'" },
      { "return { name = 'x', triggers = {}, evaluate = function() end }", "'triggers'" },
      { "return { name = 'x', triggers = {'never'}, evaluate = function() end }", "triggers%[1%]" },
      { "return { name = 'x', triggers = {'tick'}, params = 3, evaluate = function() end }", "'params'" },
    }
    for _, c in ipairs(cases) do
      local ok, err = check(c[1])
      assert.is_nil(ok)
      assert.matches(c[2], err)
    end
  end)
end)
