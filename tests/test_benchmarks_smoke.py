"""The load benchmark in smoke mode (issue 7 point 5): the benchmark code itself must not rot.

``benchmarks/run.py --smoke`` (N = 200, 2 seconds a scenario) runs as a subprocess against the
PostgreSQL server of this test run: it creates and drops its own database ``scim_bench_smoke_<pid>``
there, starts gunicorn on a loopback port and stops it again. It needs PostgreSQL, so on SQLite
the test is skipped. It measures nothing worth reading; it checks that every scenario runs
without errors, or reports ``n/a`` where the server does not support it yet.

The tests below it need neither: they check, with made-up measurements, how ``--slices`` merges
a scenario's slices and pools its interleaved baseline slices into the rate its ratio is to.
"""

from __future__ import annotations

import importlib.util
import json
import os
import runpy
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from benchmarks.loadgen import LoadResult, merge_results
from benchmarks.run import (
    MIN_BASELINE_SLICE,
    baseline_slice_seconds,
    interleave,
    parse_args,
    settings_environment,
    slice_ratios,
    source_state,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get("DATABASE_URL", "")
#: The smoke run takes about 35 s on a quiet two-core machine (issue 7 wants it under a minute);
#: this bound only stops a hung run, with room for a machine busy with other work.
TIMEOUT_SECONDS = 180


@pytest.mark.postgres_only
@pytest.mark.skipif(
    not DATABASE_URL.startswith(("postgres://", "postgresql://")),
    reason="the benchmark needs PostgreSQL: set DATABASE_URL=postgres://... (tests/run.py does)",
)
@pytest.mark.skipif(
    importlib.util.find_spec("gunicorn") is None,
    reason="gunicorn is not installed (dependency group 'bench')",
)
def test_benchmark_smoke_runs_every_scenario_without_errors(tmp_path: Path) -> None:
    output = tmp_path / "smoke.json"
    command = [
        sys.executable,
        str(REPO_ROOT / "benchmarks" / "run.py"),
        "--smoke",
        "--database-url",
        DATABASE_URL,
        "--output",
        str(output),
    ]
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        # SIGTERM first: run.py unwinds, stopping gunicorn and dropping its database.
        process.terminate()
        stdout, stderr = process.communicate(timeout=30)
        pytest.fail(f"benchmarks/run.py --smoke took over {TIMEOUT_SECONDS}s\n{stdout}\n{stderr}")
    completed = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    log = f"stdout:\n{completed.stdout}\nstderr:\n{completed.stderr}"
    assert completed.returncode == 0, log
    report = json.loads(output.read_text(encoding="utf-8"))
    (size,) = report["sizes"]
    assert size["users"] == 200
    scenarios = {s["name"]: s for s in size["scenarios"]}
    assert {"baseline", "get_user", "post_user", "group_big", "bulk_users"} <= set(scenarios)
    for name, scenario in scenarios.items():
        assert scenario["status"] in {"ok", "n/a"}, (name, scenario["note"], log)
        if scenario["status"] == "ok":
            assert scenario["requests"] > 0, name
            assert scenario["error_rate"] == 0, (name, scenario["statuses"], log)
    # The baseline is always measurable: it is the denominator of every ratio.
    assert scenarios["baseline"]["status"] == "ok"
    assert size["baseline_rps"] > 0
    assert report["meta"]["source_changed"] is False, "the source changed while the smoke run ran"


# --- --slices: merging and the interleaved baseline, without a server -----------------------


def test_merge_results_adds_counts_and_pools_latencies() -> None:
    fast = LoadResult(
        requests=1000,
        errors=1,
        seconds=5.0,
        client_cpu_seconds=0.5,
        latencies=[0.010] * 999 + [0.5],
        statuses={"200": 999, "500": 1},
    )
    slow = LoadResult(
        requests=500, seconds=5.0, client_cpu_seconds=0.3, latencies=[0.020] * 500, statuses={"200": 500}
    )
    merged = merge_results([fast, slow])
    assert (merged.requests, merged.errors) == (1500, 1)
    assert merged.seconds == pytest.approx(10.0)
    assert merged.client_cpu_seconds == pytest.approx(0.8)
    assert merged.statuses == {"200": 1499, "500": 1}
    assert len(merged.latencies) == 1500
    # All requests over all seconds: 150/s, not the mean of 200/s and 100/s taken another way.
    assert merged.rps == pytest.approx(150.0)
    assert merged.error_rate == pytest.approx(1 / 1500)
    # Nearest rank over the pooled latencies: rank 750 is fast, rank 1485 is one of the slow slice's.
    assert merged.percentile(0.50) == pytest.approx(0.010)
    assert merged.percentile(0.99) == pytest.approx(0.020)
    assert merged.percentile(1.0) == pytest.approx(0.5)
    # The parts are left as they were.
    assert fast.statuses == {"200": 999, "500": 1} and len(fast.latencies) == 1000
    assert merge_results([]).rps == 0.0


def test_interleave_alternates_slices_and_pools_the_baseline_rate() -> None:
    calls: list[tuple[str, float]] = []
    scenario_parts = iter(
        [
            LoadResult(requests=999, errors=999, seconds=2.0, latencies=[9.0] * 999, statuses={"500": 999}),
            LoadResult(requests=1000, seconds=5.0, client_cpu_seconds=0.5, latencies=[0.010] * 1000),
            LoadResult(requests=500, seconds=5.0, client_cpu_seconds=0.3, latencies=[0.020] * 500),
        ]
    )
    # 600/s, 400/s, then 150 requests in 0.6 s (a slice stretched by its drain): 250/s.
    baseline_parts = iter(
        [
            LoadResult(requests=300, seconds=0.5),
            LoadResult(requests=200, seconds=0.5),
            LoadResult(requests=150, seconds=0.6),
        ]
    )

    def scenario(seconds: float) -> LoadResult:
        calls.append(("scenario", seconds))
        return next(scenario_parts)

    def baseline(seconds: float) -> LoadResult:
        calls.append(("baseline", seconds))
        return next(baseline_parts)

    done = interleave(scenario, baseline, duration=10.0, warmup=2.0, slices=2, baseline_slice=0.5)

    # The warm-up once, then a baseline slice before, between and after the two scenario slices.
    assert calls == [
        ("scenario", 2.0),
        ("baseline", 0.5),
        ("scenario", 5.0),
        ("baseline", 0.5),
        ("scenario", 5.0),
        ("baseline", 0.5),
    ]
    assert [part.rps for part in done.scenario_slices] == [200.0, 100.0]
    assert [part.rps for part in done.baseline_slices] == pytest.approx([600.0, 400.0, 250.0])
    # The warm-up's requests and errors are discarded.
    merged = done.scenario
    assert (merged.requests, merged.errors, merged.seconds) == (1500, 0, 10.0)
    assert merged.rps == pytest.approx(150.0)
    assert merged.client_cpu_seconds == pytest.approx(0.8)
    assert merged.percentile(0.99) == pytest.approx(0.020)
    # 650 baseline requests over 1.6 s, not the mean of the slices' rates (416.7/s).
    assert done.baseline_rps == pytest.approx(406.25)
    assert merged.rps / done.baseline_rps == pytest.approx(0.36923, abs=1e-5)
    # Per slice: 200 / mean(600, 400) and 100 / mean(400, 250).
    assert slice_ratios([200.0, 100.0], [600.0, 400.0, 250.0]) == pytest.approx([0.4, 100 / 325])


def test_interleave_without_warmup_starts_with_a_baseline_slice() -> None:
    calls: list[str] = []

    def phase(name: str) -> Callable[[float], LoadResult]:
        def run(seconds: float) -> LoadResult:
            calls.append(f"{name} {seconds:g}")
            return LoadResult(requests=10, seconds=seconds)

        return run

    done = interleave(phase("S"), phase("B"), duration=3.0, warmup=0.0, slices=3, baseline_slice=0.25)
    assert calls == ["B 0.25", "S 1", "B 0.25", "S 1", "B 0.25", "S 1", "B 0.25"]
    assert (len(done.scenario_slices), len(done.baseline_slices)) == (3, 4)
    assert done.scenario.rps == pytest.approx(10.0)
    assert done.baseline_rps == pytest.approx(40.0)


def test_slice_ratios_need_a_baseline_on_either_side() -> None:
    # --slices 1: one window between the baselines before and after it is its ratio.
    assert slice_ratios([300.0], [500.0, 700.0]) == pytest.approx([0.5])
    assert slice_ratios([300.0], []) == []
    assert slice_ratios([], [500.0]) == []
    assert slice_ratios([300.0, 300.0], [500.0, 700.0]) == []
    assert slice_ratios([300.0], [0.0, 0.0]) == [None]


def test_baseline_slices_share_the_bracket() -> None:
    # Default --bracket 4 --slices 5: six slices of 2/3 s, 4 s per scenario as with one slice.
    assert baseline_slice_seconds(4.0, 5) == pytest.approx(4 / 6)
    assert 6 * baseline_slice_seconds(4.0, 5) == pytest.approx(4.0)
    assert baseline_slice_seconds(2.0, 5) == pytest.approx(1 / 3)
    assert baseline_slice_seconds(1.0, 10) == MIN_BASELINE_SLICE == 0.25


def test_slices_options() -> None:
    assert (parse_args([]).slices, parse_args([]).bracket) == (5, 4.0)
    assert parse_args(["--slices", "1"]).slices == 1
    assert parse_args(["--slices", "3", "--bracket", "2"]).slices == 3
    # No baseline, nothing to interleave: one window, and smoke stays as cheap as it was.
    assert parse_args(["--bracket", "0", "--slices", "5"]).slices == 1
    smoke = parse_args(["--smoke"])
    assert (smoke.slices, smoke.bracket, smoke.duration) == (1, 0.0, 2.0)
    with pytest.raises(SystemExit):
        parse_args(["--slices", "0"])


def test_the_source_state_names_the_commit_the_servers_import() -> None:
    # A run compares its source at the start and at the end (gunicorn imports the working
    # tree anew for every size); unchanged source gives the same state.
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    ).stdout
    if not head:
        pytest.skip("not a git checkout")
    state = source_state()
    assert state.startswith(head) and state == source_state()


# --- --without-log: what the provisioning log costs, measured on request ---------------------


@pytest.mark.parametrize(("flags", "logged"), [([], True), (["--without-log"], False)])
def test_without_log_turns_the_provisioning_log_off_in_the_benchmark_settings(
    monkeypatch: pytest.MonkeyPatch, flags: list[str], logged: bool
) -> None:
    args = parse_args(flags)
    for name, value in settings_environment(args).items():
        monkeypatch.setenv(name, value)
    monkeypatch.syspath_prepend(str(REPO_ROOT / "example_project"))
    settings = runpy.run_path(str(REPO_ROOT / "benchmarks" / "settings.py"))
    assert settings["SCIM"].get("LOG_ENABLED", True) is logged
    # Everything else stays the example project's.
    assert settings["SCIM"]["RESOURCE_TYPES"] == {"Device": {"ADAPTER": "devices.scim.DeviceAdapter"}}
