-- Hostile: spends its whole deadline on every evaluation.
local live_only = false
return {
  name = "burn", triggers = { "tick", "price" },
  evaluate = function(pos)
    if live_only and pos.id == "pos-test" then return {} end
    local x = 0
    for i = 1, 1e15 do x = x + i % 7 end
    return {}
  end,
}
