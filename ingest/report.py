"""What an import did: rows read per file, rows created / updated per table, every rejected row, and every
row kept without one of its optional values (a warning: the value was bad, the rest of the row was good; a
new row is written without it, an existing row keeps its stored value).

Both importers (Olist, Dominick's), and anything later that imports CSV (admin, API), fill one
:class:`ImportReport`, so a person always reads the same table and the same list of reasons.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class RowProblem:
    """A bad value in one row: the file, its line (1 = header), the column and why."""

    file: str
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line} [{self.field}] {self.reason}"


@dataclass(frozen=True)
class RejectedRow(RowProblem):
    """One reason a row was not imported."""


@dataclass(frozen=True)
class ClearedField(RowProblem):
    """A row that was imported without one optional value, because that value was bad.

    The value counts as not given (``Incoming.keep_stored``): a row created by this import is left without
    it, a row already stored keeps its value. One wording, true in both cases.
    """

    OUTCOME = "value not imported: a new row is left without it, an existing row keeps its stored value"

    def __str__(self) -> str:
        return f"{super().__str__()}; {self.OUTCOME}"

    def as_dict(self) -> dict:
        return {**asdict(self), "outcome": self.OUTCOME}


@dataclass
class TableCount:
    """Rows written to one table: inserted, changed, and already identical (left alone)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class FileReport:
    """One input file: rows read, rejected and kept with field(s) cleared, what it wrote per table, file error."""

    file: str
    read: int = 0
    rejected: int = 0
    cleared: int = 0  # rows kept, each without one or more bad optional values (see ImportReport.warnings)
    tables: dict[str, TableCount] = field(default_factory=dict)
    error: str = ""
    notes: list[str] = field(default_factory=list)

    def table(self, label: str) -> TableCount:
        return self.tables.setdefault(label, TableCount())

    @property
    def created(self) -> int:
        return sum(t.created for t in self.tables.values())

    @property
    def updated(self) -> int:
        return sum(t.updated for t in self.tables.values())


@dataclass
class ImportReport:
    """The outcome of one import run (see the module docstring)."""

    source: str
    files: dict[str, FileReport] = field(default_factory=dict)
    rejected: list[RejectedRow] = field(default_factory=list)
    warnings: list[ClearedField] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def file(self, name: str) -> FileReport:
        return self.files.setdefault(name, FileReport(file=name))

    def reject(self, *, file: str, line: int, field: str, reason: str) -> None:
        self.rejected.append(RejectedRow(file=file, line=line, field=field, reason=reason))

    def warn(self, *, file: str, line: int, field: str, reason: str) -> None:
        self.warnings.append(ClearedField(file=file, line=line, field=field, reason=reason))

    @property
    def errors(self) -> list[str]:
        return [f"{f.file}: {f.error}" for f in self.files.values() if f.error]

    @property
    def ok(self) -> bool:
        """No file-level error (rejected rows alone do not make an import fail)."""
        return not self.errors

    @property
    def created(self) -> int:
        return sum(f.created for f in self.files.values())

    @property
    def updated(self) -> int:
        return sum(f.updated for f in self.files.values())

    @property
    def rejected_rows(self) -> int:
        return sum(f.rejected for f in self.files.values())

    @property
    def cleared_rows(self) -> int:
        """Rows kept without one or more of their (bad) optional values."""
        return sum(f.cleared for f in self.files.values())

    @property
    def summary(self) -> str:
        return (
            f"{self.created} created, {self.updated} updated, {self.rejected_rows} rows rejected"
            f" ({len(self.rejected)} reasons), {self.cleared_rows} rows kept with {len(self.warnings)} bad optional"
            " value(s) not imported"
        )

    def as_dict(self) -> dict:
        return {
            "source": self.source,
            "seconds": round(self.seconds, 3),
            "files": {
                name: {
                    "read": f.read,
                    "rejected": f.rejected,
                    "cleared": f.cleared,
                    "created": f.created,
                    "updated": f.updated,
                    "tables": {label: asdict(count) for label, count in f.tables.items()},
                    "error": f.error,
                    "notes": list(f.notes),
                }
                for name, f in self.files.items()
            },
            "rejected": [asdict(r) for r in self.rejected],
            "warnings": [w.as_dict() for w in self.warnings],
            "notes": list(self.notes),
        }

    def as_text(self, *, max_rejected: int | None = 200) -> str:
        """A plain-text table for the console, then notes, rejected rows and rows kept without a bad value.

        ``max_rejected`` caps each of the two lists.
        """
        header = ("file", "read", "rejected", "warned", "table", "created", "updated", "unchanged")
        rows: list[tuple] = []
        for f in self.files.values():
            tables = list(f.tables.items()) or [("-", TableCount())]
            for i, (label, count) in enumerate(tables):
                first = i == 0
                rows.append(
                    (
                        f.file if first else "",
                        str(f.read) if first else "",
                        str(f.rejected) if first else "",
                        str(f.cleared) if first else "",
                        label,
                        str(count.created),
                        str(count.updated),
                        str(count.unchanged),
                    )
                )
        widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

        def line(cells) -> str:
            return "  ".join(
                str(c).ljust(w) if i in (0, 4) else str(c).rjust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            )

        out = [f"Import of {self.source} in {self.seconds:.1f} s", line(header), line(["-" * w for w in widths])]
        out += [line(r) for r in rows]
        out.append(f"total: {self.summary}")
        for error in self.errors:
            out.append(f"ERROR {error}")
        for f in self.files.values():
            for note in f.notes:
                out.append(f"note {f.file}: {note}")
        for note in self.notes:
            out.append(f"note: {note}")
        for title, entries in (
            ("rejected rows (file:line [field] reason):", self.rejected),
            ("rows kept without a bad optional value (file:line [field] reason):", self.warnings),
        ):
            if entries:
                out.append(title)
                shown = entries if max_rejected is None else entries[:max_rejected]
                out += [f"  {entry}" for entry in shown]
                if len(shown) < len(entries):
                    out.append(f"  ... and {len(entries) - len(shown)} more")
        return "\n".join(out)
