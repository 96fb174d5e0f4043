"""Signed session tokens (proxy/tokens.py): what the front door checks, without a service."""
from __future__ import annotations

import pytest

from proxy.errors import TokenError
from proxy.tokens import issue_token, verify_token

SECRET = "test-secret-not-for-production"


def test_tokens_round_trip_and_refuse_forgery_and_expiry():
    token = issue_token(SECRET, "student-7", lifetime_seconds=60, now=1000)
    assert verify_token(SECRET, token, now=1010) == "student-7"
    with pytest.raises(TokenError, match="expired"):
        verify_token(SECRET, token, now=2000)
    with pytest.raises(TokenError, match="signature"):
        verify_token("another-secret", token, now=1010)
    payload, _, signature = token.partition(".")
    forged = issue_token(SECRET, "teacher", now=1000).split(".")[0] + "." + signature
    with pytest.raises(TokenError):
        verify_token(SECRET, forged, now=1010)
    for junk in ("", "abc", "a.b", "." * 3000):
        with pytest.raises(TokenError):
            verify_token(SECRET, junk)
