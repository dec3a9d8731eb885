"""The `homeward` command line: migrations, accounts, fixtures, the demo and the server.

It reads the same settings as the service (`HOMEWARD_DATABASE_URL`, `HOMEWARD_SECRET_KEY`, ...)
and calls the same use cases, acting as the system principal, so everything it does is
audited like an API call.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.config import Settings
from core.errors import DomainError
from core.models import AccountCreate, AgencyKind, Role
from core.principal import SYSTEM
from fixtures.scale import Scale


class _OnFirstUse:
    """A module imported when a command first uses it, not when the CLI starts.

    Importing the whole application (FastAPI, every route and model, alembic, uvicorn, the
    fixtures) took seconds on a busy machine, paid by `homeward --help` and every command; the
    names below stay module-level so the commands read as if imported normally.
    """

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        module: ModuleType = importlib.import_module(self._name)
        return getattr(module, attr)


if TYPE_CHECKING:
    from api import migrate, serving
    from api.services import Services
    from core import service as accounts
    from fixtures import loader as fixture_loader
    from fixtures import network as network_fixture
    from logistics.beds import holds as hold_service
    from logistics.shelters import service as shelters
else:
    migrate = _OnFirstUse("api.migrate")
    serving = _OnFirstUse("api.serving")
    accounts = _OnFirstUse("core.service")
    fixture_loader = _OnFirstUse("fixtures.loader")
    network_fixture = _OnFirstUse("fixtures.network")
    hold_service = _OnFirstUse("logistics.beds.holds")
    shelters = _OnFirstUse("logistics.shelters.service")

app = typer.Typer(help="Homeward: shelter beds, safety plans and travel home.",
                  no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="Accounts and API tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
holds_app = typer.Typer(help="Bed holds.", no_args_is_help=True)
app.add_typer(holds_app, name="holds")
fixtures_app = typer.Typer(help="Data built from real public data.", no_args_is_help=True)
app.add_typer(fixtures_app, name="fixtures")


@fixtures_app.command("load")
def fixtures_load(
    scale: Annotated[Scale, typer.Option(help="small (~50), state (one state) or national")]
    = Scale.SMALL,
    seed: Annotated[int, typer.Option(help="the same seed gives the same shelters")] = 0,
    state: Annotated[str | None, typer.Option(help="two-letter state for --scale state")] = None,
    dc: Annotated[bool, typer.Option("--dc", help="also load the 18 real DC shelters")] = False,
    directory: Annotated[bool, typer.Option(
        "--directory/--no-directory",
        help="also load the national partner directory (~3,000 providers and contacts)")] = True,
) -> None:
    """Load shelters built from HUD, GeoNames and DC open data (loading twice adds nothing)."""
    with _services() as services:
        migrate.upgrade(services.db.engine)
        with services.db.write_session() as session:
            try:
                reports = [fixture_loader.load(session, cipher=services.cipher, scale=scale,
                                               seed=seed, state=state)]
            except ValueError as exc:
                raise _fail(str(exc)) from exc
            if dc:
                reports.append(fixture_loader.load_dc(session, cipher=services.cipher))
            if directory:
                added = network_fixture.load_directory(session, seed=seed)
    for report in reports:
        typer.echo(report.summary())
    if directory:
        typer.echo(f"partner directory: {added} organisations added")

HOTLINE = "National Hotline"
# The public data set lives beside the project root (see ../shared/data/README.md).
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DC_PROVIDER = "Catholic Charities (DC)"
DEMO_AGENCIES = {
    # Only a hotline account may be a platform admin.
    Role.PLATFORM_ADMIN: (HOTLINE, AgencyKind.HOTLINE),
    Role.ADVOCATE: (HOTLINE, AgencyKind.HOTLINE),
    Role.CASE_MANAGER: (HOTLINE, AgencyKind.HOTLINE),
    # The demo coordinator runs the real DC shelters of this provider (see fixtures/dc.py),
    # and the demo agency admin administers that provider only.
    Role.SHELTER_COORDINATOR: (DC_PROVIDER, AgencyKind.SHELTER_ORGANISATION),
    Role.AGENCY_ADMIN: (DC_PROVIDER, AgencyKind.SHELTER_ORGANISATION),
}


@contextmanager
def _services(settings: Settings | None = None) -> Iterator[Services]:
    """The app's services for one command, with the database closed afterwards."""
    from api.services import build_services

    services = build_services(settings or Settings.from_env())
    try:
        yield services
    finally:
        services.db.dispose()


