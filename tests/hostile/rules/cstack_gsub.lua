-- Hostile: gsub whose replacement calls gsub again, until the C stack
-- overflows (a crash, not a Lua error, in LuaJIT 2.1.0-beta3).
local live_only = false
local function deeper(c) return (("xy"):gsub(".", deeper)) end
return {
  name = "cstack_gsub", triggers = { "tick", "price" },
  evaluate = function(pos)
    if live_only and pos.id == "pos-test" then return {} end
    deeper("x")
    return {}
  end,
}
