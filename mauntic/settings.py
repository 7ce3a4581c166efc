"""Configuration, read from `MAUNTIC_*` environment variables (and an optional `.env`)."""

from __future__ import annotations

import contextlib
import os
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MAUNTIC_", env_file=".env", extra="ignore")

    data_dir: Path = Field(Path(".mauntic"), description="Where the embedded stack keeps its state.")
    database_url: str = Field("", description="SQLAlchemy URL; empty means SQLite under data_dir.")

    temporal_address: str = Field("", description="host:port of a Temporal frontend; empty means embedded.")
    temporal_namespace: str = "default"
    temporal_task_queue: str = "mauntic"
    temporal_api_key: str = Field("", description="API key for Temporal Cloud (implies TLS).")
    temporal_tls: bool = False
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None
    temporal_tls_ca: Path | None = None
    temporal_port: int = Field(7233, description="Frontend port of the embedded dev server.")
    temporal_ui_port: int = Field(8233, description="Web UI port of the embedded dev server.")
    temporal_ui_url: str = Field(
        "",
        description="Base URL of the Temporal Web UI that API answers link to; empty means "
        "http://127.0.0.1:temporal_ui_port (the embedded dev server's UI).",
    )
    temporal_bin: str = Field("", description="Path of the `temporal` CLI; empty means the one on PATH.")
    temporal_batch_rps: int = Field(
        2000,
        ge=1,
        description="Signals per second a batch operation (journey pause, resume...) may send on the "
        "embedded dev server (its worker.batcherRPS); a cluster sets its own.",
    )
    simulation_ports: list[int] = Field(
        default_factory=list,
        description="Loopback ports the worker's simulation test servers take in turn (JSON list); empty means "
        "any free port.",
    )

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    public_url: str = Field("", description="Base URL the API is reached at; empty means http://api_host:api_port.")

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_tls: bool = False
    smtp_timeout_seconds: float = 10.0
    email_from: str = "mauntic <no-reply@localhost>"

    provider_timeout_seconds: float = Field(15.0, description="Timeout of one provider API call.")
    provider_breaker_failures: int = Field(5, description="Consecutive failures that open a provider's circuit.")
    provider_breaker_cooldown_seconds: float = Field(30.0, description="How long an open circuit skips it.")
    provider_private_networks: bool = Field(
        False,
        description="Let provider configurations point at private or loopback addresses and plain http:// URLs "
        "(a relay inside your network, a local test double). Off: tenants cannot aim workers at internal hosts.",
    )

    max_body_bytes: int = Field(
        1_048_576, ge=1, description="Largest request body a REST route reads; a larger one is 413 payload_too_large."
    )
    import_max_bytes: int = Field(
        2 * 1024 * 1024 * 1024, ge=1, description="Largest CSV file POST /v1/imports accepts (streamed, never held)."
    )
    import_chunk_rows: int = Field(20_000, ge=1, le=200_000, description="Rows an import applies per transaction.")
    import_heartbeat_seconds: int = Field(
        60,
        ge=5,
        le=3600,
        description="Heartbeat timeout of the import activity: how soon a lost worker's import resumes.",
    )
    max_journey_definition_bytes: int = Field(
        512 * 1024, ge=1, description="Largest body of a journey create, update or publish request (413)."
    )

    secret_key: str = Field(
        "",
        description="Master key for secrets at rest and sealed links (32+ characters); empty means a key generated "
        "once into data_dir/secret.key. Every API and worker process of a deployment must share it.",
    )
    dns_nameservers: list[str] = Field(
        default_factory=list, description="Resolvers for sending-domain checks; empty means the system's."
    )
    dns_port: int = 53
    dns_timeout_seconds: float = 5.0
    domain_verification_timeout_hours: float = 72.0
    domain_recheck_interval_hours: float = 24.0
    domain_check_timeout_seconds: float = Field(
        60.0,
        gt=0,
        description="How long `POST /v1/sending-domains/{id}/verify` waits for the worker's check before a 503.",
    )
    spf_include: str = Field("spf.mauntic.net", description="The SPF include sending domains publish.")
    return_path_target: str = Field("bounces.mauntic.net", description="Target of sending domains' return-path CNAME.")
    tracking_target: str = Field("track.mauntic.net", description="Target of sending domains' tracking CNAME.")

    ingest_rejections_retention_days: float = Field(
        7.0, description="How long rejected Segment messages stay listed at /v1/ingest/rejections."
    )
    ingest_rejections_max_per_workspace: int = Field(
        10_000, ge=1, description="How many rejected messages a workspace keeps at most (the newest)."
    )

    # Measured on 2 cores: 200/200 slots let the worker's event loop fall behind (workflow tasks timed out and
    # were redone); 20/15 removed the timeouts and raised journey throughput by a third. Activity slots also
    # stay below the database pool, so a finished send never waits for a connection.
    worker_max_concurrent_activities: int = 15
    worker_max_concurrent_workflow_tasks: int = 20
    worker_max_cached_workflows: int = Field(
        1000, ge=0, description="Workflows the worker keeps in memory (temporalio's default); others replay."
    )

    dispatcher: bool = Field(
        True, description="Run the journey dispatcher in `mauntic worker` (off: run `mauntic dispatcher` instead)."
    )
    dispatch_batch_size: int = Field(500, ge=1, le=5000, description="Outbox rows a dispatcher takes at once.")
    dispatch_concurrency: int = Field(64, ge=1, le=1000, description="Temporal calls a dispatcher has in flight.")
    dispatch_poll_seconds: float = Field(
        1.0, gt=0, description="How often an idle dispatcher looks at the outbox without being woken."
    )
    dispatch_lag_degraded_seconds: float = Field(
        60.0, gt=0, description="/health reports dispatch `lagging` when the oldest undispatched event is older."
    )
    segment_entry_rate: float = Field(
        50.0, ge=0, description="Segment entries dispatched per second per workspace (journey starts); 0: unpaced."
    )
    segment_refresh_minutes: float = Field(
        5.0, gt=0, description="How often the Schedule re-evaluates segments whose filters have time windows."
    )
    segment_refresh_chunk: int = Field(
        20000, ge=100, le=1_000_000, description="Contacts per chunk of a set-based segment refresh."
    )

    # Outbound webhooks: one long-lived delivery workflow; its activity delivers due rows in chunks, concurrently
    # over one pooled client, at most `webhook_endpoint_concurrency` requests in flight per endpoint.
    webhook_chunk_size: int = Field(500, ge=1, le=5000, description="Deliveries an activity takes at once.")
    webhook_endpoint_concurrency: int = Field(32, ge=1, le=1000, description="Requests in flight per endpoint.")
    webhook_max_connections: int = Field(200, ge=1, description="Connections the delivery client pools.")
    webhook_timeout_seconds: float = Field(10.0, gt=0, description="Timeout of one delivery attempt.")
    webhook_lease_seconds: float = Field(
        60.0, gt=0, description="How long a claimed delivery is held; a killed worker's are retried after it."
    )
    webhook_retry_scale: float = Field(
        1.0, gt=0, description="Multiplies the retry schedule (5 s, 30 s, 2 min ... 2 h); below 1 in tests only."
    )
    webhook_max_attempts: int = Field(8, ge=1, le=50, description="Attempts of a delivery before it is dead.")
    webhook_secret_overlap_hours: float = Field(
        24.0, ge=0, description="How long a rotated-out endpoint secret still signs deliveries."
    )

    @property
    def embedded_temporal(self) -> bool:
        return not self.temporal_address

    @property
    def temporal_ui_base(self) -> str:
        return (self.temporal_ui_url or f"http://127.0.0.1:{self.temporal_ui_port}").rstrip("/")

    @property
    def temporal_target(self) -> str:
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'mauntic.db').as_posix()}"

    def resolved_secret_key(self) -> str:
        """The configured master key, or the one kept in data_dir (created on first use, readable by us only)."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret.key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            # Written under a temporary name and linked into place: a process starting at the same moment sees
            # either no key or the whole key, and the first link wins.
            staging = self.data_dir / f".secret.key.{secrets.token_hex(8)}"
            fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
            with contextlib.suppress(FileExistsError):
                os.link(staging, path)
            staging.unlink()
        return path.read_text().strip()

    @property
    def api_base_url(self) -> str:
        return self.public_url or f"http://{self.api_host}:{self.api_port}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