def _fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code=1)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Bring the database schema to the newest (or the given) revision."""
    with _services() as services:
        migrate.upgrade(services.db.engine, revision)
        typer.echo(f"database at revision {migrate.current_revision(services.db.engine)}")


@db_app.command("current")
def db_current() -> None:
    """Print the database's schema revision and whether it is the newest."""
    with _services() as services:
        current = migrate.current_revision(services.db.engine)
    state = "current" if current == migrate.head_revision() else "behind"
    typer.echo(f"{current} ({state})")


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Option(help="account name (letters, digits, _ . @ -)")],
    role: Annotated[Role, typer.Option(help="the account's role")],
    agency: Annotated[str, typer.Option(help="agency name; created if new")] = HOTLINE,
    agency_kind: Annotated[AgencyKind | None, typer.Option(help="kind of a new agency")] = None,
    ttl_days: Annotated[int, typer.Option(min=1, max=365)] = 90,
    shelter: Annotated[list[int] | None, typer.Option(
        help="id of a shelter this coordinator runs (repeat for several)")] = None,
) -> None:
    """Create an account and print its API token (shown only this once)."""
    kind = agency_kind or (AgencyKind.SHELTER_ORGANISATION
                           if role is Role.SHELTER_COORDINATOR else AgencyKind.HOTLINE)
    try:
        with _services() as services, services.db.write_session() as session:
            found = accounts.ensure_agency(session, actor=SYSTEM, name=agency, kind=kind)
            assert found.id is not None
            _, token = shelters.create_staff_account(
                session, actor=SYSTEM, shelter_ids=shelter or [], data=AccountCreate(
                    name=name, role=role, agency_id=found.id, token_ttl_days=ttl_days))
    except DomainError as exc:
        raise _fail(exc.detail) from exc
    typer.echo(token.token)


@users_app.command("revoke-token")
def users_revoke_token(token_id: Annotated[int, typer.Option("--id")]) -> None:
    """Revoke an API token by its id; it stops working at once."""
    try:
        with _services() as services, services.db.write_session() as session:
            accounts.revoke_token(session, actor=SYSTEM, token_id=token_id)
    except DomainError as exc:
        raise _fail(exc.detail) from exc
    typer.echo(f"token {token_id} revoked")


@users_app.command("set-password")
def users_set_password(name: Annotated[str, typer.Option(help="the account's name")]) -> None:
    """Set an account's web sign-in password: typed at a hidden prompt, or read from stdin."""
    import sys

    from core import web_auth

    if sys.stdin.isatty():
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        with _services() as services, services.db.write_session() as session:
            web_auth.set_password(session, actor=SYSTEM, name=name, password=password)
    except DomainError as exc:
        raise _fail(exc.detail) from exc
    typer.echo(f"password set for {name}; their open web sessions have ended")


@holds_app.command("sweep")
def holds_sweep(
    every: Annotated[int, typer.Option(help="repeat every N seconds (0: once)", min=0)] = 0,
) -> None:
    """Tidy lapsed holds. They stop counting the moment they expire; this only tidies rows."""
    import time

    with _services() as services:
        while True:
            with services.db.write_session() as session:
                swept = hold_service.sweep_expired_holds(session)
            typer.echo(f"{swept} lapsed holds tidied")
            if not every:
                return
            time.sleep(every)


transport_app = typer.Typer(help="Transport feeds for travel home.", no_args_is_help=True)
app.add_typer(transport_app, name="transport")
travel_app = typer.Typer(help="Travel plans: safety check-ins.", no_args_is_help=True)
app.add_typer(travel_app, name="travel")


