-- The app benchmark's wrk script: each connection sends a list of GETs in order, again and
-- again (an app page alone, or the FHIR calls that page makes), and a sequence is done when
-- its last call is answered. Run with one connection per thread (app_bench.py), so that a
-- thread's state is its connection's. Prints a summary line of sequences, not of calls.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local clock = ffi.new("bench_timespec")

local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
  return tonumber(clock.tv_sec) * 1000000 + tonumber(clock.tv_nsec) / 1000
end

paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do
  if line ~= "" then table.insert(paths, line) end
end
wrk.method = "GET"
for _, name in ipairs({ "Accept", "Authorization", "Cookie" }) do
  local value = os.getenv("BENCH_" .. string.upper(name))
  if value and value ~= "" then wrk.headers[name] = value end
end

-- Per thread (so per connection): where it is in the list, and what it has measured, in
-- flat tables of globals (wrk copies a thread's table to done() only when it is flat).
step, began, sent = 1, 0, 0
sequences, refused, status_refused = {}, 0, 0
for i = 1, #paths do _G["step" .. i] = {} end

function request()
  sent = now_us()
  if step == 1 then began = sent end
  return wrk.format(nil, paths[step])
end

function response(status, headers, body)
  local answered = now_us()
  if status ~= 200 then refused, status_refused = refused + 1, status end
  table.insert(_G["step" .. step], answered - sent)
  if step == #paths then
    table.insert(sequences, answered - began)
    step = 1
  else
    step = step + 1
  end
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

local function percentile(values, p)
  if #values == 0 then return 0 end
  table.sort(values)
  return values[math.max(1, math.ceil(#values * p / 100))]
end

function done(summary, latency, requests)
  local all, by_step, failed, status = {}, {}, 0, 0
  for i = 1, #paths do by_step[i] = {} end
  for _, thread in ipairs(threads) do
    for _, v in ipairs(thread:get("sequences")) do table.insert(all, v) end
    for i = 1, #paths do
      for _, v in ipairs(thread:get("step" .. i)) do table.insert(by_step[i], v) end
    end
    failed = failed + thread:get("refused")
    status = math.max(status, thread:get("status_refused"))
  end
  local step_p50 = {}
  for i = 1, #paths do step_p50[i] = string.format("%d", percentile(by_step[i], 50)) end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"socket_errors": %d, "http_errors": %d, ' ..
    '"extra": {"calls": %d, "wrk_p50_us": %d, "step_p50_us": [%s], "refused_with": %d}}\n',
    #all, summary.duration, percentile(all, 50), percentile(all, 99),
    e.connect + e.read + e.write + e.timeout, failed,
    summary.requests, latency:percentile(50), table.concat(step_p50, ", "), status))
end
