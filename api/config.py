"""Configuration, read once from the environment at start-up and passed down as arguments.

Nothing else in the project reads environment variables: domain code receives the values it
needs (a cipher, a database, limits) from here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_VAR_DIR = Path("var")


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    database_url: str = Field(default=f"sqlite:///{DEFAULT_VAR_DIR / 'homeward.db'}")
    secret_key: str | None = None
    key_file: Path = DEFAULT_VAR_DIR / "secret.key"
    max_body_bytes: int = 1_000_000
    max_page_size: int = 100
    busy_timeout_ms: int = 5000
    pool_size: int = 10
    statement_timeout_ms: int = 15000
    retry_after_s: int = 2
    log_level: str = "INFO"
    token_ttl_days: int = 90
    max_tokens_per_account: int = Field(default=5, ge=1, le=100)
    max_active_holds: int = 10
    # How long an itinerary id from a search stays good for making a travel plan
    # (logistics/travel/vouch.py); after it, the caller searches again.
    itinerary_id_minutes: int = Field(default=30, ge=1, le=24 * 60)
    auth_failure_limit: int = 20
    # Differentially private statistics (network/stats/noisy.py): epsilon per month, per record.
    stats_epsilon_per_month: float = Field(default=1.0, gt=0, le=10)
    auth_failure_window_s: int = 300
    # Geometry probing (logistics/probes/rules.py): distinct circles per account and place
    # per window.
    probe_limit: int = Field(default=30, ge=1)
    probe_window_s: int = Field(default=3600, ge=1)
    retention_days: int = 365
    release_max_days: int = 90
    # Browser sessions (api/web): idle timeout, absolute lifetime, the quick-exit page, map tiles.
    web_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    web_session_hours: int = Field(default=12, ge=1, le=7 * 24)
    web_quick_exit_url: str = "https://www.weather.gov/"
    web_map_tiles_url: str = ""  # e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png; "" = none
    # Batch matching (logistics/matching/solver_pool.py): each solve runs in a child process.
    solver_time_limit_cap_s: float = Field(default=60.0, gt=0)
    solver_default_time_limit_s: float = Field(default=5.0, gt=0)
    solver_memory_mb: int = Field(default=2048, ge=64)
    solver_max_concurrent: int = Field(default=2, ge=1)
    solver_workers: int = Field(default=2, ge=1, le=64)
    # Travel budget allocation (logistics/travel/budget.py): the solver's time limit, and the
    # case x source pairs above which it runs in a solver child instead of the API process.
    travel_allocation_time_limit_s: float = Field(default=10.0, gt=0)
    travel_allocation_inline_max_pairs: int = Field(default=2_000, ge=0)

    # Message delivery (delivery/worker.py, issue 21): claim size, how long a claim holds,
    # the backoff between attempts, the channels' network timeout.
    delivery_batch: int = Field(default=20, ge=1, le=1000)
    delivery_lease_s: int = Field(default=120, ge=5)
    delivery_backoff_base_s: float = Field(default=10.0, gt=0)
    delivery_backoff_cap_s: float = Field(default=3600.0, gt=0)
    delivery_timeout_s: float = Field(default=10.0, gt=0)
    delivery_idle_s: float = Field(default=1.0, gt=0)
    # A bed hold's lapse warning is due this long before it expires (0: no warnings); settled
    # messages without a case (tip notices) lose their body, then their row, after these days.
    hold_lapse_warning_minutes: int = Field(default=15, ge=0, le=24 * 60)
    message_body_retention_days: int = Field(default=30, ge=0)
    message_row_retention_days: int = Field(default=365, ge=0)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        mapping = {
            "HOMEWARD_DATABASE_URL": "database_url",
            "HOMEWARD_SECRET_KEY": "secret_key",
            "HOMEWARD_KEY_FILE": "key_file",
            "HOMEWARD_MAX_BODY_BYTES": "max_body_bytes",
            "HOMEWARD_BUSY_TIMEOUT_MS": "busy_timeout_ms",
            "HOMEWARD_POOL_SIZE": "pool_size",
            "HOMEWARD_STATEMENT_TIMEOUT_MS": "statement_timeout_ms",
            "HOMEWARD_LOG_LEVEL": "log_level",
            "HOMEWARD_TOKEN_TTL_DAYS": "token_ttl_days",
            "HOMEWARD_MAX_TOKENS_PER_ACCOUNT": "max_tokens_per_account",
            "HOMEWARD_MAX_ACTIVE_HOLDS": "max_active_holds",
            "HOMEWARD_ITINERARY_ID_MINUTES": "itinerary_id_minutes",
            "HOMEWARD_AUTH_FAILURE_LIMIT": "auth_failure_limit",
            "HOMEWARD_AUTH_FAILURE_WINDOW_S": "auth_failure_window_s",
            "HOMEWARD_STATS_EPSILON_PER_MONTH": "stats_epsilon_per_month",
            "HOMEWARD_PROBE_LIMIT": "probe_limit",
            "HOMEWARD_PROBE_WINDOW_S": "probe_window_s",
            "HOMEWARD_RETENTION_DAYS": "retention_days",
            "HOMEWARD_RELEASE_MAX_DAYS": "release_max_days",
            "HOMEWARD_WEB_IDLE_MINUTES": "web_idle_minutes",
            "HOMEWARD_WEB_SESSION_HOURS": "web_session_hours",
            "HOMEWARD_WEB_QUICK_EXIT_URL": "web_quick_exit_url",
            "HOMEWARD_WEB_MAP_TILES_URL": "web_map_tiles_url",
            "HOMEWARD_SOLVER_TIME_LIMIT_CAP_S": "solver_time_limit_cap_s",
            "HOMEWARD_SOLVER_MEMORY_MB": "solver_memory_mb",
            "HOMEWARD_SOLVER_MAX_CONCURRENT": "solver_max_concurrent",
            "HOMEWARD_SOLVER_WORKERS": "solver_workers",
            "HOMEWARD_TRAVEL_ALLOCATION_TIME_LIMIT_S": "travel_allocation_time_limit_s",
            "HOMEWARD_TRAVEL_ALLOCATION_INLINE_MAX_PAIRS": "travel_allocation_inline_max_pairs",
            "HOMEWARD_DELIVERY_BATCH": "delivery_batch",
            "HOMEWARD_DELIVERY_LEASE_S": "delivery_lease_s",
            "HOMEWARD_DELIVERY_BACKOFF_BASE_S": "delivery_backoff_base_s",
            "HOMEWARD_DELIVERY_BACKOFF_CAP_S": "delivery_backoff_cap_s",
            "HOMEWARD_DELIVERY_TIMEOUT_S": "delivery_timeout_s",
            "HOMEWARD_DELIVERY_IDLE_S": "delivery_idle_s",
            "HOMEWARD_HOLD_LAPSE_WARNING_MINUTES": "hold_lapse_warning_minutes",
            "HOMEWARD_MESSAGE_BODY_RETENTION_DAYS": "message_body_retention_days",
            "HOMEWARD_MESSAGE_ROW_RETENTION_DAYS": "message_row_retention_days",
        }
        for var, name in mapping.items():
            if env.get(var):
                values[name] = env[var]
        return cls.model_validate(values)

    def sqlite_path(self) -> Path | None:
        """The database file when the URL names a SQLite file, so its folder can be created."""
        prefix = "sqlite:///"
        if self.database_url.startswith(prefix) and ":memory:" not in self.database_url:
            return Path(self.database_url[len(prefix) :])
        return None
