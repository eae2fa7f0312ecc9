"""The compatible APIs' wire formats, as translators around the hub's chat model (`app.chat`).

One module per format (`openai_chat`: chat completions; `anthropic_messages`: messages), each
with both directions a caller sees: `parse_request` reads and validates a request body into a
`ChatRequest` (raising `InvalidRequest` with the message the caller gets), and a reply writer
renders the reply's events as the format's SSE frames or as its one JSON body. `base` holds
what they share. The vendor side of the same formats (the hub as a client of OpenAI and
Anthropic) is the provider adapters' (`app.providers.openai_chat`, `anthropic_chat`).

The writers are on the per-chunk path of every stream: a text frame is one string
concatenation around `json.dumps` of the text, its fixed head and tail built once per reply.
"""
