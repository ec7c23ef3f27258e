"""The Responses API (/v1/responses) on the chat machinery.

`translate` maps Responses items to chat messages and chat answers and chunks back to output
items and typed stream events; `request` validates the body; `store` keeps stored responses;
`service` runs a request through gateway.chat (routing, fallback, limits, the request log);
`passthrough` relays the body untranslated to upstreams that serve /responses themselves.
"""
