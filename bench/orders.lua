-- wrk script for the order lists: cycle through a file of "PATH<TAB>COOKIE" lines (one
-- logged-in user's session cookie per line), written by `bench/orders_load.py login`.
--
--   wrk -t2 -c16 -d15s --latency -s bench/orders.lua http://127.0.0.1:8000 -- FILE
--
-- Each thread starts at a different offset and walks the list, so the users' requests are
-- interleaved. Any answer other than 200 (a 302 to /masuk means a lost session, which wrk
-- itself would count as a success) is counted and printed as "Non-200 responses: N".

local lines = {}
local counter = 0
local thread_count = 0
local threads = {}
local bad = 0

function setup(thread)
  thread:set("offset", thread_count * 7919)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

function init(args)
  local file = args[1]
  if not file then
    error("usage: wrk ... -s orders.lua URL -- LINES_FILE")
  end
  local handle = assert(io.open(file, "r"))
  for line in handle:lines() do
    local path, cookie = line:match("^(%S+)\t(.+)$")
    if path then
      table.insert(lines, { path = path, headers = { Cookie = cookie } })
    end
  end
  handle:close()
  if #lines == 0 then
    error("no lines in " .. file)
  end
  counter = (tonumber(offset) or 0) % #lines
end

function request()
  counter = counter + 1
  local entry = lines[(counter % #lines) + 1]
  return wrk.format("GET", entry.path, entry.headers)
end

function response(status, headers, body)
  if status ~= 200 then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + (tonumber(thread:get("bad")) or 0)
  end
  io.write(string.format("Non-200 responses: %d\n", total))
end
