"""Queue claim benchmark: N agents (threads, one DB connection each) claim items concurrently.

    DATABASE_URL=postgres://... .venv/bin/python benchmarks/queue_claim.py [--agents 10] [--items 500]

Runs in a throw-away test database (``test_<name>``, created and dropped here). Compares, in the same run,
a naive claim (read the top NEW item, then assign it: check-then-act) with ``queue_claim_next``
(``select_for_update(skip_locked=True)`` + a conditional UPDATE). Reports items assigned twice, claims per
second and how many items ended up claimed. Row locks do nothing on SQLite, so run it on PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecomops.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from feedback.models import QueueItem, Review  # noqa: E402
from feedback.services_queue import queue_claim_next  # noqa: E402


def naive_claim(*, agent):
    """The anti-pattern: read the top item, then assign it, with nothing stopping another agent in between."""
    with transaction.atomic():
        item = QueueItem.objects.filter(state=QueueItem.State.NEW).order_by("-priority", "due_at", "pk").first()
        if item is None:
            return None
        time.sleep(0.001)  # the few milliseconds an application spends between read and write
        QueueItem.objects.filter(pk=item.pk).update(
            state=QueueItem.State.ASSIGNED, assigned_to=agent, assigned_at=timezone.now()
        )
        return item


def run(claim, agents, items: int) -> dict:
    QueueItem.objects.all().delete()
    Review.objects.all().delete()
    reviews = Review.objects.bulk_create(
        [
            Review(source=Review.Source.API, channel="bench", external_id=f"b{i}", score=1, text="x")
            for i in range(items)
        ]
    )
    QueueItem.objects.bulk_create([QueueItem(review=r, priority=float(i % 97)) for i, r in enumerate(reviews)])
    claims: list[tuple[str, int]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(agents))
    errors: list[str] = []

    def work(agent):
        try:
            barrier.wait()
            while True:
                item = claim(agent=agent)
                if item is None:
                    break
                with lock:
                    claims.append((agent.username, item.pk))
        except Exception as exc:  # noqa: BLE001
            errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(a,)) for a in agents]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    per_item = Counter(pk for _, pk in claims)
    return {
        "claims returned": len(claims),
        "distinct items": len(per_item),
        "items assigned twice+": sum(1 for n in per_item.values() if n > 1),
        "claims/s": round(len(claims) / seconds, 1),
        "errors": len(errors),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--items", type=int, default=500)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print(f"WARNING: {connection.vendor} has no row locks; set DATABASE_URL to PostgreSQL for a meaningful run")
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        User = get_user_model()
        agents = [User.objects.create(username=f"bench-agent-{i}") for i in range(args.agents)]
        rows = []
        for name, claim in (
            ("naive read-then-update", naive_claim),
            ("queue_claim_next (skip_locked)", queue_claim_next),
        ):
            result = run(claim, agents, args.items)
            rows.append({"method": name, "agents": args.agents, "items": args.items, **result})
        import pandas as pd

        print(f"database: {connection.vendor}")
        print(pd.DataFrame(rows).to_string(index=False))
        print("target: 0 items assigned twice with queue_claim_next")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
