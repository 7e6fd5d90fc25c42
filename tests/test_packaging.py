"""docker/: the Dockerfile passes hadolint, the compose file parses, and compose starts the very
commands the loopback topology test runs. (No Docker engine runs here; this is what can be checked.)"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.test_topology import SERVE_ARGS, WORKER_ARGS

DOCKER = Path(__file__).resolve().parents[1] / "docker"


def _tool(name: str) -> str:
    found = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not Path(found).exists():
        pytest.skip(f"{name} is not installed (.ci/run installs it)")
    return found


def test_the_dockerfile_passes_hadolint() -> None:
    result = subprocess.run(  # noqa: S603 (a fixed linter on our own file)
        [_tool("hadolint"), "--no-color", str(DOCKER / "Dockerfile")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_parses_and_runs_the_tested_topology() -> None:
    env = os.environ | {"POSTGRES_PASSWORD": "pw", "ENCORE_ADMIN_KEY": "adm", "ENCORE_SECRET": "s" * 40}
    result = subprocess.run(  # noqa: S603
        [_tool("docker-compose"), "-f", str(DOCKER / "compose.yaml"), "config"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert set(services) == {"exchange", "worker", "proxy", "postgres", "redis"}
    assert services["exchange"]["command"] == SERVE_ARGS
    assert services["worker"]["command"] == WORKER_ARGS
    for name in ("exchange", "worker"):  # both share the database, Redis and the index volume
        environment = services[name]["environment"]
        assert environment["ENCORE_DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert environment["ENCORE_REDIS_URL"].startswith("redis://")
        mounts = [v if isinstance(v, str) else f"{v['source']}:{v['target']}" for v in services[name]["volumes"]]
        assert any(m.split(":")[1] == "/data" and m.startswith("encore-data") for m in mounts), mounts