@travel_app.command("sweep-checkins")
def travel_sweep_checkins() -> None:
    """Raise an alert for every check-in overdue past its grace period (idempotent: one alert
    per missed check-in however often it runs)."""
    from logistics.travel import alerts as alert_service

    with _services() as services, services.db.write_session() as session:
        raised = alert_service.sweep_overdue(session, cipher=services.cipher)
    typer.echo(f"{raised} overdue check-in alerts raised")


@travel_app.command("realtime")
def travel_realtime(
    path: Annotated[Path | None, typer.Argument(help="a GTFS-Realtime feed file")] = None,
    url: Annotated[str | None, typer.Option(help="fetch the feed from this URL instead")] = None,
    every: Annotated[float | None, typer.Option(
        help="with --url: read it again every this many seconds, until stopped")] = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait for the URL")] = 20.0,
    rounds: Annotated[int | None, typer.Option(hidden=True)] = None,
) -> None:
    """Record a disruption (and alert the case manager) for every live travel plan a
    GTFS-Realtime feed disrupts, and for every plan whose destination hold has ended; print
    them. Proposals come from the API (`POST /v1/return-plans/disruptions/{id}/proposals`).
    With --url and --every it polls: a feed that cannot be fetched or read is reported and
    retried with backoff (doubling, up to 16 times the interval), never ending the loop."""
    from logistics.return_plans import feed_poll

    if (path is None) == (url is None):
        raise _fail("give a feed FILE or --url, not both")
    if every is not None and (url is None or every < 0):
        raise _fail("--every goes with --url, and is at least 0 seconds")
    with _services() as services:
        if path is not None:
            try:
                lines = feed_poll.read_once(services.db, cipher=services.cipher,
                                            ids=services.itinerary_ids,
                                            timetables=services.timetables,
                                            data=path.read_bytes())
            except DomainError as exc:
                raise _fail(str(exc)) from None
            for line in lines:
                typer.echo(line)
            return
        assert url is not None
        poller = feed_poll.Poller(url=url, timeout_s=timeout, every_s=every or 0.0)
        done = feed_poll.poll(services.db, poller, cipher=services.cipher,
                              ids=services.itinerary_ids, timetables=services.timetables,
                              echo=typer.echo, rounds=1 if every is None else rounds)
        if every is None and not done:
            raise _fail("the feed could not be fetched or read")


stats_app = typer.Typer(help="Published statistics releases.", no_args_is_help=True)
app.add_typer(stats_app, name="stats")


@stats_app.command("publish")
def stats_publish(
    period: Annotated[str, typer.Argument(help="a closed month (2026-03), quarter (2026-Q1) "
                                                "or year (2026)")],
    noisy_epsilon: Annotated[float | None, typer.Option(
        help="also publish differentially private tables for a month, spending this much "
             "of its privacy budget")] = None,
) -> None:
    """Publish a period's statistics release (as a platform admin would through the API)."""
    from core.errors import DomainError
    from core.principal import SYSTEM
    from network.stats import service as stats_service
    from network.stats.models import Measure, ReleaseRequest

    with _services() as services, services.db.write_session() as session:
        try:
            release = stats_service.publish_release(
                session, actor=SYSTEM, data=ReleaseRequest(period=period,
                                                           noisy_epsilon=noisy_epsilon),
                epsilon_budget=services.settings.stats_epsilon_per_month)
        except DomainError as exc:
            raise _fail(f"{type(exc).__name__}: {exc}") from exc
    tables = release.measures
    typer.echo(f"{release.period} published: cases {tables[Measure.CASES].total}, "
               f"tips {tables[Measure.TIPS].total}; privacy budget spent "
               f"{release.privacy.epsilon_spent:g} of {release.privacy.epsilon_budget:g}")


def _persist_timetable(services: Services) -> None:
    """Build the new feed set's timetable now and write its disk cache, so that the next
    `homeward serve` only loads it (api/serving.py)."""
    with services.db.read_session() as session:
        services.timetables.persist(session)


