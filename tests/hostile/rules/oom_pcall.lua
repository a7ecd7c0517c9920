-- Hostile: fills the memory cap from a compiled loop, under pcall, and
-- keeps going after each failure.
local live_only = false
return {
  name = "oom_pcall", triggers = { "tick", "price" },
  evaluate = function(pos)
    if live_only and pos.id == "pos-test" then return {} end
    local hoard = {}
    for _ = 1, 1e6 do
      pcall(function()
        for i = 1, 1e9 do hoard[#hoard + 1] = ("x"):rep(4096) .. i end
      end)
    end
    return {}
  end,
}
