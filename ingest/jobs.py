"""Imports as background jobs (``import:olist``, ``import:dominicks``), so the admin or API can start them.

Parameters: ``{"directory": "<folder>", "encoding": "auto"}``. The folder must lie under ``../shared/data``
or ``MEDIA_ROOT/imports`` (a job never reads arbitrary server paths). The result is the import report
(rejected rows and warnings each capped at ``MAX_REJECTED_IN_RESULT``; the job log holds the printed report).
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from ecomops.jobs import JobContext, job_handler

from .dominicks import dominicks_import
from .olist import olist_import
from .reader import ENCODINGS
from .report import ImportReport
from .services import shared_data_dir

MAX_REJECTED_IN_RESULT = 1000


def allowed_import_roots() -> list[Path]:
    return [shared_data_dir().resolve(), (Path(settings.MEDIA_ROOT) / "imports").resolve()]


def import_directory(parameters: dict) -> Path:
    """The folder named in the job parameters, checked to lie under an allowed root."""
    raw = parameters.get("directory")
    if not raw:
        raise ValueError("parameters.directory is required")
    directory = Path(str(raw)).resolve()
    roots = allowed_import_roots()
    if not any(directory == root or root in directory.parents for root in roots):
        raise ValueError(f"{directory} is not under an import folder ({', '.join(str(r) for r in roots)})")
    return directory


def _run(ctx: JobContext, params: dict, function) -> dict:
    directory = import_directory(params)
    encoding = params.get("encoding", "auto")
    if encoding not in ENCODINGS:
        raise ValueError(f"parameters.encoding must be one of {', '.join(ENCODINGS)}")
    ctx.progress(5, f"importing {directory}")
    report: ImportReport = function(directory=directory, encoding=encoding)
    ctx.log(report.as_text(max_rejected=200))
    if not report.ok:
        raise RuntimeError("; ".join(report.errors))
    ctx.progress(100, report.summary)
    result = report.as_dict()
    result["rejected"] = result["rejected"][:MAX_REJECTED_IN_RESULT]
    result["warnings"] = result["warnings"][:MAX_REJECTED_IN_RESULT]
    return result


@job_handler("import:olist", queue="default", time_limit=1800, description="Import an Olist CSV folder")
def import_olist_job(ctx: JobContext, params: dict) -> dict:
    return _run(ctx, params, olist_import)


@job_handler("import:dominicks", queue="default", time_limit=1800, description="Import a Dominick's OJ folder")
def import_dominicks_job(ctx: JobContext, params: dict) -> dict:
    return _run(ctx, params, dominicks_import)
