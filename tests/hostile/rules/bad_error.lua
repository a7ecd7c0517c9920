-- Hostile: an error object whose conversion to text raises again.
local live_only = false
return {
  name = "bad_error", triggers = { "tick", "price" },
  evaluate = function(pos)
    if live_only and pos.id == "pos-test" then return {} end
    error(setmetatable({}, { __tostring = function() error("\27[2Jgotcha") end }))
  end,
}
