-- Hostile: writes raw into the shared read-only views, which other rules
-- and positions read next.
local live_only = false
return {
  name = "raw_write", triggers = { "tick", "price" },
  evaluate = function(pos, mkt, params, state)
    if live_only and pos.id == "pos-test" then return {} end
    for _ = 1, 20 do table.insert(pos.entry_quantities, 1, 1000) end
    table.insert(state, "x")
    return {}
  end,
}
