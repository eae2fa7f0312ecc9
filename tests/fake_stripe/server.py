"""A small fake of the Stripe HTTP API for what `localstripe` lacks: Checkout Sessions and Prices.

It answers Stripe's JSON shapes on 127.0.0.1 (form-encoded requests, `Idempotency-Key`,
cursor pagination with `starting_after`, `created[gte]` filters, Stripe's error body) and
forwards every other `/v1/...` call to a real `localstripe` server, so payment intents,
charges, refunds and products live in the emulator (its charges gain the `receipt_url` real
Stripe charges carry). Paying a session (`complete_session`)
really charges a test card in localstripe and links the session to that payment intent.
localstripe's refunds always succeed at once: `refund(..., status="pending")` and
`set_refund_status` give a refund the status real Stripe would show (every refund the fake
answers with carries it). `on_request` runs a test's check while a call is in flight, before
Stripe answers it.

Tests drive the buyer's side through the methods below, never through the hub's code.
"""

from __future__ import annotations

import http.client
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import stripe


class StripeApiError(Exception):
    def __init__(self, status: int, message: str, param: str | None = None,
                 type_: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.body = status, {"error": {"type": type_, "message": message,
                                                    "param": param}}


def unflatten(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """`line_items[0][price_data][currency]=usd` → {"line_items": [{"price_data": {...}}]}."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value

    def lists(node: Any) -> Any:
        if isinstance(node, dict):
            node = {k: lists(v) for k, v in node.items()}
            if node and all(k.isdigit() for k in node):
                return [node[k] for k in sorted(node, key=int)]
        return node

    return lists(root)


def _new_id(prefix: str) -> str:
    return f"{prefix}_test_{secrets.token_hex(12)}"


class FakeStripe:
    def __init__(self, localstripe_url: str, api_key: str = "sk_test_fake") -> None:
        self.localstripe_url = localstripe_url
        self.api_key = api_key
        self.sessions: dict[str, dict[str, Any]] = {}
        self.prices: dict[str, dict[str, Any]] = {}
        self.idempotent: dict[str, tuple[int, dict[str, Any]]] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path) of every call, in order
        self.refund_statuses: dict[str, str] = {}  # refund id → the status Stripe shows
        self.hooks: list[tuple[str, str, Callable[[], None]]] = []  # (method, path prefix, fn)
        self.lock = threading.RLock()
        self.url = ""
        self._server: ThreadingHTTPServer | None = None
        self._emulator = stripe.StripeClient(api_key, base_addresses={"api": localstripe_url})

    # --- server ------------------------------------------------------------------------------
    def start(self) -> FakeStripe:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                fake._dispatch(self)

            do_POST = do_DELETE = do_GET

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True, name="fake-stripe").start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def reset(self) -> None:
        with self.lock:
            self.sessions.clear()
            self.prices.clear()
            self.idempotent.clear()
            self.requests.clear()
            self.refund_statuses.clear()
            self.hooks.clear()

    def _dispatch(self, handler: BaseHTTPRequestHandler) -> None:
        split = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        with self.lock:
            self.requests.append((handler.command, split.path))
            hooks = [fn for method, prefix, fn in self.hooks
                     if method == handler.command and split.path.startswith(prefix)]
        for fn in hooks:
            fn()
        route = self._route(handler.command, split.path)
        if route is None:
            return self._proxy(handler, body)
        status, payload = 200, {}
        try:
            if handler.headers.get("Authorization") != f"Bearer {self.api_key}":
                raise StripeApiError(401, "Invalid API Key provided", type_="authentication_error")
            params = unflatten(parse_qsl(split.query if handler.command == "GET"
                                         else body.decode(), keep_blank_values=True))
            key = handler.headers.get("Idempotency-Key")
            with self.lock:
                if handler.command == "POST" and key and key in self.idempotent:
                    status, payload = self.idempotent[key]
                else:
                    fn, args = route
                    payload = fn(params, *args)
                    if handler.command == "POST" and key:
                        self.idempotent[key] = (200, payload)
        except StripeApiError as exc:
            status, payload = exc.status, exc.body
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("Request-Id", _new_id("req"))
        handler.end_headers()
        handler.wfile.write(data)

    def _proxy(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        target = urlsplit(self.localstripe_url)
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        headers = {k: v for k, v in handler.headers.items()
                   if k.lower() in {"authorization", "content-type", "idempotency-key"}}
        conn.request(handler.command, handler.path, body=body or None, headers=headers)
        response = conn.getresponse()
        data = self._as_stripe_shows(response.read()) if response.status == 200 \
            else response.read()
        conn.close()
        handler.send_response(response.status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _as_stripe_shows(self, data: bytes) -> bytes:
        """localstripe's charges lack Stripe's `receipt_url`, and its refunds all succeed: add
        the receipt, and give each refund the status the test set for it."""
        body = json.loads(data)
        with self.lock:
            statuses = dict(self.refund_statuses)

        def fix(obj: Any) -> None:
            if isinstance(obj, list):
                for item in obj:
                    fix(item)
            elif isinstance(obj, dict):
                if obj.get("object") == "charge":
                    obj.setdefault("receipt_url") or obj.update(
                        receipt_url=f"https://pay.stripe.com/receipts/payment/{obj['id']}")
                if obj.get("object") == "refund" and obj.get("id") in statuses:
                    obj["status"] = statuses[obj["id"]]
                for value in obj.values():
                    fix(value)

        fix(body)
        return json.dumps(body).encode()

    def _route(self, method: str, path: str) -> tuple[Callable[..., Any], tuple[str, ...]] | None:
        routes: list[tuple[str, str, Callable[..., Any]]] = [
            ("POST", r"/v1/checkout/sessions", self._create_session),
            ("GET", r"/v1/checkout/sessions", self._list_sessions),
            ("GET", r"/v1/checkout/sessions/([^/]+)", self._retrieve_session),
            ("POST", r"/v1/checkout/sessions/([^/]+)/expire", self._expire_session),
            ("POST", r"/v1/prices", self._create_price),
            ("GET", r"/v1/prices/([^/]+)", self._retrieve_price),
            ("POST", r"/v1/prices/([^/]+)", self._update_price),
        ]
        for verb, pattern, fn in routes:
            match = re.fullmatch(pattern, path)
            if verb == method and match:
                return fn, match.groups()
        return None

    # --- prices ------------------------------------------------------------------------------
    def _create_price(self, params: dict[str, Any]) -> dict[str, Any]:
        for name in ("product", "unit_amount", "currency"):
            if not params.get(name):
                raise StripeApiError(400, f"Missing required param: {name}.", name)
        price = {"id": _new_id("price"), "object": "price", "active": True,
                 "currency": params["currency"], "product": params["product"],
                 "unit_amount": int(params["unit_amount"]), "type": "one_time",
                 "metadata": params.get("metadata") or {}, "created": int(time.time()),
                 "livemode": False}
        self.prices[price["id"]] = price
        return price

    def _retrieve_price(self, params: dict[str, Any], price_id: str) -> dict[str, Any]:
        if price_id not in self.prices:
            raise StripeApiError(404, f"No such price: '{price_id}'", "price")
        return self.prices[price_id]

    def _update_price(self, params: dict[str, Any], price_id: str) -> dict[str, Any]:
        price = self._retrieve_price(params, price_id)
        if "active" in params:
            price["active"] = params["active"] == "true"
        return price

    # --- checkout sessions -------------------------------------------------------------------
    def _amount(self, line_items: list[dict[str, Any]]) -> tuple[int, str]:
        total, currency = 0, None
        for item in line_items:
            quantity = int(item.get("quantity") or 1)
            if "price" in item:
                price = self._retrieve_price({}, item["price"])
                unit, item_currency = price["unit_amount"], price["currency"]
            elif "price_data" in item:
                data = item["price_data"]
                if "product" not in data and "name" not in (data.get("product_data") or {}):
                    raise StripeApiError(400, "Missing product or product_data[name].",
                                         "line_items[0][price_data]")
                unit, item_currency = int(data["unit_amount"]), data["currency"]
            else:
                raise StripeApiError(400, "Each line item needs price or price_data.", "line_items")
            total += unit * quantity
            currency = item_currency
        return total, currency or "usd"

    def _create_session(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("mode") != "payment":
            raise StripeApiError(400, "This fake only serves mode=payment.", "mode")
        for name in ("success_url", "line_items"):
            if not params.get(name):
                raise StripeApiError(400, f"Missing required param: {name}.", name)
        total, currency = self._amount(params["line_items"])
        now = int(time.time())
        session_id = _new_id("cs")
        session = {
            "id": session_id, "object": "checkout.session", "mode": "payment",
            "amount_subtotal": total, "amount_total": total, "currency": currency,
            "cancel_url": params.get("cancel_url"), "success_url": params["success_url"],
            "client_reference_id": params.get("client_reference_id"),
            "customer_email": params.get("customer_email"), "customer": None,
            "created": now, "expires_at": now + 24 * 3600, "livemode": False,
            "metadata": params.get("metadata") or {}, "payment_intent": None,
            "payment_status": "unpaid", "status": "open",
            "url": f"https://checkout.stripe.com/c/pay/{session_id}",
            "_payment_intent_metadata": (params.get("payment_intent_data") or {}).get("metadata")
            or {},
        }
        self.sessions[session_id] = session
        return self._public(session)

    @staticmethod
    def _public(session: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in session.items() if not k.startswith("_")}

    def _retrieve_session(self, params: dict[str, Any], session_id: str) -> dict[str, Any]:
        if session_id not in self.sessions:
            raise StripeApiError(404, f"No such checkout.session: '{session_id}'", "session")
        return self._public(self.sessions[session_id])

    def _list_sessions(self, params: dict[str, Any]) -> dict[str, Any]:
        limit = min(int(params.get("limit") or 10), 100)
        rows = sorted(self.sessions.values(), key=lambda s: (s["created"], s["id"]), reverse=True)
        created = params.get("created") or {}
        if "gte" in created:
            rows = [s for s in rows if s["created"] >= int(created["gte"])]
        for name in ("payment_intent", "status"):
            if params.get(name):
                rows = [s for s in rows if s[name] == params[name]]
        if params.get("starting_after"):
            ids = [s["id"] for s in rows]
            rows = rows[ids.index(params["starting_after"]) + 1:]
        return {"object": "list", "url": "/v1/checkout/sessions",
                "data": [self._public(s) for s in rows[:limit]], "has_more": len(rows) > limit}

    def _expire_session(self, params: dict[str, Any], session_id: str) -> dict[str, Any]:
        self._retrieve_session(params, session_id)
        session = self.sessions[session_id]
        if session["status"] != "open":
            raise StripeApiError(400, f"Only open sessions can be expired; this one is "
                                      f"{session['status']}.")
        session["status"] = "expired"
        return self._public(session)

    # --- the buyer's side, for tests ---------------------------------------------------------
    def complete_session(self, session_id: str, *, async_payment: bool = False) -> dict[str, Any]:
        """The buyer pays: a real payment intent and charge in localstripe (a test card), then
        the session is `complete`, `paid` (or `unpaid` while an async method settles)."""
        with self.lock:
            session = self.sessions[session_id]
            assert session["status"] == "open", session["status"]
        method = self._emulator.v1.payment_methods.create(params={
            "type": "card", "card": {"number": "4242424242424242", "exp_month": 12,
                                     "exp_year": 2034, "cvc": "123"}})
        intent = self._emulator.v1.payment_intents.create(params={
            "amount": session["amount_total"], "currency": session["currency"],
            "payment_method": method.id, "metadata": session["_payment_intent_metadata"]})
        intent = self._emulator.v1.payment_intents.confirm(intent.id)
        with self.lock:
            session.update(status="complete", payment_intent=intent.id,
                           payment_status="unpaid" if async_payment else "paid")
            return self._public(session)

    def add_other_sessions(self, count: int) -> None:
        """Sessions someone else's integration made on the same account (no hub metadata)."""
        for _ in range(count):
            with self.lock:
                self._create_session({"mode": "payment", "success_url": "https://other/ok",
                                      "line_items": [{"price_data": {
                                          "currency": "usd", "unit_amount": "100",
                                          "product_data": {"name": "other"}}}]})

    def settle_async(self, session_id: str, *, succeeded: bool) -> dict[str, Any]:
        with self.lock:
            session = self.sessions[session_id]
            session["payment_status"] = "paid" if succeeded else "unpaid"
            return self._public(session)

    def expire(self, session_id: str) -> dict[str, Any]:
        with self.lock:
            return self._expire_session({}, session_id)

    def backdate(self, session_id: str, *, hours: float) -> None:
        with self.lock:
            self.sessions[session_id]["created"] -= int(hours * 3600)

    def session(self, session_id: str) -> dict[str, Any]:
        with self.lock:
            return self._public(self.sessions[session_id])

    def charge_of(self, session_id: str) -> dict[str, Any]:
        """The session's charge as Stripe shows it (through this fake, so with a receipt)."""
        client = stripe.StripeClient(self.api_key, base_addresses={"api": self.url})
        intent = client.v1.payment_intents.retrieve(
            self.session(session_id)["payment_intent"]).to_dict()
        charge = intent["latest_charge"]  # localstripe always expands it
        charge_id = charge["id"] if isinstance(charge, dict) else charge
        return client.v1.charges.retrieve(charge_id).to_dict()

    def refund(self, charge_id: str, amount_cents: int | None = None, *,
               status: str = "succeeded") -> dict[str, Any]:
        """A refund of the charge, with the status Stripe would show (`pending` while the money
        is on its way, …); as an event's `data.object`."""
        params: dict[str, Any] = {"charge": charge_id}
        if amount_cents is not None:
            params["amount"] = amount_cents
        refund = self._emulator.v1.refunds.create(params=params).to_dict()
        return self.set_refund_status(refund["id"], status)

    def set_refund_status(self, refund_id: str, status: str) -> dict[str, Any]:
        """The refund moves on at Stripe (`succeeded`, `failed`, `canceled`, …); returns it as
        Stripe now shows it."""
        with self.lock:
            self.refund_statuses[refund_id] = status
        return self.refund_object(refund_id)

    def refund_object(self, refund_id: str) -> dict[str, Any]:
        client = stripe.StripeClient(self.api_key, base_addresses={"api": self.url})
        return client.v1.refunds.retrieve(refund_id).to_dict()

    def on_request(self, method: str, path_prefix: str, fn: Callable[[], None]) -> None:
        """Run `fn` whenever a `method` call to a path starting with `path_prefix` arrives,
        before it is answered (in the fake's server thread)."""
        with self.lock:
            self.hooks.append((method, path_prefix, fn))

    def dispute(self, charge: dict[str, Any], amount_cents: int | None = None, *,
                status: str = "needs_response") -> dict[str, Any]:
        """localstripe has no disputes: a dispute object in Stripe's shape for an event (later
        states are the same object with another `status`)."""
        return {"id": _new_id("du"), "object": "dispute",
                "amount": charge["amount"] if amount_cents is None else amount_cents,
                "charge": charge["id"], "currency": charge["currency"],
                "payment_intent": charge.get("payment_intent"), "reason": "fraudulent",
                "status": status, "created": int(time.time()), "livemode": False}
