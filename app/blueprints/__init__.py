"""HTTP and WebSocket blueprints; `register_blueprints` mounts every one of them."""

from __future__ import annotations

from apiflask import APIFlask


def register_blueprints(app: APIFlask) -> None:
    from app.blueprints.admin_payments import bp as admin_payments_bp
    from app.blueprints.docs import bp as docs_bp
    from app.blueprints.ops import bp as ops_bp
    from app.blueprints.payments import bp as payments_bp

    app.register_blueprint(ops_bp)
    app.register_blueprint(docs_bp)
    app.register_blueprint(payments_bp)
    app.register_blueprint(admin_payments_bp)
