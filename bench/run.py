"""Run every benchmark and write one JSON record: ``python bench/run.py``.

Each bench/<name>.py has ``main()`` (prints its figures, writes bench/results/<name>.json);
this runs them one after another (a few minutes in all) and gathers the records into
bench/results/all.json. Figures are medians; compare only figures from the same run.
"""
from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BENCHES = ("ops", "chain", "mlp", "overhead", "memory", "train", "endtoend")


def main(names=BENCHES):
    from bench.common import machine
    record = {"machine": machine(), "seconds": {}}
    for name in names:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ImportError as err:
            print(f"[{name}] skipped: {err}")
            continue
        print(f"== {name} ==", flush=True)
        start = time.perf_counter()
        module.main()
        record["seconds"][name] = round(time.perf_counter() - start, 1)
        result = ROOT / "bench" / "results" / f"{name}.json"
        if result.exists():
            record[name] = json.loads(result.read_text())
    out = ROOT / "bench" / "results" / "all.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2))
    print(f"wrote {out} ({sum(record['seconds'].values()):.0f} s)")


if __name__ == "__main__":
    main(sys.argv[1:] or BENCHES)
