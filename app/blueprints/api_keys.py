"""Hub API keys of the signed-in user: list, create (shown once), rotate, revoke."""

from __future__ import annotations

from apiflask import APIBlueprint
from flask import Response

from app.blueprints.auth_schemas import ApiKeyCreatedOut, ApiKeyIn, ApiKeyListOut
from app.models.api_keys import ApiKey
from app.security import current_principal, require_auth
from app.services import api_keys
from app.services.runtime import current_settings

bp = APIBlueprint("api_keys", __name__, tag="API keys", url_prefix="/api/keys")


def key_view(key: ApiKey, plaintext: str | None = None) -> dict:
    view = {"id": key.id, "name": key.name, "prefix": key.prefix, "created_at": key.created_at,
            "last_used_at": key.last_used_at, "expires_at": key.expires_at,
            "allowed_models": api_keys.allowed_models(key),
            "cap_total_credits": key.cap_total_credits,
            "cap_monthly_credits": key.cap_monthly_credits,
            "spent_total_credits": key.spent_total_credits,
            "spent_month_credits": api_keys.month_spent(key)}
    if plaintext is not None:
        view["key"] = plaintext
    return view


@bp.get("")
@require_auth(api_key=False)
@bp.output(ApiKeyListOut)
@bp.doc(summary="List your active API keys (prefix, name, limits, last use)")
def list_keys() -> dict:
    return {"items": [key_view(k) for k in api_keys.list_keys(current_principal().user)]}


@bp.post("")
@require_auth(api_key=False)
@bp.input(ApiKeyIn, arg_name="body")
@bp.output(ApiKeyCreatedOut, status_code=201)
@bp.doc(summary="Create an API key; the full key is in this response only",
        responses=[201, 401, 409, 422])
def create_key(body: dict) -> dict:
    new = api_keys.create_key(current_principal().user, body["name"],
                              expires_at=body["expires_at"],
                              allowed_models=body["allowed_models"],
                              cap_total_credits=body["cap_total_credits"],
                              cap_monthly_credits=body["cap_monthly_credits"])
    return key_view(new.key, new.plaintext)


@bp.post("/<int:key_id>/rotate")
@require_auth(api_key=False)
@bp.output(ApiKeyCreatedOut)
@bp.doc(summary="Give the key a new secret (shown once); the old one stays valid for "
                "HUB_API_KEY_ROTATION_GRACE_S", responses=[200, 401, 404])
def rotate_key(key_id: int) -> dict:
    new = api_keys.rotate_key(current_principal().user, key_id,
                              grace_s=current_settings().HUB_API_KEY_ROTATION_GRACE_S)
    return key_view(new.key, new.plaintext)


@bp.delete("/<int:key_id>")
@require_auth(api_key=False)
@bp.output({}, status_code=204)
@bp.doc(summary="Revoke the key at once", responses=[204, 401, 404])
def revoke_key(key_id: int) -> Response:
    api_keys.revoke_key(current_principal().user, key_id)
    return Response(status=204)
