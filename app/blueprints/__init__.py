"""HTTP and WebSocket blueprints; `register_blueprints` mounts every one of them."""

from __future__ import annotations

from apiflask import APIFlask


def register_blueprints(app: APIFlask) -> None:
    from app.admin import init_admin
    from app.blueprints.admin_credits import bp as admin_credits_bp
    from app.blueprints.admin_payments import bp as admin_payments_bp
    from app.blueprints.anthropic_compat import bp as anthropic_bp
    from app.blueprints.api_keys import bp as api_keys_bp
    from app.blueprints.auth import bp as auth_bp
    from app.blueprints.conversations import bp as conversations_bp
    from app.blueprints.credits import bp as credits_bp
    from app.blueprints.docs import bp as docs_bp
    from app.blueprints.embeddings import bp as embeddings_bp
    from app.blueprints.google import bp as google_bp
    from app.blueprints.jobs import bp as jobs_bp
    from app.blueprints.live_pages import bp as live_pages_bp
    from app.blueprints.models import bp as models_bp
    from app.blueprints.openai_compat import bp as openai_bp
    from app.blueprints.ops import bp as ops_bp
    from app.blueprints.pages import bp as pages_bp
    from app.blueprints.payments import bp as payments_bp
    from app.blueprints.payments_pages import bp as payments_pages_bp
    from app.blueprints.responses_compat import bp as responses_bp
    from app.blueprints.videos_compat import bp as videos_bp
    from app.blueprints.ws import bp as ws_bp

    app.register_blueprint(ops_bp)
    app.register_blueprint(docs_bp)
    app.register_blueprint(models_bp)
    app.register_blueprint(jobs_bp)
    app.register_blueprint(conversations_bp)
    app.register_blueprint(ws_bp)
    app.register_blueprint(openai_bp)
    app.register_blueprint(anthropic_bp)
    app.register_blueprint(embeddings_bp)
    app.register_blueprint(responses_bp)
    app.register_blueprint(videos_bp)
    app.register_blueprint(credits_bp)
    app.register_blueprint(admin_credits_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(api_keys_bp)
    app.register_blueprint(google_bp)
    app.register_blueprint(pages_bp)
    app.register_blueprint(payments_bp)
    app.register_blueprint(admin_payments_bp)
    app.register_blueprint(payments_pages_bp)
    app.register_blueprint(live_pages_bp)
    init_admin(app)
