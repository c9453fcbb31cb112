-- One ~200-byte JSON event per request.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"id":"bench-0000000000001","name":"page_view","timestamp":1763900000,"body":{"user":"u-123456","path":"/pricing/enterprise","referrer":"https://example.com/blog/launch","session":"s-9f8e7d6c5b4a"}}'
