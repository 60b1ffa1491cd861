"""The ``serve`` section of a profile: where the API listens and what it accepts."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from recsys.config import ConfigError


@dataclass(frozen=True)
class ServeConfig:
    host: str = "127.0.0.1"
    """Interface to bind; anything but loopback exposes the API (put it behind a proxy)."""
    port: int = 8000
    """TCP port."""
    api_key_env: str = "RECSYS_API_KEY"
    """Environment variable holding the key that write requests must send as ``X-API-Key``;
    unset or empty = writes are open (fine on 127.0.0.1, not on a network)."""
    reload_seconds: float = 5.0
    """How often the served tables' Delta logs are checked for a new version (0 = never)."""
    max_n: int = 100
    """Largest ``n`` a request may ask for."""
    max_ratings: int = 500
    """Most ratings one ``POST /users/{id}/ratings`` may carry."""
    max_body_bytes: int = 65536
    """Largest request body accepted (413 above)."""
    feedback_batch_ms: float = 0.0
    """How long the feedback committer waits for more ratings before one Delta commit (0:
    commit at once; the requests arriving during a commit share the next one)."""
    cold_start_min_count: int = 20
    """Ratings a movie needs to be in the cold-start list (popular, well-rated)."""
    prior_weight: float = 10.0
    """Pseudo-ratings at the global mean in the cold-start list's damped mean rating."""

    def __post_init__(self) -> None:
        if not 0 <= self.port < 65536 or self.max_n < 1 or self.max_ratings < 1:
            raise ConfigError(
                "serve needs a port in 0..65535 (0: any free one), max_n >= 1 and "
                f"max_ratings >= 1; got "
                f"port={self.port} max_n={self.max_n} max_ratings={self.max_ratings}"
            )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
