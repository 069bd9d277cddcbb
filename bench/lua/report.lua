-- Shared by every wrk scenario: optional auth header and a JSON summary on stdout.
-- Environment: WRK_TOKENS (comma-separated API tokens, rotated per connection), WRK_PATHS
-- (comma-separated paths, rotated per request; default the URL's path). A path written
-- "path|token" is always sent with that token (a read mix of users with different roles).
local tokens = {}
for token in string.gmatch(os.getenv("WRK_TOKENS") or "", "[^,]+") do tokens[#tokens + 1] = token end
local paths = {}
for path in string.gmatch(os.getenv("WRK_PATHS") or "", "[^,]+") do paths[#paths + 1] = path end

local thread_count = 0
function setup(thread)
  thread:set("thread_id", thread_count)
  thread_count = thread_count + 1
end

local counter = 0
local token = nil
function init(args)
  if #tokens > 0 then token = tokens[(thread_id % #tokens) + 1] end
end

function request()
  counter = counter + 1
  local headers = { ["Accept"] = "application/json" }
  if #tokens > 0 then
    headers["Authorization"] = "Token " .. tokens[((counter + thread_id) % #tokens) + 1]
  end
  local path = nil
  if #paths > 0 then
    path = paths[(counter % #paths) + 1]
    local bar = string.find(path, "|", 1, true)
    if bar then
      headers["Authorization"] = "Token " .. string.sub(path, bar + 1)
      path = string.sub(path, 1, bar - 1)
    end
  end
  return wrk.format("GET", path, headers)
end

-- done(): the JSON summary every scenario prints (bench/lua/summary.lua).
dofile(os.getenv("WRK_LUA_DIR") .. "/summary.lua")
