"""Authentication and authorization: who is calling, and may they do this?

`require_auth` guards API routes; the principal it resolves is available as `current_principal()`.
Authenticators (bearer JWT, hub API keys, the web session) are tried in order; each area that
adds a way to authenticate appends to `AUTHENTICATORS`.
"""

from app.security.errors import EmailNotVerified, Forbidden, Unauthorized
from app.security.principal import (
    AUTHENTICATORS,
    Principal,
    authenticate,
    current_principal,
    has_role,
    principal_from_credential,
    public,
    require_auth,
)

__all__ = ["AUTHENTICATORS", "EmailNotVerified", "Forbidden", "Principal", "Unauthorized",
           "authenticate", "current_principal", "has_role", "principal_from_credential", "public",
           "require_auth"]
