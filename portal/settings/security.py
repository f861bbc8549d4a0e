"""Security settings: session and CSRF cookies, security headers, the Content-Security-Policy,
the reverse proxies we believe, the sign-in lockout (django-axes) and the password reset limits.

Production adds HTTPS-only cookies, HSTS and the SSL redirect on top (production.py).
"""

from datetime import timedelta

from portal.settings.env import env

# Session security: bank staff share machines; sessions end with the browser and after a
# working day at most.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Content-Security-Policy (django-csp): scripts, styles, fonts and fetches from our own origin
# only, no inline script or style, no plugins, no framing, forms post only to us. Chart data
# travels in `json_script` blocks (type application/json, never executed). The Swagger UI view
# adds `data:` images on top (portal/urls.py), and nothing else.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# --- Proxies, lockout and rate limits -------------------------------------------------------
# How many reverse proxies of ours stand in front of the portal, each appending to
# X-Forwarded-For. 0 (the default): the header is not believed, the client is REMOTE_ADDR, and
# X-Forwarded-Proto is not believed either. One rule for the throttles, the lockout and the reset
# limits (portal/clientip.py).
BIZI_TRUSTED_PROXIES = env.int("BIZI_TRUSTED_PROXIES", default=0)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BIZI_TRUSTED_PROXIES else None
# django-axes: failed sign-ins on the sign-in page, the admin and the token endpoint, counted
# per username and per address; at the limit either is refused for the cool-off.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "portal.clientip.client_ip"
AXES_LOCKOUT_CALLABLE = "portal.lockout.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
# Password reset e-mails per client address and per e-mail address, per window.
PASSWORD_RESET_LIMIT_PER_ADDRESS = env.int("PASSWORD_RESET_LIMIT_PER_ADDRESS", default=10)
PASSWORD_RESET_LIMIT_PER_EMAIL = env.int("PASSWORD_RESET_LIMIT_PER_EMAIL", default=3)
PASSWORD_RESET_WINDOW_SECONDS = env.int("PASSWORD_RESET_WINDOW_SECONDS", default=3600)
