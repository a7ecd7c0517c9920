-- Hostile: an 8 MiB state on every evaluation.
local live_only = false
return {
  name = "huge_state", triggers = { "tick", "price" },
  evaluate = function(pos)
    if live_only and pos.id == "pos-test" then return {} end
    return {}, { blob = ("x"):rep(8 * 1024 * 1024) }
  end,
}
