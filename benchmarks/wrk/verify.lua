-- POST /v1/verify: the caller's bearer and the JSON body come from the environment
-- (BENCH_BEARER, BENCH_BODY) so that no token is ever written into a file.
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_BEARER")

-- done() is report.lua's, loaded from beside this file (wrk takes one script only).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "report.lua")
