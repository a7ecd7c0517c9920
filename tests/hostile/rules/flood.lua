-- Hostile: 5,000 proposals for one position (400,000 only overrun the
-- deadline).
local live_only = false
return {
  name = "flood", triggers = { "tick", "price" },
  evaluate = function(pos)
    if live_only and pos.id == "pos-test" then return {} end
    local out = {}
    for i = 1, 5000 do out[i] = act.event("FLOOD", "x") end
    return out
  end,
}
