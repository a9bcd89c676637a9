-- wrk script of the benchmark (tests/bench/bench_http.py writes its configuration).
--
-- Each thread POSTs the same email, with the tokens taken in turn, and checks every answer:
-- status 200 and a body that holds the expected decision. done() prints one line of JSON.
--
-- The configuration file (path in NEVERLOG_BENCH_WRK): the request path, the expected
-- text, the body, then one token a line.

local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    local file = assert(io.open(os.getenv("NEVERLOG_BENCH_WRK"), "r"))
    local path = file:read("*l")
    expected = file:read("*l")
    local body = file:read("*l")
    -- A token "-" sends no Authorization header. A body holding NEVERLOG_N (the never-seen
    -- variant) gets a number no request has used before in its place, in every request.
    fresh = string.find(body, "NEVERLOG_N", 1, true) ~= nil
    prepared, headers_of = {}, {}
    for token in file:lines() do
        if #token > 0 then
            local headers = {["Content-Type"] = "application/json"}
            if token ~= "-" then
                headers["Authorization"] = "Bearer " .. token
            end
            table.insert(headers_of, headers)
            table.insert(prepared, wrk.format("POST", path, headers, body))
        end
    end
    file:close()
    template, target_path, run, counter = body, path, tostring(os.time()), 0
    index = 0
    ok, bad_status, bad_body, sample = 0, 0, 0, ""
end

function request()
    index = index % #prepared + 1
    if fresh then
        counter = counter + 1
        local body = string.gsub(template, "NEVERLOG_N", "r" .. run .. "n" .. counter)
        return wrk.format("POST", target_path, headers_of[index], body)
    end
    return prepared[index]
end

function response(status, headers, body)
    if status ~= 200 then
        bad_status = bad_status + 1
    elseif not string.find(body, expected, 1, true) then
        bad_body = bad_body + 1
    else
        ok = ok + 1
        return
    end
    if sample == "" then
        sample = status .. " " .. string.sub(body or "", 1, 400)
    end
end

function done(summary, latency, requests)
    local good, status, body, sample = 0, 0, 0, ""
    for _, thread in ipairs(threads) do
        good = good + thread:get("ok")
        status = status + thread:get("bad_status")
        body = body + thread:get("bad_body")
        local seen = thread:get("sample")
        if sample == "" and seen ~= nil then
            sample = seen
        end
    end
    local errors = summary.errors
    io.write(string.format(
        'NEVERLOG_BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, '
            .. '"p99_us": %d, "max_us": %d, "ok": %d, "bad_status": %d, "bad_body": %d, '
            .. '"socket_errors": %d}\n',
        summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
        latency:percentile(99), latency.max, good, status, body,
        errors.connect + errors.read + errors.write + errors.timeout
    ))
    if sample ~= "" then
        io.write("NEVERLOG_BENCH_SAMPLE " .. string.gsub(sample, "\n", " ") .. "\n")
    end
end
