-- wrk script: cycle through a file of request paths (one per line), e.g. the search URLs
-- written by `python bench/catalog_gen.py urls --out FILE`.
--
--   wrk -t2 -c16 -d30s --latency -s bench/search.lua http://127.0.0.1:8000 -- FILE
--
-- Each wrk thread starts at a different offset of the list and walks it in order, so all
-- URLs are requested about equally often and consecutive requests differ.

local paths = {}
local counter = 0
local thread_count = 0

function setup(thread)
  thread:set("offset", thread_count * 7919)  -- a prime: threads start far apart
  thread_count = thread_count + 1
end

function init(args)
  local file = args[1]
  if not file then
    error("usage: wrk ... -s search.lua URL -- PATHS_FILE")
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
end

function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end
