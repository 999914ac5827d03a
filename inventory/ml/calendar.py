"""Holiday calendars computed offline (no downloads): the retail holidays that move demand in the US and Brazil."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd


def easter(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l = (32 + 2 * e + 2 * i - h - k) % 7  # noqa: E741 - the algorithm's own name
    m = (a + 11 * h + 22 * l) // 451
    month = (h + l - 7 * m + 114) // 31
    day = ((h + l - 7 * m + 114) % 31) + 1
    return date(year, month, day)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    offset = (weekday - first.weekday()) % 7
    if n > 0:
        return first + timedelta(days=offset + 7 * (n - 1))
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    last = nxt - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


HOLIDAY_COUNTRIES = ("US", "BR")  # the calendars below; any other code reads as US


def holidays(year: int, country: str = "US") -> list[date]:
    """Demand-relevant holidays of a year."""
    if country.upper() == "BR":
        e = easter(year)
        return [
            date(year, 1, 1),
            e - timedelta(days=48),  # carnival monday
            e - timedelta(days=47),  # carnival tuesday
            e - timedelta(days=2),  # good friday
            date(year, 4, 21),
            date(year, 5, 1),
            _nth_weekday(year, 5, 6, 2),  # mothers' day
            _nth_weekday(year, 8, 6, 2),  # fathers' day
            date(year, 9, 7),
            date(year, 10, 12),
            date(year, 11, 2),
            date(year, 11, 15),
            _nth_weekday(year, 11, 3, 4) + timedelta(days=1),  # black friday
            date(year, 12, 24),
            date(year, 12, 25),
            date(year, 12, 31),
        ]
    thanksgiving = _nth_weekday(year, 11, 3, 4)
    return [
        date(year, 1, 1),
        _nth_weekday(year, 2, 6, 1) + timedelta(days=7 * (year >= 2004)),  # super bowl sunday (approx.)
        easter(year),
        _nth_weekday(year, 5, 0, -1),  # memorial day
        date(year, 7, 4),
        _nth_weekday(year, 9, 0, 1),  # labor day
        thanksgiving,
        thanksgiving + timedelta(days=1),
        date(year, 12, 24),
        date(year, 12, 25),
        date(year, 12, 31),
    ]


def holiday_flags(dates: pd.DatetimeIndex, *, freq: str, country: str = "US") -> np.ndarray:
    """1.0 for a period (day, or the 7 days from a weekly period's start) that contains a holiday."""
    if len(dates) == 0:
        return np.zeros(0)
    years = range(dates.min().year - 1, dates.max().year + 2)
    days = {d for y in years for d in holidays(y, country)}
    width = 1 if freq == "D" else 7
    flags = np.zeros(len(dates))
    for i, ds in enumerate(dates):
        start = ds.date()
        flags[i] = float(any(start + timedelta(days=k) in days for k in range(width)))
    return flags
