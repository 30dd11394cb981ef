-- wrk script: request paths from a file (one per line), e.g. the search URLs written by
-- `python bench/catalog_gen.py urls --out FILE`, in one of three mixes:
--
--   wrk -t2 -c16 -d30s --latency -s bench/search.lua http://127.0.0.1:8000 -- FILE [MIX]
--
--   cycle  (default) each wrk thread starts at a different offset of the list and walks it
--          in order, so all URLs are requested about equally often and consecutive
--          requests differ;
--   zipf   a skewed, realistic mix: each request draws a URL by rank from a Zipf
--          distribution (s = 1.1) over a fixed shuffled order of the list (a few searches
--          very popular, most rare), seeded per thread so runs repeat;
--   unique every request is a URL never asked before (`&u=<thread>-<n>` appended: ignored
--          by the app, part of the page cache's key), so no request is a cache hit: the
--          miss path alone.

local paths = {}
local counter = 0
local thread_count = 0
local mix = "cycle"
local cumulative = {}

function setup(thread)
  thread:set("offset", thread_count * 7919)  -- a prime: threads start far apart
  thread:set("thread_id", thread_count)
  thread_count = thread_count + 1
end

function init(args)
  local file = args[1]
  if not file then
    error("usage: wrk ... -s search.lua URL -- PATHS_FILE [cycle|zipf|unique]")
  end
  mix = args[2] or "cycle"
  if mix ~= "cycle" and mix ~= "zipf" and mix ~= "unique" then
    error("unknown mix " .. mix .. " (cycle, zipf, unique)")
  end
  local handle = assert(io.open(file, "r"))
  for line in handle:lines() do
    if line:match("%S") then
      table.insert(paths, line)
    end
  end
  handle:close()
  if #paths == 0 then
    error("no paths in " .. file)
  end
  counter = (tonumber(offset) or 0) % #paths  -- `offset` is the global setup() set
  if mix == "zipf" then
    -- The same shuffled order in every thread (seed 2026), then each thread its own draws.
    math.randomseed(2026)
    for i = #paths, 2, -1 do
      local j = math.random(i)
      paths[i], paths[j] = paths[j], paths[i]
    end
    local total = 0
    for rank = 1, #paths do
      total = total + 1 / rank ^ 1.1
      cumulative[rank] = total
    end
    for rank = 1, #paths do
      cumulative[rank] = cumulative[rank] / total
    end
    math.randomseed(2026 + 7 * ((tonumber(thread_id) or 0) + 1))
  end
end

local function zipf_path()
  local x = math.random()
  local lo, hi = 1, #cumulative
  while lo < hi do  -- the first rank whose cumulative share reaches x
    local mid = math.floor((lo + hi) / 2)
    if cumulative[mid] < x then lo = mid + 1 else hi = mid end
  end
  return paths[lo]
end

function request()
  counter = counter + 1
  if mix == "zipf" then
    return wrk.format("GET", zipf_path())
  end
  local path = paths[(counter % #paths) + 1]
  if mix == "unique" then
    local sep = path:find("?", 1, true) and "&" or "?"
    path = path .. sep .. "u=" .. (tonumber(thread_id) or 0) .. "-" .. counter
  end
  return wrk.format("GET", path)
end
