"""Choosing and trying routes (a route is one catalog model through one credential): the
candidates for a request (candidates), route cooldowns and the circuit breaker (cooldowns), the
fallback loop over candidates (fallback), the attempts of one request in flight and its final
request-log write (context), the per-key rate limits checked before any of it (ratelimit), route
budgets (quota), 429 classes (backoff), holding a request briefly (hold), and each route's budget
and state as /v1 and the web pages show them (quota_view)."""
