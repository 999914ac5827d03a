"""Simulated market with known elasticities (-4 to -0.5): recovery of elasticities and profit of recommendations.

Prints, against the truth of the simulator: share of products whose estimated elasticity is within ±0.2 of the
true one (target ≥ 80 %), interval coverage, the share of the oracle's profit (true elasticity, same rules) that
the recommended prices capture (target ≥ 95 %), next to two baselines measured in the same run (keep the current
price; a naive pooled OLS elasticity), and the number of rule violations (target 0).

    .venv/bin/python benchmarks/pricing_simulator.py [--products 40] [--seeds 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pricing.ml.optimiser import PricingInput, PricingRules, optimise_price, outcome, rule_violations  # noqa: E402
from pricing.ml.response import PriceResponseModel, PriceResponseParams  # noqa: E402
from pricing.ml.simulator import simulate_market  # noqa: E402

RULES = PricingRules(
    objective="profit", min_margin=0.10, max_step=0.15, price_ending="9", competitor_below=0.25, competitor_above=0.20
)
# loose rules leave the elasticity to decide (no step limit, no competitor band): a harder test of the estimates
LOOSE_RULES = PricingRules(objective="profit", min_margin=0.05, max_step=None)


def naive_elasticity(history, product) -> float:
    rows = history[(history["product"] == product) & (history["units"] > 0)]
    x, y = np.log(rows["price"]), np.log(rows["units"])
    return float(np.polyfit(x, y, 1)[0])


def run(seed: int, n_products: int, rules: PricingRules = RULES) -> dict:
    market = simulate_market(n_products=n_products, seed=seed)
    t0 = time.perf_counter()
    model = PriceResponseModel(PriceResponseParams(fourier_order=1)).fit(market.history)
    fit_s = time.perf_counter() - t0
    estimates = {r.product: r for r in model.elasticities() if r.location is None}
    within = covered = violations = 0
    profit = {"model": 0.0, "naive": 0.0, "keep current": 0.0, "oracle": 0.0}
    naive_within = 0
    for truth in market.truth.itertuples():
        est = estimates[truth.product]
        within += abs(est.elasticity - truth.elasticity) <= 0.2
        covered += est.low <= truth.elasticity <= est.high
        naive = naive_elasticity(market.history, truth.product)
        naive_within += abs(naive - truth.elasticity) <= 0.2
        current = truth.base_price
        true_units = float(np.exp(truth.level))  # at the base price, no promotion, mean season
        true_input = PricingInput(
            current_price=current,
            unit_cost=truth.unit_cost,
            elasticity=truth.elasticity,
            expected_units=true_units,
            competitor_price=truth.competitor_price,
        )
        for name, elasticity in (("model", est.elasticity), ("naive", naive), ("oracle", truth.elasticity)):
            inp = PricingInput(
                current_price=current,
                unit_cost=truth.unit_cost,
                elasticity=elasticity,
                expected_units=true_units,
                competitor_price=truth.competitor_price,
            )
            rec = optimise_price(inp, rules)
            violations += len(rule_violations(inp, rules, rec.price)) if name == "model" else 0
            profit[name] += outcome(true_input, rec.price).profit
        profit["keep current"] += outcome(true_input, current).profit
    n = len(market.truth)
    return {
        "within": within / n,
        "naive_within": naive_within / n,
        "coverage": covered / n,
        "capture": {k: v / profit["oracle"] for k, v in profit.items()},
        "violations": violations,
        "fit_s": fit_s,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=40)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args(argv)
    loose = [run(seed, args.products, LOOSE_RULES) for seed in range(args.seeds)]
    results = [run(seed, args.products) for seed in range(args.seeds)]
    print("rules: min margin 10%, max step 15%, x.x9 endings, within -25%/+20% of the competitor")
    print(
        f"{'seed':>4s} {'|e-e*|<=0.2':>11s} {'naive OLS':>9s} {'95% cover':>9s} {'model':>7s} {'naive':>7s} "
        f"{'keep':>7s} {'violations':>10s} {'fit s':>6s}"
    )
    for seed, r in enumerate(results):
        c = r["capture"]
        print(
            f"{seed:4d} {r['within']:11.1%} {r['naive_within']:9.1%} {r['coverage']:9.1%} {c['model']:7.1%} "
            f"{c['naive']:7.1%} {c['keep current']:7.1%} {r['violations']:10d} {r['fit_s']:6.1f}"
        )
    within = np.mean([r["within"] for r in results])
    capture = np.mean([r["capture"]["model"] for r in results + loose])
    violations = sum(r["violations"] for r in results + loose)
    print("(model / naive / keep = share of the oracle's profit under the same rules)")
    print()
    print(
        "loose rules (min margin 5%, nothing else): profit captured "
        + ", ".join(
            f"seed {i}: model {r['capture']['model']:.1%} / naive {r['capture']['naive']:.1%} / "
            f"keep {r['capture']['keep current']:.1%}"
            for i, r in enumerate(loose)
        )
    )
    print()
    print(f"recovered within ±0.2: {within:.1%} (target >= 80%) -> {'PASS' if within >= 0.8 else 'FAIL'}")
    print(f"profit captured (both rule sets): {capture:.1%} (target >= 95%) -> {'PASS' if capture >= 0.95 else 'FAIL'}")
    print(f"rule violations: {violations} (target 0) -> {'PASS' if violations == 0 else 'FAIL'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
