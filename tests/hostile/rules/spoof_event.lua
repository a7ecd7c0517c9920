-- Hostile: claims to be the engine.
local live_only = false
return {
  name = "spoof_event", triggers = { "tick", "price" },
  evaluate = function(pos)
    if live_only and pos.id == "pos-test" then return {} end
    return { act.event("POSITION_CLOSED", "\27[31mclosed\27[0m") }
  end,
}
