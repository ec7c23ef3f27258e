"""Chat completions behind /v1/chat/completions and the console chat: the workflow over the
candidates (service), the late-committing stream relay (streaming), provider chunks and bodies
made OpenAI-shaped (normalize), legacy /v1/completions served by the same workflow
(completions), and the console's saved conversations (conversations)."""
