"""The request log: one row per /v1 and console request (services), its write-behind batch
writer (writer), the reaper of rows left unfinished, and the usage aggregates the web pages show
(usage). The RequestLog model itself is in gateway.models."""
