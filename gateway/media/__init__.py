"""Media workflows behind /v1/images and /v1/audio and the console playground: image generation
and analysis (service), speech (speech), routing by category and the logged request (routing),
proven images and their storage (images), audio checks (audio), and the guarded fetch of URLs a
client names (url_guard, safe_fetch)."""
