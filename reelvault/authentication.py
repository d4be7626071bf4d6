"""The API's token scheme: DRF tokens that expire ``REELVAULT_TOKEN_TTL_HOURS`` after they were issued.

Kept apart from the token view (reelvault/auth.py): DRF imports this module while
its own views module is still loading.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed


def token_expires_at(token: Token) -> datetime:
    created: datetime = token.created
    return created + timedelta(hours=settings.REELVAULT_TOKEN_TTL_HOURS)


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF's token scheme, refusing tokens older than ``REELVAULT_TOKEN_TTL_HOURS``."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        user, token = super().authenticate_credentials(key)
        if token_expires_at(token) <= timezone.now():
            raise AuthenticationFailed(
                "Token expired: POST /api/auth/token/ with your password for a new one."
            )
        return user, token
