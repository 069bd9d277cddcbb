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

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "errors": %d, "non_2xx": %d, "rps": %.2f, ' ..
    '"p50_ms": %.3f, "p90_ms": %.3f, "p95_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f}\n',
    summary.requests, summary.duration, errors, summary.errors.status,
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