@transport_app.command("import-gtfs")
def transport_import_gtfs(
    path: Annotated[str, typer.Argument(help="a GTFS folder or zip")],
    name: Annotated[str | None, typer.Option(help="feed name (default: the folder name); "
                                                  "importing a name again replaces it")] = None,
    stations: Annotated[str | None, typer.Option(
        help="Amtrak station metadata CSV (station types, cities)")] = None,
    redate: Annotated[bool, typer.Option(
        "--redate", help="shift a stale feed's calendar by whole weeks so that its publication "
                         "week (feed_info.txt, else its first day) is this week, for demos and "
                         "benchmarks; the feed is marked re-dated")] = False,
) -> None:
    """Validate and store a GTFS feed in one transaction; a broken feed changes nothing."""
    from pathlib import Path

    from core.clock import utcnow
    from logistics.travel import feeds as transport_service
    with _services() as services:
        migrate.upgrade(services.db.engine)
        try:
            with services.db.write_session() as session:
                feed = transport_service.import_gtfs(
                    session, actor=SYSTEM, path=Path(path), name=name,
                    stations_csv=Path(stations) if stations else None,
                    redate_to=utcnow().date() if redate else None)
        except DomainError as exc:
            raise _fail(exc.detail) from exc
        _persist_timetable(services)
    typer.echo(f"feed {feed.id} {feed.name}: {feed.stops} stops, {feed.trips} trips, "
               f"{feed.stop_times} stop times, service {feed.start_date}..{feed.end_date}")
    if feed.validity_note:
        typer.echo(f"  NOTE: {feed.validity_note}")


@transport_app.command("load-national")
def transport_load_national(
    data_dir: Annotated[str, typer.Option(help="shared data folder holding amtrak_gtfs_2023")]
    = "../shared/data",
    cities: Annotated[int, typer.Option(min=2, max=3407, help="synthetic bus cities")] = 2000,
    redate: Annotated[bool, typer.Option(
        "--redate", help="shift the stale Amtrak calendar (trains mostly 2022-05-20.."
                         "2024-04-07) by whole weeks so that its publication week is this "
                         "week, for demos and benchmarks; the feed is marked re-dated "
                         "wherever its dates are shown")] = False,
) -> None:
    """Load the real Amtrak feed (if present) plus the synthetic bus and air network."""
    from pathlib import Path

    from core.clock import utcnow
    from fixtures.national_transit import national_gtfs
    from logistics.travel import feeds as transport_service

    files, stops = national_gtfs(cities=cities, seed=7)
    with _services() as services:
        migrate.upgrade(services.db.engine)
        with services.db.write_session() as session:
            feeds = transport_service.load_national(
                session, actor=SYSTEM, data_dir=Path(data_dir), synthetic=files,
                synthetic_stops=stops,
                source=f"fixtures.transit_synth: {cities} GeoNames places, 35 airports, seed 7",
                redate_to=utcnow().date() if redate else None)
        _persist_timetable(services)
    for feed in feeds:
        typer.echo(f"feed {feed.id} {feed.name}: {feed.stops} stops, {feed.trips} trips, "
                   f"service {feed.start_date}..{feed.end_date}")
        if feed.validity_note:
            typer.echo(f"  NOTE: {feed.validity_note}")


retention_app = typer.Typer(help="Retention of personal data.", no_args_is_help=True)
app.add_typer(retention_app, name="retention")


@retention_app.command("run")
def retention_run(
    days: Annotated[int | None, typer.Option(
        help="purge cases closed more than this many days ago "
             "(default: HOMEWARD_RETENTION_DAYS, 365)", min=0)] = None,
) -> None:
    """Purge closed cases past the retention period, and expired probe circles (daily)."""
    from datetime import timedelta

    from logistics.cases import purge as case_purge
    from logistics.probes import service as probe_service
    from logistics.probes.rules import ProbeLimits

    settings = Settings.from_env()
    keep = settings.retention_days if days is None else days
    with _services(settings) as services, services.db.write_session() as session:
        reports = case_purge.purge_closed_cases(session, actor=SYSTEM,
                                                older_than=timedelta(days=keep))
    typer.echo(f"{len(reports)} closed cases older than {keep} days purged")
    limits = ProbeLimits(limit=settings.probe_limit,
                         window=timedelta(seconds=settings.probe_window_s))
    with _services(settings) as services, services.db.write_session() as session:
        dropped = probe_service.drop_expired(session, limits=limits)
    typer.echo(f"{dropped} expired probe circles dropped")


