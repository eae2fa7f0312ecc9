"""Authentication and authorization: who is calling, and may they do this?

`require_auth` guards API routes; the principal it resolves is available as `current_principal()`.
Authenticators (bearer JWT, hub API keys, the web session) are tried in the order
`app.security.setup.init_security` registers them on the app (`register_authenticator`).
"""

from app.security.authenticate import (
    authenticate,
    current_principal,
    has_role,
    public,
    register_authenticator,
    require_auth,
)
from app.security.errors import EmailNotVerified, Forbidden, Unauthorized
from app.security.identity import Principal

__all__ = ["EmailNotVerified", "Forbidden", "Principal", "Unauthorized", "authenticate",
           "current_principal", "has_role", "public",
           "register_authenticator", "require_auth"]
