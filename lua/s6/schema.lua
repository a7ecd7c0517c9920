-- s6.schema — the parameter schema a rule declares next to its defaults.
--
-- A rule's `schema` table mirrors its `params`: each parameter is given a
-- spec, written as the configuration docs write types, so a quant reads it
-- at a glance:
--
--   "number in [0, 1]"   "number in (0, 1]"   "integer in [1, 20]"
--   "number"   "integer"   "boolean"   "string"   "one of low/high"
--   ... ", required"     (inside a list item: the item must set it)
--   { list = SPEC }      a list whose every item is SPEC
--   { a = SPEC, ... }    a table of named fields
--
-- The host checks the rule's own defaults against it when the rule loads
-- (a schema and defaults that disagree are a bug of the rule file), and
-- every override the configuration makes (rules.params.<rule>.base and
-- each regime) before a rule set is built: an unknown key or a value out
-- of range is refused with its path, as every other configuration error.
-- Lists count their items from 1, as Lua does: steps[1] is the first step.

local M = {}

local INF = math.huge

local function finite(x)
  return type(x) == "number" and x == x and x > -INF and x < INF
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  return keys
end

-- The compiled form of a spec string: { kind, lo, hi, lo_open, hi_open,
-- choices, required, text }.
local KINDS = { number = true, integer = true, boolean = true, string = true }

local function parse_string(text)
  local body = text:match("^(.-),%s*required%s*$")
  local spec = { text = body or text, required = body ~= nil }
  body = body or text
  local kind, lb, lo, hi, rb = body:match("^(%a+) in ([%[%(])%s*([^,]+),%s*([^%]%)]+)([%]%)])$")
  if kind then
    spec.kind, spec.lo, spec.hi = kind, tonumber(lo), tonumber(hi)
    spec.lo_open, spec.hi_open = lb == "(", rb == ")"
    if not (KINDS[kind] and (kind == "number" or kind == "integer"))
        or spec.lo == nil or spec.hi == nil or spec.lo > spec.hi then
      return nil
    end
    return spec
  end
  local choices = body:match("^one of (.+)$")
  if choices then
    spec.kind, spec.choices = "choice", {}
    for c in choices:gmatch("[^/]+") do spec.choices[c] = true end
    return spec
  end
  if KINDS[body] then spec.kind = body; return spec end
  return nil
end

-- Compiles a rule's schema; raises "<where>.<path>: ..." on a spec that
-- cannot be read.
local function compile(s, path)
  if type(s) == "string" then
    local spec = parse_string(s)
    if not spec then
      error(path .. ": cannot read the spec '" .. s .. "' (expected e.g. 'number in [0, 1]', "
            .. "'integer in [1, 5]', 'boolean', 'string', 'one of a/b', a { list = ... } "
            .. "or a table of fields)", 0)
    end
    return spec
  end
  if type(s) ~= "table" then
    error(path .. ": a spec is a string, { list = spec } or a table of fields", 0)
  end
  if s.list ~= nil then
    return { kind = "list", item = compile(s.list, path .. "[]"), text = "a list" }
  end
  local fields = {}
  for _, k in ipairs(sorted_keys(s)) do fields[k] = compile(s[k], path .. "." .. k) end
  return { kind = "table", fields = fields, text = "a table" }
end

local function bound(spec)
  return ("%s in %s%s, %s%s"):format(spec.kind, spec.lo_open and "(" or "[", tostring(spec.lo),
                                     tostring(spec.hi), spec.hi_open and ")" or "]")
end

local function show(v)
  if type(v) == "string" then return "'" .. v .. "'" end
  if type(v) == "table" then return "a table" end
  if type(v) == "number" or type(v) == "boolean" then return tostring(v) end
  return "null"
end

local function check_number(spec, v)
  if not finite(v) then return "must be a finite number" end
  if spec.kind == "integer" and v % 1 ~= 0 then return "must be an integer" end
  if spec.lo == nil then return nil end
  local low = spec.lo_open and v <= spec.lo or v < spec.lo
  local high = spec.hi_open and v >= spec.hi or v > spec.hi
  if low or high then return "must be a " .. bound(spec) end
  return nil
end

