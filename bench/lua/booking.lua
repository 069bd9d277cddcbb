-- POST /api/v1/lessons: each request books a distinct slot (base time + one hour per request)
-- with the next tutor, as the next student. Environment: WRK_TOKENS (students), WRK_TUTORS
-- ("id:subject,..."), WRK_BASE (epoch seconds of the first slot). Summary as report.lua.
local tokens = {}
for token in string.gmatch(os.getenv("WRK_TOKENS") or "", "[^,]+") do tokens[#tokens + 1] = token end
local tutors = {}
for id, subject in string.gmatch(os.getenv("WRK_TUTORS") or "", "(%d+):([^,]+)") do
  tutors[#tutors + 1] = { id = id, subject = subject }
end
local base = tonumber(os.getenv("WRK_BASE") or "0")
local counter = 0

function request()
  counter = counter + 1
  local tutor = tutors[(counter % #tutors) + 1]
  local starts = os.date("!%Y-%m-%dT%H:%M:%SZ", base + counter * 3600)
  local body = string.format(
    '{"tutor": %s, "subject": "%s", "starts_at": "%s", "duration_minutes": 30}', tutor.id, tutor.subject, starts)
  local headers = {
    ["Accept"] = "application/json",
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Token " .. tokens[(counter % #tokens) + 1],
  }
  return wrk.format("POST", "/api/v1/lessons", headers, body)
end

-- done(): the JSON summary every scenario prints (bench/lua/summary.lua).
dofile(os.getenv("WRK_LUA_DIR") .. "/summary.lua")
