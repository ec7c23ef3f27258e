"""Media workflows behind /v1/images, /v1/audio and /v1/embeddings and the console playground:
image generation and analysis (service), speech (speech), transcriptions (transcription),
embeddings (embeddings), routing by category and the logged request (routing),
proven images and their storage (images), audio checks (audio), and the fetch of image URLs a
client names (safe_fetch, each hop checked by gateway.url_guard)."""
