"""The client's address, as ProxyFix left it.

``create_app`` wraps the WSGI app in ProxyFix with ``TRUSTED_PROXY_COUNT`` hops, so
``remote_addr`` only honours as many ``X-Forwarded-For`` entries as there are proxies we run:
a forged header buys no fresh rate-limit budget.
"""

from flask import request


def client_ip() -> str:
    return request.remote_addr or "unknown"