def _demo_tokens(settings: Settings) -> dict[str, str]:
    tokens: dict[str, str] = {}
    with _services(settings) as services:
        migrate.upgrade(services.db.engine)
        with services.db.write_session() as session:
            for report in fixture_loader.load_demo(session, cipher=services.cipher):
                typer.echo(report.summary())
            added = network_fixture.load_directory(session, seed=0)
            typer.echo(f"partner directory: {added} organisations added")
            for role, (agency_name, kind) in DEMO_AGENCIES.items():
                agency = accounts.ensure_agency(session, actor=SYSTEM, name=agency_name, kind=kind)
                assert agency.id is not None
                name = f"demo-{role.value.replace('_', '-')}"
                existing = accounts.find_account(session, name=name)
                if existing is None:
                    runs = (shelters.shelter_ids_of_agency(session, agency_id=agency.id)
                            if role is Role.SHELTER_COORDINATOR else [])
                    _, issued = shelters.create_staff_account(
                        session, actor=SYSTEM, shelter_ids=runs, data=AccountCreate(
                            name=name, role=role, agency_id=agency.id, token_ttl_days=30))
                else:
                    assert existing.id is not None
                    issued = accounts.issue_token(session, actor=SYSTEM, account_id=existing.id,
                                                  ttl_days=30)
                tokens[name] = issued.token
    return tokens


def _demo_passwords(settings: Settings, names: list[str]) -> dict[str, str]:
    """A fresh web sign-in passphrase for each demo account (earlier ones stop working)."""
    import secrets

    from core import web_auth

    passwords = {name: secrets.token_urlsafe(12) for name in names}
    with _services(settings) as services, services.db.write_session() as session:
        for name, password in passwords.items():
            web_auth.set_password(session, actor=SYSTEM, name=name, password=password)
    return passwords


@app.command()
def demo(
    host: str = "127.0.0.1",
    port: int = 8000,
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve")] = True,
    data_dir: Annotated[Path, typer.Option(help="shared public data (Amtrak GTFS), if present")]
    = SHARED_DATA,
    redate: Annotated[bool, typer.Option(
        "--redate/--no-redate", help="shift the stale 2023 Amtrak calendar by whole weeks to "
                                     "run from today on (said in the output, the feed list "
                                     "and every search answer)")] = True,
) -> None:
    """Migrate the database, load demo data, create one account per role, print each one's
    web sign-in and API token, serve."""
    from core.clock import utcnow
    from logistics.travel import feeds as transport_service
    address = f"http://{host}:{port}"
    typer.echo(f"Homeward demo: web pages at {address}/ (accounts below, after loading)")
    settings = Settings.from_env()
    tokens = _demo_tokens(settings)
    passwords = _demo_passwords(settings, list(tokens))
    with _services(settings) as services, services.db.write_session() as session:
        feed = transport_service.load_demo_transport(
            session, actor=SYSTEM, data_dir=data_dir,
            redate_to=utcnow().date() if redate else None)
    if feed is None:
        typer.echo(f"Amtrak timetable: not found under {data_dir}")
    else:
        typer.echo(f"Amtrak timetable: loaded, service {feed.start_date}..{feed.end_date}")
        if feed.validity_note:
            typer.echo(f"  NOTE: {feed.validity_note}")
    typer.echo(f"\nWeb pages: {address}/  (sign in with a name and password below)")
    typer.echo(f"API docs:  {address}/docs  (programs send `Authorization: Bearer <token>`)")
    typer.echo("Demo accounts, one per role (shown once; run `make demo` again for new ones):")
    typer.echo(f"  {'name':<26} {'web passphrase':<18} API token")
    for name, token in tokens.items():
        typer.echo(f"  {name:<26} {passwords[name]:<18} {token}")
    if serve_after:
        serve(host=host, port=port, workers=1, with_worker=True)


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000,
          workers: Annotated[int, typer.Option(min=1, max=64)] = 1,
          proxy_headers: Annotated[bool, typer.Option(
              help="trust X-Forwarded-Proto/-For from --forwarded-allow-ips (behind a "
                   "TLS-terminating reverse proxy)")] = False,
          forwarded_allow_ips: Annotated[str, typer.Option(
              help="comma-separated proxy addresses whose forwarded headers are believed")
          ] = "127.0.0.1",
          ssl_certfile: Annotated[str | None, typer.Option(help="serve TLS: certificate")] = None,
          ssl_keyfile: Annotated[str | None, typer.Option(help="serve TLS: private key")] = None,
          with_worker: Annotated[bool, typer.Option(
              "--with-worker", help="also run `homeward worker` (message delivery) beside the "
                                    "server, stopped with it")] = False,
          ) -> None:
    """Serve the API with N worker processes (state is shared only through the database)."""
    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise typer.BadParameter("give both --ssl-certfile and --ssl-keyfile, or neither")
    # Create the key file once, before workers race to create it.
    with _services():
        pass
    transport = serving.Transport(proxy_headers=proxy_headers,
                                  forwarded_allow_ips=forwarded_allow_ips,
                                  ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile)
    delivering = _start_delivery_worker() if with_worker else None
    try:
        status = serving.serve(host=host, port=port, workers=workers, transport=transport)
    finally:
        if delivering is not None:
            delivering.terminate()
            delivering.wait()
    if status:
        raise typer.Exit(status)


