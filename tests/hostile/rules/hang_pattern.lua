-- Hostile: a pattern that backtracks for ever inside C, where the
-- instruction hook never fires.  Only the worker's wall-clock limit ends it.
local live_only = false
return {
  name = "hang_pattern", triggers = { "tick", "price" },
  evaluate = function(pos)
    if live_only and pos.id == "pos-test" then return {} end
    string.find(("a"):rep(60), ("a*"):rep(12) .. "b")
    return {}
  end,
}
