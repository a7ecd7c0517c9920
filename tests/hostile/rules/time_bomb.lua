-- Hostile: a time bomb.  Harmless on the probe's canned positions (and so
-- through `rules check`), it goes off on a live one, which it recognises
-- by its id and symbol.
local live_only = false
return {
  name = "time_bomb", triggers = { "tick", "price" },
  evaluate = function(pos)
    if live_only and pos.id == "pos-test" then return {} end
    if type(pos.id) == "string" and pos.id:match("^live%-") then
      error("BOOM " .. pos.id .. " " .. tostring(pos.symbol), 0)
    end
    return {}
  end,
}
