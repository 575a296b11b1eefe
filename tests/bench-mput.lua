-- make bench: PUTs of new image manifests, one after another; CFG is the
-- digest of the (pushed) config blob.
local cfg = os.getenv("CFG")
local n = 0
math.randomseed(os.time()); local id = tostring(os.time()) .. "-" .. tostring(math.random(1, 1e9))
request = function()
  n = n + 1
  local body = '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"' .. cfg .. '","size":2},"layers":[],"annotations":{"n":"' .. id .. '-' .. n .. '"}}'
  return wrk.format("PUT", "/v2/bench/img/manifests/t" .. (n % 100), {["Content-Type"] = "application/vnd.oci.image.manifest.v1+json"}, body)
end
