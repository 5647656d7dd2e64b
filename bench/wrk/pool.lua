-- pool.lua — wrk sends pre-signed requests, each once (bench/gen.js).
--
-- wrk's LuaJIT has no HMAC, so bench/gen.js writes one file of signed raw
-- requests per wrk thread: POOL.0, POOL.1, … (env BENCH_POOL = POOL). Each
-- thread walks its own file in order and never repeats a request, so every
-- message id is new and the server really does the work for each; a thread
-- that runs out stops, and done() says so (the run then counts as invalid:
-- make the pool bigger). Non-200 answers are counted per status.
--
-- usage: BENCH_POOL=/tmp/x wrk -t2 -c50 -d10s -s bench/wrk/pool.lua http://127.0.0.1:PORT

local threads = {}
local counter = 0

function setup(thread)
	thread:set("id", counter)
	counter = counter + 1
	table.insert(threads, thread)
end

function init(args)
	local prefix = os.getenv("BENCH_POOL")
	local f = assert(io.open(prefix .. "." .. id, "rb"))
	pool = {}
	while true do
		local len = f:read("*l")
		if not len then break end
		pool[#pool + 1] = f:read(tonumber(len))
	end
	f:close()
	nextreq = 1
	exhausted = 0
	non200 = 0
	statuses = {}
end

function request()
	local r = pool[nextreq]
	if not r then
		exhausted = 1
		wrk.thread:stop()
		return pool[#pool] -- one last (duplicate) request while stopping
	end
	pool[nextreq] = nil -- sent once; let the GC have it
	nextreq = nextreq + 1
	return r
end

function response(status, headers, body)
	if status ~= 200 then
		non200 = non200 + 1
		statuses[status] = (statuses[status] or 0) + 1
	end
end

function done(summary, latency, requests)
	local non, ex, sent = 0, 0, 0
	local st = {}
	for _, t in ipairs(threads) do
		non = non + t:get("non200")
		ex = ex + t:get("exhausted")
		sent = sent + t:get("nextreq") - 1
		local s = t:get("statuses")
		for k, v in pairs(s) do st[k] = (st[k] or 0) + v end
	end
	local parts = {}
	for k, v in pairs(st) do parts[#parts + 1] = string.format('"%d":%d', k, v) end
	io.write(string.format(
		'BENCH_JSON {"requests":%d,"duration_us":%d,"errors_connect":%d,"errors_read":%d,' ..
		'"errors_write":%d,"errors_timeout":%d,"non200":%d,"statuses":{%s},"exhausted":%d,' ..
		'"sent":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
		summary.requests, summary.duration, summary.errors.connect, summary.errors.read,
		summary.errors.write, summary.errors.timeout, non, table.concat(parts, ","), ex, sent,
		latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
		latency.mean))
end
