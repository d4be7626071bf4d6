"""API authentication: tokens that expire, and the token endpoint behind django-axes' lockout.

A token is good for ``REELVAULT_TOKEN_TTL_HOURS`` after it was issued; asking
``POST /api/auth/token/`` again after that issues a new one. Wrong passwords
there count toward the same lockout as the login page (django-axes, per
username and client address): once locked out, the endpoint answers 429 until
the cool-off has passed, even with the right password.
"""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from reelvault.authentication import token_expires_at

LOCKED_OUT = (
    "Too many failed logins for this username from this address: "
    "try again in {minutes} minutes, or ask an administrator to unlock it (manage.py axes_reset_username)."
)


class LockoutBackend(AxesStandaloneBackend):  # type: ignore[misc]  # axes ships no type hints
    """django-axes' lockout check, for web logins only.

    An authentication without a request (the shell, a management command,
    Django's test client) has no client address to count failures against;
    axes would raise, so it is let through to the password check unchanged.
    """

    def authenticate(
        self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> None:
        if request is None:
            return None
        super().authenticate(request, username, password, **kwargs)
        return None


class TokenRequestSerializer(serializers.Serializer[Token]):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})


class TokenSerializer(serializers.Serializer[dict[str, Any]]):
    token = serializers.CharField()
    expires_at = serializers.DateTimeField()


class TokenView(APIView):
    """Exchange a username and password for an API token."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(request=TokenRequestSerializer, responses={200: TokenSerializer})
    def post(self, request: Request) -> Response:
        incoming = TokenRequestSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        # The DRF request, not the Django one: django-axes marks it when locked out,
        # and this view answers in JSON (AxesMiddleware would render the login page's HTML).
        user = authenticate(
            request,  # DRF's wrapper: axes reads META through it and marks it when locked out
            username=incoming.validated_data["username"],
            password=incoming.validated_data["password"],
        )
        if getattr(request, "axes_locked_out", False):
            minutes = max(1, round(float(settings.AXES_COOLOFF_TIME) * 60))
            return Response(
                {"detail": LOCKED_OUT.format(minutes=minutes)}, status=status.HTTP_429_TOO_MANY_REQUESTS
            )
        if user is None or not user.is_active:
            return Response(
                {"detail": "Unable to log in with the username and password given."},
                status=status.HTTP_400_BAD_REQUEST,
            )
        with transaction.atomic():
            token, _ = Token.objects.select_for_update().get_or_create(user=user)
            if token_expires_at(token) <= timezone.now():
                token.delete()
                token = Token.objects.create(user=user)
        return Response(TokenSerializer({"token": token.key, "expires_at": token_expires_at(token)}).data)
