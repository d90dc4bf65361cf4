from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, settings

# CI shares two cores with whatever else runs: slow generation or a slow example is load, not a finding
# derandomized: a CI run tries the same inputs as the run before it, so a failure there is reproducible here
settings.register_profile("seccenter", suppress_health_check=[HealthCheck.too_slow], deadline=None, derandomize=True)
# the long fuzzing run, by hand, explores new inputs each time: HYPOTHESIS_PROFILE=long pytest -m reliability
settings.register_profile("long", parent=settings.get_profile("seccenter"), max_examples=20_000, derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "seccenter"))

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"
WORKLOADS = REPO.parent / "shared" / "bench" / "make_workloads.py"


@pytest.fixture
def corpus() -> Path:
    """The shared real-data corpus; tests that need it skip cleanly where it is absent."""
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is not present")
    return CORPUS


@pytest.fixture(scope="session")
def workloads() -> ModuleType:
    """The shared deterministic workload generator (``make_pcap``, ``make_files``…); skips where it is absent."""
    if not WORKLOADS.exists():
        pytest.skip("../shared/bench/make_workloads.py is not present")
    spec = importlib.util.spec_from_file_location("make_workloads", WORKLOADS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "seccenter.db"
