-- Hostile: a clock bomb.  Harmless while the host clock is small (as the
-- canned views once had it), it goes off on any real date: `rules check`
-- and every reload also run a rule at realistic host times, so it is
-- refused before it reaches a live position.
return {
  name = "clock_bomb", triggers = { "tick", "price" },
  evaluate = function(pos, mkt)
    if mkt.now > 1e9 then
      error("BOOM at " .. tostring(mkt.now), 0)
    end
    return {}
  end,
}
