"""What the service builds once from its settings: the database, the field cipher and the
itinerary-id sealer.

It lives apart from `api.app` and `api.deps` so that a CLI command can open the database
without importing FastAPI, the routes, the web templates and every model: `homeward users add`
starts in a fraction of the second the whole application takes to import.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING

from api.config import Settings
from core.crypto import FieldCipher, load_or_create_key
from core.db import Database, DatabaseSettings
from delivery.retention import Retention
from logistics.beds.holds_warning import LapseWarning, install
from logistics.probes.rules import ProbeLimits
from logistics.return_plans.watch import watch_registry
from logistics.travel.timetables import TimetableStore, inherited
from logistics.travel.vouch import ItineraryIds

if TYPE_CHECKING:
    from delivery.worker import Guard
    from logistics.matching.solver_pool import SolverPool


@dataclass(frozen=True)
class Services:
    """What the app built at start-up from the settings, shared by every request."""

    settings: Settings
    db: Database
    cipher: FieldCipher
    itinerary_ids: ItineraryIds
    # The stored feeds' timetable (issue 15 item 3: an object of the app, not a module cache).
    timetables: TimetableStore

    @cached_property
    def solver_pool(self) -> SolverPool:
        """This process's solver children, made on the first batch solve: a CLI command that
        never solves does not import the solvers."""
        from logistics.matching.solver_pool import SolverPool

        return SolverPool()

    @cached_property
    def lapse_warning(self) -> LapseWarning:
        """What a write session needs to warn of a bed hold's lapse (holds_warning.py)."""
        return LapseWarning(cipher=self.cipher, lead=timedelta(
            minutes=self.settings.hold_lapse_warning_minutes))

    @property
    def message_retention(self) -> Retention:
        return Retention(body_days=self.settings.message_body_retention_days,
                         row_days=self.settings.message_row_retention_days)

    @property
    def probe_limits(self) -> ProbeLimits:
        return ProbeLimits(limit=self.settings.probe_limit,
                           window=timedelta(seconds=self.settings.probe_window_s))


def build_services(settings: Settings) -> Services:
    sqlite_path = settings.sqlite_path()
    if sqlite_path is not None:
        sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    db = Database(DatabaseSettings(
        url=settings.database_url,
        busy_timeout_ms=settings.busy_timeout_ms,
        pool_size=settings.pool_size,
        statement_timeout_ms=settings.statement_timeout_ms,
    ))
    key = load_or_create_key(settings.secret_key, settings.key_file)
    # The timetable cache lives beside the SQLite file, or beside the key in var/ otherwise.
    folder = sqlite_path.parent if sqlite_path is not None else settings.key_file.parent
    cache_dir = folder / "timetables"
    timetables = inherited(cache_dir) or TimetableStore(cache_dir)
    cipher = FieldCipher(key)
    # A hold released early disrupts the plans riding on it, in the release's transaction.
    watch_registry(cipher)
    services = Services(settings=settings, db=db, cipher=cipher,
                        itinerary_ids=ItineraryIds.from_key(
                            key, lifetime=timedelta(minutes=settings.itinerary_id_minutes)),
                        timetables=timetables)
    # Every session of the app, whichever use case opens it, warns of its holds' lapse.
    install(db.session_info, services.lapse_warning)
    return services


def delivery_guards() -> dict[str, Guard]:
    """Per message kind, why a due message may have become moot (the worker skips it)."""
    from delivery.models import MessageKind
    from logistics.beds import holds_warning

    return {MessageKind.HOLD_LAPSING.value: holds_warning.skip_reason}
