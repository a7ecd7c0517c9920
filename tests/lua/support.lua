-- Shared by the core_*_spec.lua files: loaded with dofile() from the
-- project root, where busted runs.
local say = require("say")
-- dofile() runs outside busted's spec environment: take luassert directly.
local assert = require("luassert")

local S = {}

S.NAN = 0 / 0
S.INF = math.huge

function S.is_nan(x)
  return type(x) == "number" and x ~= x
end

-- assert.is_nan(x) / assert.is_not_nan(x)
say:set("assertion.nan.positive", "Expected NaN, got: %s")
say:set("assertion.nan.negative", "Expected a number other than NaN, got: %s")
assert:register("assertion", "nan", function(_, arguments)
  return S.is_nan(arguments[1])
end, "assertion.nan.positive", "assertion.nan.negative")

local function concat(...)
  local out = {}
  for _, list in ipairs({ ... }) do
    for _, v in ipairs(list) do out[#out + 1] = v end
  end
  return out
end

-- Bad values, by the rule an argument has to follow.
S.NONFINITE = { S.NAN, S.INF, -S.INF }
S.NOT_NONNEG = concat({ -1, -1e-300 }, S.NONFINITE)         -- must be >= 0
S.NOT_POS = concat({ 0, -1 }, S.NOT_NONNEG)                  -- must be > 0
S.BAD_SIDES = concat({ 0, 2, -2, 1.5, -0.5, 2 ^ 32 + 1 }, S.NONFINITE)

local function show(v)
  return type(v) == "string" and string.format("%q", v) or tostring(v)
end

-- Calls fn(args) and expects it accepted; then, for each position listed
-- in `cases`, replaces that one argument by each bad value and expects the
-- call refused.  `refused(r1, r2)` says what refusal looks like.
local function check_refusals(refused, fn, args, cases)
  local n = #args
  local r1, r2 = fn(unpack(args, 1, n))
  assert(not refused(r1, r2), "the valid call was refused: " .. show(r1))
  for pos, values in pairs(cases) do
    for _, v in ipairs(values) do
      local a = { unpack(args, 1, n) }
      a[pos] = v
      r1, r2 = fn(unpack(a, 1, n))
      assert(refused(r1, r2), string.format(
        "argument %d = %s accepted: got %s, %s", pos, show(v), show(r1),
        show(r2)))
    end
  end
end

-- For wrappers that answer NaN to invalid input.
function S.nan_for(fn, args, cases)
  check_refusals(function(r) return S.is_nan(r) end, fn, args, cases)
end

-- For wrappers that answer nil and a message to invalid input.
function S.error_for(fn, args, cases, message)
  message = message or "invalid argument"
  check_refusals(function(r, msg) return r == nil and msg == message end,
                 fn, args, cases)
end

return S
