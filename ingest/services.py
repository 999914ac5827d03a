"""Ingest services: the demo set-up (real data when present, else the synthetic store) and its operator."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db.models import Q
from django.utils import timezone

from .demo import DemoSpec, demo_generate
from .demo_loader import demo_load
from .dominicks import dominicks_import
from .olist import olist_import
from .report import ImportReport

logger = logging.getLogger(__name__)

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-operator-2026"
DEMO_BUDGET_SECONDS = 170.0  # the whole demo set-up should take about three minutes at most
OPERATOR_GROUP = "operator"
# Role groups (access.roles) that together cover an operator's daily work in the demo.
DEMO_ROLE_GROUPS = ("operator", "inventory planner", "pricing analyst", "customer-service agent")
OPERATIONAL_APPS = ("catalog", "orders", "inventory", "pricing", "logistics", "feedback")
# Changed only through the ledger or by imports: never edited by hand.
READ_ONLY_MODELS = {("inventory", "stocklevel"), ("inventory", "salesobservation")}
APPEND_ONLY_MODELS = {("inventory", "stockmovement")}


def shared_data_dir() -> Path:
    """``../shared/data`` next to the project (present only in the ecomops workplace)."""
    return Path(settings.BASE_DIR).parent / "shared" / "data"


def operational_permissions():
    """View on every model; add / change on the operational ones (catalog .. feedback), add on the ledger."""
    condition = Q(codename__startswith="view_")
    for model in apps.get_models():
        label, name = model._meta.app_label, model._meta.model_name
        if label not in OPERATIONAL_APPS or (label, name) in READ_ONLY_MODELS:
            continue
        actions = ("add",) if (label, name) in APPEND_ONLY_MODELS else ("add", "change")
        condition |= Q(content_type__app_label=label, codename__in=[f"{a}_{name}" for a in actions])
    condition |= Q(content_type__app_label="ecomops", codename="add_jobrun")
    return Permission.objects.filter(condition)


def demo_operator_setup(*, username: str = DEMO_USERNAME, password: str = DEMO_PASSWORD):
    """The demo operator: staff, not superuser, in the operator role groups, with operational write rights.

    When the ``access`` app defines the role groups they are synced and used as they are (they are its
    single source of truth); the add / change rights on operational models that the operator role lacks
    are given to the user directly, so the demo login can do the daily work in the admin.
    """
    if apps.is_installed("access"):
        from access.roles import sync_roles

        sync_roles()
        groups = list(Group.objects.filter(name__in=DEMO_ROLE_GROUPS))
    else:
        group, _ = Group.objects.get_or_create(name=OPERATOR_GROUP)
        group.permissions.set(operational_permissions())
        groups = [group]
    user, created = get_user_model().objects.get_or_create(username=username)
    user.is_staff = True
    user.is_superuser = False
    user.is_active = True
    if created or not user.check_password(password):
        user.set_password(password)
    user.save()
    user.groups.add(*groups)
    user.user_permissions.add(*operational_permissions())
    return user


@dataclass
class DemoOutcome:
    """What setup_demo did: the imports (or synthetic load) and the training step."""

    mode: str
    reports: list[ImportReport] = field(default_factory=list)
    trained: str = ""
    training_error: str = ""


def demo_setup(
    *,
    data_dir: Path | None = None,
    synthetic: bool = False,
    spec: DemoSpec | None = None,
    train: bool = True,
    train_budget_seconds: float = DEMO_BUDGET_SECONDS,
    write: Callable[[str], None] = print,
) -> DemoOutcome:
    """Load the demo data (idempotent), create the demo operator, then train the models if possible.

    Real data when ``data_dir`` (default ``../shared/data``) holds ``olist/`` and ``dominicks_oj/`` and
    ``synthetic`` is not asked for; otherwise the seeded synthetic store, anchored on the end date of a
    previous synthetic load so that re-running it changes nothing. Training gets what is left of
    ``train_budget_seconds`` (counted from the start); past that it goes on in the background.
    """
    started = time.monotonic()
    data_dir = Path(data_dir) if data_dir else shared_data_dir()
    olist_dir, dominicks_dir = data_dir / "olist", data_dir / "dominicks_oj"
    if not synthetic and olist_dir.is_dir() and dominicks_dir.is_dir():
        outcome = DemoOutcome(mode=f"real data from {data_dir}")
        write(f"Importing the real data from {data_dir} ...")
        for function, folder in ((olist_import, olist_dir), (dominicks_import, dominicks_dir)):
            report = function(directory=folder)
            outcome.reports.append(report)
            write(report.as_text(max_rejected=20))
    else:
        spec = spec or DemoSpec(end=_demo_anchor() or timezone.localdate())
        outcome = DemoOutcome(mode=f"synthetic store (seed {spec.seed}, {spec.days} days to {spec.end})")
        write(f"No real data at {data_dir}: generating the {outcome.mode} ...")
        report = demo_load(demo_generate(spec))
        outcome.reports.append(report)
        write(report.as_text(max_rejected=20))

    user = demo_operator_setup()
    write(f"Demo operator: {user.username} / {DEMO_PASSWORD} (staff, not superuser)")
    from feedback.services import topic_keywords_seed
    from feedback.services_queue import reply_templates_seed

    # Editable topic keywords and reply templates, so the review queue works from the first login.
    write(f"Feedback: {topic_keywords_seed()} topic keywords and {reply_templates_seed()} reply templates seeded")

    if train:
        _train(outcome, write, budget_seconds=train_budget_seconds - (time.monotonic() - started))
    return outcome


def _demo_anchor() -> date | None:
    """End date of a previous synthetic load (kept on its warehouses), so a re-run regenerates the same data."""
    from inventory.models import Location

    attributes = Location.objects.filter(code="WH-SP").values_list("attributes", flat=True).first() or {}
    try:
        return date.fromisoformat(attributes["demo_end"])
    except (KeyError, TypeError, ValueError):
        return None


def _train(outcome: DemoOutcome, write: Callable[[str], None], budget_seconds: float) -> None:
    """Run ``train_models`` in a child process; wait up to the budget, then let it finish in the background.

    Training every model on the real data can take longer than a demo should take to come up, so the demo
    does not wait beyond ``budget_seconds``: the child keeps training and writes to ``var/train_models.log``.
    A failure is reported and never aborts the demo.
    """
    from django.core.management import get_commands

    if "train_models" not in get_commands():
        outcome.trained = "skipped: no train_models command"
        write(outcome.trained)
        return
    log_path = Path(getattr(settings, "VAR_DIR", settings.BASE_DIR)) / "train_models.log"
    write(f"Training the models (train_models, log in {log_path}) ...")
    try:
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "train_models"],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=settings.BASE_DIR,
            )
    except OSError as exc:
        outcome.training_error = f"could not start train_models: {exc}"
        write(outcome.training_error)
        return
    try:
        status = process.wait(timeout=max(budget_seconds, 1.0))
    except subprocess.TimeoutExpired:
        outcome.trained = f"still training in the background (pid {process.pid}); progress in {log_path}"
        write(f"train_models takes longer than the demo's budget: {outcome.trained}")
        return
    if status != 0:
        outcome.training_error = f"train_models exited with status {status}; see {log_path}"
        write(f"{outcome.training_error}; the demo continues without those models")
        return
    outcome.trained = "ok"
    write(f"Models trained (log in {log_path}).")
