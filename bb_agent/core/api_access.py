"""Who may use the HTTP API, for what, and how often: bearer tokens, scopes, rate limits.

Tokens are stored **hashed** (SHA-256 hex) in a YAML file (the bridge's ``tokens_file``),
each with a name and scopes:

- ``plan``: dry runs only (propose and check; nothing moves);
- ``execute``: requests that run (``dry_run`` false), which moves the robot (and dry runs);
- ``operator``: reserved for operator decisions.

No token: 401. A token without the scope the request needs: 403. No tokens configured at
all: every request is 401 (fail closed: an API nobody set up moves nothing). A browser's
cross-site post is refused by the Origin check (403) and by the JSON-only content type
(415). Each token has a token bucket: over its rate a request is 429 with ``Retry-After``.
"""

from __future__ import annotations

from dataclasses import dataclass
import hashlib
import hmac
import math
from pathlib import Path
import threading
from typing import Literal

from pydantic import Field, ValidationError
import yaml

from bb_agent.core.outcomes import BBError, ErrorCode
from bb_agent.core.strict_model import StrictModel, validation_message

Scope = Literal['plan', 'execute', 'operator']


class TokenEntry(StrictModel):
    """One API token: who it is, the SHA-256 of the secret, what it may do."""

    name: str = Field(pattern=r'^[A-Za-z0-9_.:@-]{1,64}$')
    sha256: str = Field(pattern=r'^[0-9a-f]{64}$')
    scopes: tuple[Scope, ...]


class TokenFile(StrictModel):
    """The ``tokens_file`` document."""

    tokens: tuple[TokenEntry, ...] = ()


def hash_token(secret: str) -> str:
    """Return the SHA-256 hex digest a token file stores for ``secret``."""
    return hashlib.sha256(secret.encode('utf-8')).hexdigest()


@dataclass(frozen=True)
class Denied:
    """A refused request: HTTP status, error code, message (and seconds to wait, for 429)."""

    status: int
    code: ErrorCode
    message: str
    retry_after_s: float = 0.0


class TokenStore:
    """The configured tokens; :meth:`authorize` answers one Authorization header."""

    def __init__(self, entries: tuple[TokenEntry, ...] = ()) -> None:
        self.entries = entries

    @classmethod
    def load(cls, path: str | Path | None) -> TokenStore:
        """Load ``path`` ('' or None: no tokens, so every request is refused).

        Raises:
            BBError: INVALID_REQUEST when the file is unreadable or malformed.
        """
        if not path:
            return cls()
        try:
            data = yaml.safe_load(Path(path).read_text(encoding='utf-8')) or {}
            return cls(TokenFile.model_validate(data).tokens)
        except (OSError, yaml.YAMLError) as exc:
            raise BBError(ErrorCode.INVALID_REQUEST, f'{path}: cannot read: {exc}') from exc
        except ValidationError as exc:
            raise BBError(ErrorCode.INVALID_REQUEST,
                          f'{path}: {validation_message(exc)}') from exc

    def authorize(self, header: str | None, needed: Scope) -> TokenEntry | Denied:
        """Return the token's entry when ``header`` carries a token with ``needed``."""
        if not self.entries:
            return Denied(401, ErrorCode.INVALID_REQUEST, 'no API tokens are configured '
                          '(http_bridge tokens_file); the API refuses every request')
        scheme, _, secret = (header or '').partition(' ')
        if scheme.lower() != 'bearer' or not secret.strip():
            return Denied(401, ErrorCode.INVALID_REQUEST, 'missing bearer token (header '
                          '"Authorization: Bearer <token>")')
        digest = hash_token(secret.strip())
        entry = next((e for e in self.entries if hmac.compare_digest(e.sha256, digest)), None)
        if entry is None:
            return Denied(401, ErrorCode.INVALID_REQUEST, 'unknown bearer token')
        granted = set(entry.scopes) | ({'plan'} if 'execute' in entry.scopes else set())
        if needed not in granted:  # execute includes plan (what may run may be dry-run)
            return Denied(403, ErrorCode.INVALID_REQUEST, f'token {entry.name!r} lacks the '
                          f'{needed!r} scope (has: {", ".join(entry.scopes) or "none"})')
        return entry


def origin_denied(origin: str | None, allowed: tuple[str, ...]) -> Denied | None:
    """Refuse a browser request from another site (no Origin header: not a browser post)."""
    if origin is None or origin in allowed:
        return None
    return Denied(403, ErrorCode.INVALID_REQUEST, f'origin {origin!r} is not allowed '
                  '(http_bridge allowed_origins)')


def content_type_denied(content_type: str | None) -> Denied | None:
    """Refuse any body that is not declared JSON (a form or text/plain post from a page)."""
    media = (content_type or '').split(';')[0].strip().lower()
    if media == 'application/json':
        return None
    return Denied(415, ErrorCode.INVALID_REQUEST, f'Content-Type {media or "(none)"!r}: '
                  'only application/json is accepted')


class RateLimiter:
    """A token bucket per key: ``rate`` requests per second, bursts of ``burst``."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last time)
        self._lock = threading.Lock()

    def take(self, key: str, now: float) -> float:
        """Take one request for ``key`` at ``now`` (s); return 0, or seconds to wait."""
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return math.ceil((1.0 - tokens) / self.rate * 10) / 10  # rounded up, 0.1 s
