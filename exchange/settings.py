"""Encore's one settings object, read from ENCORE_* environment variables."""

from __future__ import annotations

import functools
import os
import secrets
from decimal import Decimal, InvalidOperation
from pathlib import Path

import msgspec


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Every setting with its default; the defaults run on one machine with no server installed."""

    data_dir: Path = Path(".encore")
    database_url: str = ""  # empty: a SQLite file in data_dir
    redis_url: str = ""  # empty: in-process counters (one process only)
    redis_prefix: str = "encore:"
    public_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    admin_key: str = ""  # empty: generated once and kept in data_dir/admin_key
    secret: str = ""  # signs click and accept links; empty: generated once in data_dir/secret
    store_share_bps: int = 7000  # the store's revenue share, in basis points of the gross
    click_dedup_s: int = 1800  # a repeat click on one offer inside this window is not billed again
    link_ttl_s: int = 7 * 24 * 3600  # click and accept links expire after this
    postback_tolerance_s: int = 300  # a conversion postback's timestamp may be this far from now
    # Invalid traffic (exchange/tracking/ivt.py): filtered clicks are recorded and reported, never billed.
    ivt_user_agents_file: Path | None = None  # more bot user-agent markers, one per line
    ivt_datacenter_file: Path | None = None  # data-centre IP ranges: CIDRs, or AWS/GCP/Azure JSON
    click_flood_per_hour: int = 20  # clicks per shopper key, and per IP, before the rest are a flood
    require_impression: bool = True  # a click needs the offer's on-screen beacon before it
    trust_forwarded_for: bool = False  # behind a proxy: the client IP is X-Forwarded-For's last entry (the proxy's)
    # Topology (docs/deploy.md): "all" is one process doing everything (the embedded default);
    # "serve" workers answer requests and follow the index the one "worker" process builds.
    role: str = "all"
    log_format: str = "json"  # json (one object per line, with the request id) or text (`encore demo` uses text)
    index_poll_s: float = 2.0  # how often a serving worker looks for a newer published index
    min_payout: str = "50"  # in major units of the store's currency ("50" is 50.00 USD): less carries over
    candidates: int = 200  # products retrieved from the index per line item
    encoder: str = "minilm"  # minilm (all-MiniLM-L6-v2) or static (distilled from it, ~100x faster)
    models_dir: Path | None = None  # where a distilled model is kept; empty: data_dir/models

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{(self.data_dir / 'encore.db').resolve()}"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index" / self.encoder  # vectors of two encoders never share an index

    @property
    def model_cache(self) -> Path:
        return self.models_dir or self.data_dir / "models"


_FIELDS = {f.name: f for f in msgspec.structs.fields(Settings)}


def settings_from_env(env: dict[str, str] | None = None, **overrides: object) -> Settings:
    """Build settings from ENCORE_<NAME> variables; keyword overrides win (tests, CLI flags)."""
    env = dict(os.environ if env is None else env)
    raw: dict[str, object] = {}
    for name in _FIELDS:
        value = env.get(f"ENCORE_{name.upper()}")
        if value is not None and value != "":
            raw[name] = value
    raw.update({k: v for k, v in overrides.items() if v is not None})
    try:
        settings = msgspec.convert(raw, Settings, strict=False, dec_hook=_decode_path)
    except msgspec.ValidationError as exc:
        raise SystemExit(f"invalid ENCORE_* setting: {exc}; see docs/settings.md") from exc
    try:
        if Decimal(settings.min_payout) < 0:
            raise InvalidOperation
    except InvalidOperation as exc:
        raise SystemExit(f"ENCORE_MIN_PAYOUT={settings.min_payout!r} is not an amount; use e.g. 50 or 25.00") from exc
    return _with_generated_secrets(settings)


def _decode_path(type_: type, obj: object) -> object:
    if type_ is Path and isinstance(obj, str):
        return Path(obj)
    raise NotImplementedError


def _with_generated_secrets(settings: Settings) -> Settings:
    """Fill empty secrets from files in data_dir, creating them once, so links survive restarts."""
    updates: dict[str, str] = {}
    for name in ("secret", "admin_key"):
        if not getattr(settings, name):
            updates[name] = _persistent_secret(settings.data_dir / name, "adm_" if name == "admin_key" else "")
    return msgspec.structs.replace(settings, **updates) if updates else settings


def _persistent_secret(path: Path, prefix: str) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = prefix + secrets.token_urlsafe(32)
    path.write_text(value + "\n")
    path.chmod(0o600)
    return value


@functools.cache
def get_settings() -> Settings:
    return settings_from_env()
