"""AI providers and the router.

Adapters (`openai_chat`, `anthropic_chat`, `sora`, `local`) translate the hub's requests to a
vendor SDK and the vendor's answers and errors back to the hub's types; they never retry or
decide. The router (`router`) chooses a channel, retries, falls back and keeps the breakers;
`pricing` prices requests from the database's price history; `catalog` lists the models.
Nothing outside this package imports a provider SDK. Importing this package connects to
nothing.
"""
