-- wrk script: one request per line of a file of Cookie header values, taken in turn (round-robin over every
-- connection of a thread), so N lines means N distinct signed-in users. Without a file, wrk's own request.
-- Requests are formatted once, in init, so the script costs wrk no more than a static request.
--   wrk -s cookies.lua [-H 'X-CSRF: 1'] <url> -- [cookie file]
local requests = {}
local count = 0
local next_index = 0

function init(args)
  local file = args[1]
  if file == nil or file == "" then
    count = 1
    requests[1] = wrk.format()
    return
  end

  for line in io.lines(file) do
    if line ~= "" then
      local headers = {}
      for name, value in pairs(wrk.headers) do
        headers[name] = value
      end
      headers["Cookie"] = line
      count = count + 1
      requests[count] = wrk.format(nil, nil, headers)
    end
  end

  if count == 0 then
    error("no cookie in " .. file)
  end
end

function request()
  next_index = next_index % count + 1
  return requests[next_index]
end
