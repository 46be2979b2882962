"""The served app's start-up heap is frozen out of full collections (medsvc.kit.heap), checked in a
process of its own: freezing the test process would keep every earlier test's objects."""

import json
import os
import subprocess
import sys
from pathlib import Path

FACTORY = """
import gc, json
from medsvc.app import asgi_app
tracked_before = len(gc.get_objects())
asgi_app()
print(json.dumps({"before": tracked_before, "frozen": gc.get_freeze_count(),
                  "tracked": len(gc.get_objects())}))
"""


def test_the_served_app_leaves_its_start_up_objects_out_of_full_collections(
    tmp_path: Path,
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", FACTORY],
        cwd=tmp_path,
        env={**os.environ, "MEDSVC_DATABASE_URL": "sqlite:///./var/medsvc.db"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    heap = json.loads(result.stdout.splitlines()[-1])
    # Everything alive once the app is built is frozen; a full pass scans almost nothing.
    assert heap["frozen"] > heap["before"] > 10_000
    assert heap["tracked"] < 100
