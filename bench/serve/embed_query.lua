-- wrk script: POST one ~12-token shop query to /v1/embeddings (OpenAI shape)
-- and count the answers by status; done() prints "status S N" lines and the
-- latency percentiles for bench/serve_load.py and tests/serve/test_load.py.
--   wrk -t2 -c64 -d30s -s bench/serve/embed_query.lua http://127.0.0.1:PORT/v1/embeddings [-- MODEL]
-- MODEL (default "embedrank") is sent as "model", which some servers require.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  local model = args[1] or "embedrank"
  body = '{"model": "' .. model .. '", "input": "lightweight waterproof trail running shoes for men, size 44"}'
end

function request()
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + n
    end
  end
  for status, n in pairs(total) do
    io.write(string.format("status %d %d\n", status, n))
  end
  local errors = summary.errors
  io.write(string.format("requests %d\nseconds %.3f\n", summary.requests, summary.duration / 1e6))
  io.write(string.format("socket_errors %d\n", errors.connect + errors.read + errors.write + errors.timeout))
  io.write(string.format("latency_p50_ms %.3f\nlatency_p99_ms %.3f\n", latency:percentile(50) / 1e3,
                         latency:percentile(99) / 1e3))
end