local SCALAR = {
  number = check_number,
  integer = check_number,
  boolean = function(_, v) return type(v) ~= "boolean" and "must be true or false" or nil end,
  string = function(_, v) return type(v) ~= "string" and "must be a string" or nil end,
  choice = function(spec, v)
    if type(v) ~= "string" or not spec.choices[v] then
      return "must be one of " .. table.concat(sorted_keys(spec.choices), "/")
    end
  end,
}

local function is_list(v)
  if type(v) ~= "table" then return false end
  local n = 0
  for _ in pairs(v) do n = n + 1 end
  for i = 1, n do if v[i] == nil then return false end end
  return true
end

local check

local function check_table(spec, v, path, item)
  if type(v) ~= "table" or (next(v) ~= nil and is_list(v)) then
    return path .. ": must be a table of named fields (got " .. show(v) .. ")"
  end
  for _, k in ipairs(sorted_keys(v)) do
    local f = spec.fields[k]
    if f == nil then
      return ("%s.%s: unknown parameter (expected one of %s)"):format(
        path, k, table.concat(sorted_keys(spec.fields), ", "))
    end
    local err = check(f, v[k], path .. "." .. k)
    if err then return err end
  end
  for _, k in ipairs(sorted_keys(spec.fields)) do
    if item and spec.fields[k].required and v[k] == nil then
      return path .. "." .. k .. ": missing (each item must set it)"
    end
  end
  return nil
end

check = function(spec, v, path)
  if spec.kind == "list" then
    if not is_list(v) then return path .. ": must be a list (got " .. show(v) .. ")" end
    for i = 1, #v do
      local it = spec.item
      local err = it.kind == "table" and check_table(it, v[i], path .. "[" .. i .. "]", true)
                  or it.kind ~= "table" and check(it, v[i], path .. "[" .. i .. "]")
      if err then return err end
    end
    return nil
  end
  if spec.kind == "table" then return check_table(spec, v, path, false) end
  local err = SCALAR[spec.kind](spec, v)
  return err and ("%s: %s (got %s)"):format(path, err, show(v)) or nil
end

-- The compiled schema of a rule module, or nil when it declares none.
-- Raises "<chunkname>: schema.<path>: ..." when the schema cannot be read
-- or the rule's own defaults do not satisfy it.
function M.of_rule(mod, chunkname)
  if mod.schema == nil then return nil end
  local ok, spec = pcall(compile, mod.schema, "schema")
  if not ok then error(chunkname .. ": " .. spec, 0) end
  if spec.kind ~= "table" then error(chunkname .. ": schema must be a table of parameters", 0) end
  local err = check(spec, mod.params or {}, "params")
  if err then error(chunkname .. ": " .. err .. " (the defaults disagree with the schema)", 0) end
  return spec
end

-- nil, or "<path>.<key>: why" for the first problem of an override table
-- (keys in sorted order, so the same mistake always gives the same
-- message).  No schema: any override is refused, since nothing says what
-- the rule takes.
function M.check(spec, over, path, rule_name)
  if over == nil then return nil end
  if spec == nil then
    local k = type(over) == "table" and sorted_keys(over)[1]
    if not k then return nil end
    return ("%s.%s: %s declares no parameter schema (rule.schema), so nothing of it can be set")
           :format(path, k, rule_name or "the rule")
  end
  return check(spec, over, path)
end

-- Sets a value at a path "steps[1].roe" in a params table (in place),
-- checking the path and the value against the schema.  nil, or why not.
function M.set_path(spec, params, path, value, shown)
  local t, s, key = params, spec, nil
  local rest = path
  while rest ~= "" do
    local name, tail = rest:match("^%.?([%a_][%w_]*)(.*)$")
    local index
    if not name then index, tail = rest:match("^%[(%d+)%](.*)$"); index = tonumber(index) end
    if not name and not index then return shown .. ": cannot read the path" end
    if key ~= nil then
      if type(t[key]) ~= "table" then return shown .. ": no such list or table in the defaults" end
      t = t[key]
    end
    if name then
      if s == nil or s.kind ~= "table" or s.fields[name] == nil then
        return shown .. ": unknown parameter"
      end
      s, key = s.fields[name], name
    else
      if s == nil or s.kind ~= "list" then return shown .. ": not a list" end
      if index < 1 or index > #t then return shown .. ": no item " .. index .. " (the list has " .. #t .. ")" end
      s, key = s.item, index
    end
    rest = tail
  end
  local err = check(s, value, shown)
  if err then return err end
  t[key] = value
  return nil
end

M.sorted_keys = sorted_keys

return M
