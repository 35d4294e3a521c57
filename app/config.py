"""Settings from the environment and an optional `.env` file.

Every runtime file lives in one data directory so a backup, a container volume or a
test's temporary folder holds the whole state of an installation.
"""

from __future__ import annotations

import secrets
import socket
from functools import lru_cache
from pathlib import Path

from platformdirs import user_data_dir
from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from data.engine import EngineSettings
from data.engine import configure as configure_engine

# Threads of NiceGUI's io_bound pool and of asyncio's default executor (each set to this at startup).
IO_THREADS = 8
# The dispatcher's own thread for a tick's database work (app/dispatch/base.py).
DISPATCH_THREADS = 1


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STORYCANVAS_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default_factory=lambda: Path(user_data_dir("storycanvas", appauthor=False)))
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("STORYCANVAS_DATABASE_URL", "DATABASE_URL")
    )
    secret_key: str | None = None
    host: str = "0.0.0.0"
    port: int = 8080
    # Only the initial value: administrators switch it on the Users page (stored in the database).
    open_registration: bool = False
    access_token_minutes: int = 30
    refresh_token_days: int = 14
    login_failures_before_delay: int = 3
    # Threads that run sync REST routes (and NiceGUI's io_bound work); the database pool holds a
    # connection for each of them, so no thread ever waits for one while holding another's way out.
    worker_threads: int = 16
    # The generation queue (see README, "Generation queue").
    # Off in the simulated-UI tests, which make job rows by hand; dispatcher tests run their own.
    run_dispatcher: bool = True
    dispatch_tick_seconds: float = 0.5
    retry_base_seconds: float = 5.0
    retry_cap_seconds: float = 300.0
    job_max_attempts: int = 3
    stall_timeout_seconds: float = 300.0
    health_interval_seconds: float = 30.0
    # Offline servers are probed this often, so one that answers again is back within seconds.
    offline_probe_seconds: float = 3.0
    catalog_interval_seconds: float = 1800.0
    lease_seconds: float = 30.0
    worker_id: str | None = None
    runpod_api_base: str = "https://api.runpod.ai/v2"
    # HTTP limits and headers (see README, "Security"; app/http_security.py).
    max_request_bytes: int = 10 * 1024 * 1024
    max_import_bytes: int = 64 * 1024 * 1024  # POST /api/v1/projects/import: an export can be large
    max_upload_bytes: int = 64 * 1024 * 1024  # ceiling for every upload field, which has its own smaller cap
    cors_origins: str = ""  # comma- or space-separated origins allowed to call the API from a browser
    # Behind a TLS proxy: the proxy addresses whose X-Forwarded-Proto/-For uvicorn believes
    # (None: uvicorn's default, FORWARDED_ALLOW_IPS or 127.0.0.1).
    forwarded_allow_ips: str | None = None
    proxy_headers: bool = True

    @property
    def resolved_worker_id(self) -> str:
        """Stable across restarts of one installation, so a restarted app takes back its own jobs at once."""
        return self.worker_id or f"{socket.gethostname()}:{self.port}"

    @property
    def database_pool_size(self) -> int:
        """One connection per thread that may ask: REST threads, NiceGUI's io pool, asyncio's default executor,
        the dispatcher's tick thread."""
        return self.worker_threads + 2 * IO_THREADS + DISPATCH_THREADS

    @property
    def cors_origin_list(self) -> list[str]:
        """Origins exactly as browsers send them (scheme://host[:port], no trailing slash)."""
        return [origin.rstrip("/") for origin in self.cors_origins.replace(",", " ").split() if origin]

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def storage_dir(self) -> Path:
        return self.data_dir / "nicegui-storage"

    @property
    def resolved_database_url(self) -> str:
        """SQLite in the data directory unless a server URL is given; plain postgres URLs use psycopg 3."""
        url = self.database_url or f"sqlite:///{self.data_dir / 'storycanvas.db'}"
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://") :]
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        return url

    def ensure_data_dir(self) -> None:
        for folder in (self.data_dir, self.media_dir, self.storage_dir):
            folder.mkdir(parents=True, exist_ok=True)

    @property
    def resolved_secret_key(self) -> str:
        """The configured key, or one generated on first use and kept in the data directory.

        Keeping it on disk means sessions, tokens and encrypted API keys survive restarts.
        """
        if self.secret_key:
            return self.secret_key
        key_file = self.data_dir / "secret_key"
        if key_file.exists():
            return key_file.read_text().strip()
        self.ensure_data_dir()
        key = secrets.token_urlsafe(48)
        key_file.write_text(key)
        key_file.chmod(0o600)
        return key


@lru_cache
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    """Forget cached settings (tests and the CLI change the environment)."""
    get_settings.cache_clear()


def engine_settings() -> EngineSettings:
    """The database the engines open, read from the settings each time they are (re)built."""
    settings = get_settings()
    settings.ensure_data_dir()
    return EngineSettings(url=settings.resolved_database_url, pool_size=settings.database_pool_size)


# Importing the settings hands the data layer its database: every entry point (the app, the CLI,
# the tests) reads its settings before it opens a session.
configure_engine(engine_settings)
