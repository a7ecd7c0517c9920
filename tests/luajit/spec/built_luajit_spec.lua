-- busted itself runs on the LuaJIT the build made (ctest passes its path in
-- S6_LUAJIT_EXE), and Debian's lua-cjson loads into it.
local function interpreter()
  local f = assert(io.open("/proc/self/cmdline", "rb"))
  local cmdline = f:read("*a")
  f:close()
  return cmdline:match("^[^%z]+")
end

describe("the built luajit", function()
  it("is the interpreter running this spec", function()
    local want = os.getenv("S6_LUAJIT_EXE")
    assert.is_string(want)
    assert.are.equal(want, interpreter())
  end)

  it("loads lua-cjson from Debian's module path", function()
    local cjson = require("cjson")
    assert.are.same({ side = -1, qty = 0.25 }, cjson.decode('{"side":-1,"qty":0.25}'))
    assert.matches("cjson%.so$", package.searchpath("cjson", package.cpath))
  end)

  it("compiles traces", function()
    assert.is_true((jit.status()))
  end)
end)