def _start_delivery_worker() -> subprocess.Popen[bytes]:
    """`homeward worker` as a child process: its own interpreter, never forked with the
    server's threads and connections."""
    return subprocess.Popen([sys.executable, "-m", "api.cli", "worker",  # noqa: S603 (ours)
                             "--exit-with-parent", str(os.getpid())])


@app.command()
def worker(
    name: Annotated[str | None, typer.Option(help="this worker's name in claims")] = None,
    once: Annotated[bool, typer.Option("--once", help="one round, then exit")] = False,
    exit_with_parent: Annotated[int | None, typer.Option(
        hidden=True, help="the pid of `homeward serve --with-worker`: stop when it dies")] = None,
) -> None:
    """Deliver outbox messages (referrals, tip notices, alerts, plan SMS) until stopped.

    Any number may run against PostgreSQL (claims skip each other's locked rows); run one
    against SQLite. SIGTERM or SIGINT finishes the message in hand and exits."""
    import signal
    import threading

    from api.services import delivery_guards
    from delivery.runner import build_worker

    stop = threading.Event()
    with _services() as services:
        conf = services.settings
        delivering = build_worker(
            services.db, services.cipher, name=name, batch=conf.delivery_batch,
            lease_s=conf.delivery_lease_s, backoff_base_s=conf.delivery_backoff_base_s,
            backoff_cap_s=conf.delivery_backoff_cap_s, timeout_s=conf.delivery_timeout_s,
            guards=delivery_guards(), retention=services.message_retention)
        if once:
            report = delivering.run_once()
            typer.echo(f"claimed {report.claimed}, delivered {report.delivered}, "
                       f"retrying {report.retried}, dead {report.dead}, "
                       f"skipped {report.skipped}")
            return
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        if exit_with_parent is not None:
            # Started beside a server: a server killed outright (SIGKILL) must not leave its
            # worker delivering on its own, unsupervised, for hours (seen in the tests).
            serving.exit_with_parent(exit_with_parent)
        typer.echo(f"delivery worker {delivering.name} running", err=True)
        delivering.run(stop, idle_s=services.settings.delivery_idle_s)


messages_app = typer.Typer(help="Outbox messages.", no_args_is_help=True)
app.add_typer(messages_app, name="messages")


@messages_app.command("purge")
def messages_purge() -> None:
    """Apply the retention of settled messages without a case (tip notices): bodies emptied
    after HOMEWARD_MESSAGE_BODY_RETENTION_DAYS, rows deleted after
    HOMEWARD_MESSAGE_ROW_RETENTION_DAYS. The worker also does this every hour."""
    from core.clock import utcnow
    from delivery.retention import purge

    with _services() as services, services.db.write_session() as session:
        done = purge(session, retention=services.message_retention, now=utcnow())
    typer.echo(f"bodies emptied {done.bodies}, rows deleted {done.rows}")


if __name__ == "__main__":  # pragma: no cover
    app()
