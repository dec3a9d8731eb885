"""Imports every table module so that the metadata Alembic compares against is complete."""

from __future__ import annotations

from sqlmodel import SQLModel

import core.models
import core.web_auth  # noqa: F401  (registers tables)
import delivery.models  # noqa: F401
import logistics.beds.models
import logistics.cases.models
import logistics.probes.models
import logistics.return_plans.disruption_models
import logistics.return_plans.models
import logistics.shelters.models
import logistics.travel.alert_models
import logistics.travel.budget_models
import logistics.travel.feed_models
import logistics.travel.plan_models  # noqa: F401
import network.consent.models
import network.directory.models
import network.referrals.models
import network.stats.models
import network.tips.models  # noqa: F401
import safety_plans.models  # noqa: F401

metadata = SQLModel.metadata
