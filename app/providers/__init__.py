"""AI providers and the router.

Adapters (`openai_chat`, `anthropic_chat`, `sora`, `local`) translate the hub's requests to a
vendor SDK and the vendor's answers and errors back to the hub's types; they never retry or
decide. The registry (`registry`) builds each channel's adapters from its provider kind; the
router (`routing`, used through `router`) chooses a channel, retries, falls back and keeps the
breakers; `catalog` describes the models (the built-ins are data). Prices live in the pricing
service (`app.services.prices`). Nothing outside this package imports a provider SDK. Importing
this package connects to nothing.
"""
