"""The hub's own model of a chat request and of what a reply stream carries.

Every wire format translates to and from it: the compatible endpoints' bodies
(`app.wire`), the provider adapters' vendor requests and streams (`app.providers`), and the
job's stored request (`record`). Plain data, no Flask and no SDK.

- `request`: a `ChatRequest` of `Message`s, each a role and a tuple of content parts.
- `events`: what a reply stream yields (`TextDelta`, `Usage`) and how it ends (`Finish`,
  `ChatError`), with the `FinishReason` every wire format maps its own vocabulary to.
- `record`: the request as a job stores it (`Job.request_json`).
"""
