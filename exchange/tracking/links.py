"""Signed click and accept links: the token names an offer and an expiry, and nothing else."""

from __future__ import annotations

from typing import Literal

import msgspec

from exchange.core.errors import ForbiddenError, GoneError, InvalidInputError
from exchange.core.keys import b64url, hmac_hex, keys_equal, unb64url

LinkKind = Literal["c", "a", "d", "v"]  # click, accept, dismiss, viewable impression


class LinkClaims(msgspec.Struct, array_like=True):
    kind: LinkKind
    offer_id: str
    expires: int


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(LinkClaims).decode


def sign_link(secret: str, claims: LinkClaims) -> str:
    payload = b64url(_encode(claims))
    return f"{payload}.{hmac_hex(secret, payload.encode())[:32]}"


def verify_link(secret: str, token: str, kind: LinkKind, now: int) -> str:
    """The offer id a genuine, unexpired link of `kind` names; a 4xx error for anything else."""
    payload, _, signature = token.partition(".")
    if not payload or not signature:
        raise InvalidInputError("malformed link", fix="use the click_url or accept_url exactly as the offer gave it")
    if not keys_equal(signature, hmac_hex(secret, payload.encode())[:32]):
        raise ForbiddenError("link signature does not match", fix="use the link exactly as the offer gave it")
    try:
        claims = _decode(unb64url(payload))
    except (msgspec.DecodeError, ValueError) as exc:
        raise InvalidInputError("malformed link", fix="use the link exactly as the offer gave it") from exc
    if claims.kind != kind:
        raise ForbiddenError("this link is for another action", fix="use the link exactly as the offer gave it")
    if claims.expires < now:
        raise GoneError("this offer link has expired", fix="ask the store's page for a fresh offer")
    return claims.offer_id
