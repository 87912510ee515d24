"""Background jobs of ops: spreadsheet imports too large to run inside a web request."""

from __future__ import annotations

from civicgrid.jobs import job
from civicgrid.ops.importruns import claim_next, run_process


@job
def process_import_run() -> bool:
    """Claim the oldest waiting import run and carry it through its phase; False when none waits."""
    run = claim_next()
    if run is None:
        return False
    run_process(run)
    return True
