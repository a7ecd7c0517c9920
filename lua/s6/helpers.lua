-- s6.helpers — the number tests every rule needs, given to rules by the host.
--
-- Trusted host code.  The sandbox puts these functions into each rule's
-- environment as globals (lua/s6/sandbox.lua, docs/rules.md "What a rule
-- sees"), so a rule guards its inputs in the same words as every other rule
-- instead of carrying its own copy.  Pure Lua, no FFI: they run in the hot
-- loop and the JIT inlines them.

local huge = math.huge

local M = {}

-- A number, not NaN, not ±inf.
function M.finite(x)
  return type(x) == "number" and x == x and x > -huge and x < huge
end

-- A finite number above 0.
function M.positive(x)
  return type(x) == "number" and x > 0 and x < huge
end

-- A finite number at or above 0.
function M.nonneg(x)
  return M.finite(x) and x >= 0
end

-- x as a count (a rule step, a number of adds): x when finite and at or
-- above 0, else 0, so a missing or broken counter reads as "none yet".
function M.count(x)
  return M.nonneg(x) and x or 0
end

return M
