"""A dense panel of demand series: one row per series, one column per period, NaN where nothing was recorded.

Input is long: ``history`` with columns ``series_id, ds, y`` and any known covariates (``price``, promotion
flags, ``holiday``...), ``future`` with ``series_id, ds`` and the same covariates for the horizon (planned
prices and promotions; a covariate given as NaN in every row of a series' ``future`` is not known ahead for that
series, ``Panel.unknown``, while a period with no row is merely unrecorded), and optionally ``static`` with
``series_id, group`` (products that compete, e.g. the same category at the same location: relative price is
computed within a group and period) and ``country`` (the series' holiday calendar, e.g. its store's country; empty
or unsupported: ``build_panel``'s ``country``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .calendar import HOLIDAY_COUNTRIES, holiday_flags

RESERVED = ("series_id", "ds", "y")


@dataclass(frozen=True)
class Panel:
    """Dense arrays of a panel: ``y`` covers history only; covariates cover history and horizon."""

    series_ids: np.ndarray
    dates: pd.DatetimeIndex
    n_history: int
    y: np.ndarray
    covariates: dict[str, np.ndarray] = field(default_factory=dict)
    groups: np.ndarray | None = None
    freq: str = "W"
    # per covariate, the series for which ``future`` gave the covariate as NaN in every one of its periods: not
    # known ahead (no planned price or promotion), as opposed to a period with no record at all
    unknown: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def season(self) -> int:
        return 7 if self.freq == "D" else 52

    @property
    def horizon(self) -> int:
        return len(self.dates) - self.n_history

    @property
    def n_series(self) -> int:
        return len(self.series_ids)


def infer_freq(dates: pd.Series) -> str:
    """'D' when consecutive distinct dates are mostly one day apart, else 'W'."""
    unique = np.sort(pd.to_datetime(pd.Series(dates).unique()))
    if len(unique) < 2:
        return "D"
    step = np.median(np.diff(unique).astype("timedelta64[D]").astype(int))
    return "D" if step < 4 else "W"


def build_panel(
    history: pd.DataFrame,
    *,
    future: pd.DataFrame | None = None,
    horizon: int = 0,
    static: pd.DataFrame | None = None,
    freq: str | None = None,
    country: str = "US",
) -> Panel:
    """Pivot long frames into a Panel; the horizon extends ``horizon`` periods after the last history period."""
    if history.empty:
        raise ValueError("no demand history to build a panel from")
    history = history.copy()
    history["ds"] = pd.to_datetime(history["ds"])
    freq = freq or infer_freq(history["ds"])
    step = pd.Timedelta(days=1 if freq == "D" else 7)
    start, end = history["ds"].min(), history["ds"].max()
    if future is not None and not future.empty:
        future = future.copy()
        future["ds"] = pd.to_datetime(future["ds"])
        horizon = max(horizon, int(round((future["ds"].max() - end) / step)))
    n_history = int(round((end - start) / step)) + 1
    dates = pd.DatetimeIndex([start + i * step for i in range(n_history + horizon)])
    series_ids = np.array(sorted(history["series_id"].unique(), key=str), dtype=object)
    row_of = {sid: i for i, sid in enumerate(series_ids)}

    def _index(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        rows = frame["series_id"].map(row_of).to_numpy()
        cols = np.rint((frame["ds"] - start) / step).astype(int).to_numpy()
        keep = ~pd.isna(rows) & (cols >= 0) & (cols < len(dates))
        return rows[keep].astype(int), cols[keep], keep

    rows, cols, keep = _index(history)
    y = np.full((len(series_ids), n_history), np.nan)
    values = history["y"].to_numpy(dtype=float)[keep]
    y[rows, cols] = 0.0  # observed cells start at zero so duplicate rows add up
    np.add.at(y, (rows, cols), values)

    covariate_names = [c for c in history.columns if c not in RESERVED and c != "group"]
    covariates: dict[str, np.ndarray] = {}
    frames = [history] + ([future] if future is not None and not future.empty else [])
    for name in covariate_names:
        matrix = np.full((len(series_ids), len(dates)), np.nan)
        for frame in frames:
            if name not in frame.columns:
                continue
            r, c, k = _index(frame)
            matrix[r, c] = frame[name].to_numpy(dtype=float)[k]
        covariates[name] = matrix
    unknown: dict[str, np.ndarray] = {}
    if future is not None and not future.empty:
        r, _, k = _index(future)
        for name in covariate_names:
            if name in future.columns and not name.startswith("holiday"):
                given = np.bincount(r, minlength=len(series_ids))
                blank = np.bincount(
                    r, weights=np.isnan(future[name].to_numpy(dtype=float)[k]), minlength=len(series_ids)
                )
                if (flags := (given > 0) & (blank == given)).any():
                    unknown[name] = flags
    if "holiday" not in covariates:
        countries = _countries(static, series_ids, default=country)
        holiday = np.empty((len(series_ids), len(dates)))
        for code in dict.fromkeys(countries):
            holiday[countries == code] = holiday_flags(dates, freq=freq, country=code)
        covariates["holiday"] = holiday

    groups = None
    if static is not None and "group" in static.columns:
        group_of = dict(zip(static["series_id"], static["group"], strict=False))
        labels = pd.Series([group_of.get(sid, "") for sid in series_ids]).astype(str)
        groups = pd.factorize(labels)[0]
    return Panel(
        series_ids=series_ids,
        dates=dates,
        n_history=n_history,
        y=y,
        covariates=covariates,
        groups=groups,
        freq=freq,
        unknown=unknown,
    )


def panel_tail(panel: Panel, offset: int) -> Panel:
    """The panel without its first ``offset`` periods (the global model trains on recent history only)."""
    if offset <= 0:
        return panel
    return Panel(
        series_ids=panel.series_ids,
        dates=panel.dates[offset:],
        n_history=panel.n_history - offset,
        y=panel.y[:, offset:],
        covariates={k: v[:, offset:] for k, v in panel.covariates.items()},
        groups=panel.groups,
        freq=panel.freq,
        unknown=panel.unknown,
    )


def panel_to_long(panel: Panel, columns: dict[str, np.ndarray], *, start: int) -> pd.DataFrame:
    """Long frame ``series_id, ds, step, <columns>`` for periods ``start..start+width`` of the panel."""
    width = next(iter(columns.values())).shape[1]
    n = panel.n_series
    frame = pd.DataFrame(
        {
            "series_id": np.repeat(panel.series_ids, width),
            "ds": np.tile(panel.dates[start : start + width].to_numpy(), n),
            "step": np.tile(np.arange(1, width + 1), n),
        }
    )
    for name, values in columns.items():
        frame[name] = np.asarray(values, dtype=float).reshape(-1)
    return frame


def _countries(static: pd.DataFrame | None, series_ids: np.ndarray, *, default: str) -> np.ndarray:
    """Each series' holiday calendar: ``static``'s ``country`` when it names a supported one, else ``default``."""
    given = {}
    if static is not None and "country" in static.columns:
        given = dict(zip(static["series_id"], static["country"], strict=False))
    codes = [str(given.get(sid) or "").upper() for sid in series_ids]
    return np.array([code if code in HOLIDAY_COUNTRIES else default for code in codes], dtype=object)
