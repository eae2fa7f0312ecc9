"""The dashboard pages' access rule, what they load, and the catalog fields the video page uses."""

from __future__ import annotations

import re

import pytest

from tests.accounts.helpers import user_with_password
from tests.accounts.test_pages import sign_in

PAGES = {"/chat": "js/chat.js", "/video": "js/video.js", "/credits": "js/credits.js",
         "/dashboard": "js/dashboard.js"}


@pytest.fixture
def settings(migrated_database):  # these tests need no workers or browser
    from tests.conftest import make_settings

    return make_settings()


@pytest.mark.parametrize("path", list(PAGES))
def test_anonymous_visitors_are_sent_to_login(client, path) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/login?next={path}"


def test_signed_in_users_get_each_page_with_its_nonced_module_and_the_nav(client) -> None:
    sign_in(client, user_with_password().email)
    for path, script in PAGES.items():
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
        assert f'<script type="module" src="/static/{script}" nonce="{nonce}">' in html
        for label, link in (("Chat", "/chat"), ("Video", "/video"), ("Credits", "/credits")):
            assert f'href="{link}"' in html and f">{label}</a>" in html
        assert client.get(f"/static/{script}").status_code == 200
    assert client.get("/static/js/hub-api.js").status_code == 200


def test_video_models_list_their_lengths_and_sizes(client) -> None:
    items = client.get("/api/models?kind=video").json["items"]
    local = next(m for m in items if m["id"] == "local-video")
    assert local["video_seconds"] == [4, 8, 12]
    assert local["video_sizes"] == ["720x1280", "1280x720"]
    chat = client.get("/api/models?kind=chat").json["items"]
    assert all("video_seconds" not in m for m in chat)
