-- The wrk script: one request shape per run (set by http_bench.py through the environment),
-- and a machine-readable summary line at the end.
local body_file = os.getenv("BENCH_BODY")
wrk.method = os.getenv("BENCH_METHOD") or "GET"
wrk.headers["Accept"] = "application/fhir+json"
local authorization = os.getenv("BENCH_AUTHORIZATION")
if authorization and authorization ~= "" then
  wrk.headers["Authorization"] = authorization
end
if body_file and body_file ~= "" then
  local f = assert(io.open(body_file, "rb"))
  wrk.body = f:read("*a")
  f:close()
  wrk.headers["Content-Type"] = "application/fhir+json"
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"socket_errors": %d, "http_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
