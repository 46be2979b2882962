-- The booking benchmark's wrk script: requests from a file, one per line
-- (METHOD <tab> PATH <tab> BODY), each sent once in file order (bookings: every request
-- books its own free slot) or cycled through (searches).
--
-- BENCH_REQUESTS    the file
-- BENCH_AUTHORIZATION  when set: the Authorization header of every request
-- BENCH_CYCLE       1: start again at the first line after the last; else each line once
-- BENCH_STOP_AFTER  when > 0: at that many responses (and not before BENCH_MIN_SECONDS
--                   from the first request) the thread records the time, prints
--                   "BENCH-STOPPED" and stops; booking_bench.py then interrupts wrk
--                   (SIGINT), whose summary follows. wrk itself runs for a duration only.
-- Summary: one "BENCH {json}" line with the latency percentiles, the status counts and the
-- monotonic time from the first request sent to the last counted response.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local clock = ffi.new("bench_timespec")

local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
  return tonumber(clock.tv_sec) * 1000000 + math.floor(tonumber(clock.tv_nsec) / 1000)
end

local stop_after = tonumber(os.getenv("BENCH_STOP_AFTER") or "0") or 0
local min_us = (tonumber(os.getenv("BENCH_MIN_SECONDS") or "0") or 0) * 1000000
local cycle = os.getenv("BENCH_CYCLE") == "1"
local stopped = false
local requests = {}
local next_request = 1
-- Per thread, read back by done() through thread:get().
first_us, last_us, responses, ok, conflicts, others, exhausted = 0, 0, 0, 0, 0, 0, 0

function init(args)
  local headers = {["Accept"] = "application/fhir+json"}
  local authorization = os.getenv("BENCH_AUTHORIZATION")
  if authorization and authorization ~= "" then
    headers["Authorization"] = authorization
  end
  for line in io.lines(os.getenv("BENCH_REQUESTS")) do
    local method, path, body = line:match("^(%u+)\t([^\t]+)\t?(.*)$")
    local h = {}
    for k, v in pairs(headers) do h[k] = v end
    if body == "" then
      body = nil
    else
      h["Content-Type"] = "application/fhir+json"
    end
    requests[#requests + 1] = wrk.format(method, path, h, body)
  end
end

function request()
  if first_us == 0 then
    first_us = now_us()
  end
  local index = next_request
  next_request = next_request + 1
  if index > #requests then
    if cycle then
      index = 1
      next_request = 2
    else -- out of fresh requests: the last is sent again, and counted
      exhausted = exhausted + 1
      index = #requests
    end
  end
  return requests[index]
end

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function response(status, headers, body)
  if stopped then
    return -- answered after the stop (same event-loop turn): not counted
  end
  responses = responses + 1
  if status >= 200 and status < 300 then
    ok = ok + 1
  elseif status == 409 then
    conflicts = conflicts + 1
  else
    others = others + 1
    if others <= 3 then
      io.stderr:write("BENCH-ERROR " .. status .. " " .. string.sub(body or "", 1, 500) .. "\n")
    end
  end
  last_us = now_us()
  if stop_after > 0 and responses >= stop_after and last_us - first_us >= min_us then
    stopped = true
    io.write("BENCH-STOPPED\n")
    io.flush()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests_done)
  local t = threads[1]
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "socket_errors": %d, "http_errors": %d, "first_us": %d, "last_us": %d, ' ..
    '"responses": %d, "ok": %d, "conflicts": %d, "others": %d, "exhausted": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect + e.read + e.write + e.timeout, e.status,
    t:get("first_us"), t:get("last_us"), t:get("responses"), t:get("ok"), t:get("conflicts"),
    t:get("others"), t:get("exhausted")))
end
