#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecomops.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
    # Without a broker, a job that a command set off (re-scoring the reviews after train_models activated a new
    # sentiment version, say) runs in a background thread of this process: let it finish before the process ends,
    # or it dies with it and its JobRun stays "running".
    from ecomops.jobs import job_wait_all_background

    job_wait_all_background(announce=lambda line: print(line, file=sys.stderr))


if __name__ == "__main__":
    main()
