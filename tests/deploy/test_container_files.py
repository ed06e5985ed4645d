"""Static checks of Dockerfile, compose.yaml and .dockerignore (no Docker engine runs here).

They pin the wiring the operations guide promises: non-root image with an init process and an
exec-form `nbaprops scheduler start`, a heartbeat health check, state in a volume; in compose,
PostgreSQL behind a health check, the tracking server published on 127.0.0.1 only, and a stop
grace period longer than the scheduler's job stop deadline. `hadolint` runs when installed.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "compose.yaml"
STATE_DIR = "/var/lib/nbaprops"


# ---------------------------------------------------------------- Dockerfile parsing


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, rest = line.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


def exec_form(arguments: str) -> list[str]:
    """The JSON array of an exec-form instruction; fails on shell form."""
    assert arguments.startswith("["), f"shell form, not exec form: {arguments}"
    value = json.loads(arguments)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value)
    return value


@pytest.fixture(scope="module")
def instructions() -> list[tuple[str, str]]:
    return dockerfile_instructions(DOCKERFILE.read_text())


def _only(instructions: list[tuple[str, str]], keyword: str) -> str:
    found = [args for kw, args in instructions if kw == keyword]
    assert len(found) == 1, f"expected one {keyword}, found {len(found)}"
    return found[0]


def test_slim_python_311_base(instructions: list[tuple[str, str]]) -> None:
    base = _only(instructions, "FROM")
    assert re.fullmatch(r"python:3\.11-slim(-\w+)?", base), base


def test_runs_as_a_non_root_user(instructions: list[tuple[str, str]]) -> None:
    users = [args for kw, args in instructions if kw == "USER"]
    assert users, "no USER: the container would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    runs = [i for i, (kw, _) in enumerate(instructions) if kw == "RUN"]
    last_user = max(i for i, (kw, _) in enumerate(instructions) if kw == "USER")
    assert all(i < last_user for i in runs), "a RUN after USER would be missing root"


def test_init_process_and_exec_form_entry_point(instructions: list[tuple[str, str]]) -> None:
    installs = " ".join(args for kw, args in instructions if kw == "RUN")
    assert re.search(r"apt-get install[^&]*\btini\b", installs), "tini is not installed"
    entrypoint = exec_form(_only(instructions, "ENTRYPOINT"))
    command = exec_form(_only(instructions, "CMD"))
    assert entrypoint[0].endswith("tini") and entrypoint[-1] == "--"
    assert entrypoint + command == ["/usr/bin/tini", "--", "nbaprops", "scheduler", "start"]


def test_healthcheck_uses_the_status_check(instructions: list[tuple[str, str]]) -> None:
    healthcheck = _only(instructions, "HEALTHCHECK")
    options, _, command = healthcheck.partition("CMD ")
    assert exec_form(command.strip()) == ["nbaprops", "status", "--check"]
    assert "--start-period=" in options


def test_state_lives_in_a_volume(instructions: list[tuple[str, str]]) -> None:
    envs = " ".join(args for kw, args in instructions if kw == "ENV")
    assert f"NBAPROPS_HOME={STATE_DIR}" in envs
    assert STATE_DIR in exec_form(_only(instructions, "VOLUME"))
    assert not [args for kw, args in instructions if kw == "EXPOSE"], "nothing is exposed"


def test_dependencies_install_in_a_layer_before_the_source(
    instructions: list[tuple[str, str]],
) -> None:
    copies = [(i, args) for i, (kw, args) in enumerate(instructions) if kw == "COPY"]
    assert copies[0][1].startswith("pyproject.toml"), "copy pyproject.toml first"
    deps = next(
        i for i, (kw, args) in enumerate(instructions) if kw == "RUN" and "requirements" in args
    )
    assert copies[0][0] < deps < copies[1][0], "dependencies install before the source lands"
    for _, args in copies:
        source = args.split()[0]
        assert (ROOT / source).exists(), f"COPY {source}: not in the repository"


def test_the_dependency_layer_installs_exactly_the_project_requirements(
    instructions: list[tuple[str, str]],
) -> None:
    """Run the Dockerfile's own extraction snippet on the real pyproject.toml."""
    run = next(args for kw, args in instructions if kw == "RUN" and "tomllib" in args)
    words = shlex.split(run.split(">", 1)[0])
    code = words[words.index("-c") + 1]
    default_extras = re.search(r'ARG NBAPROPS_EXTRAS="([^"]*)"', DOCKERFILE.read_text())
    assert default_extras is not None
    out = subprocess.run(
        [sys.executable, "-c", code, default_extras.group(1)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    assert out == project["dependencies"] + extras["postgres"] + extras["dask"]


def test_dockerignore_keeps_state_and_secrets_out() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for entry in (".git", ".venv", ".nbaprops", "mlruns", ".env", "*.env", "tests"):
        assert entry in ignored, entry
    for needed in ("nbaprops", "jobs", "governance", "templates", "pyproject.toml", "README.md"):
        assert needed not in ignored, needed


def test_hadolint() -> None:
    hadolint = shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed; the structural checks above still ran")
    result = subprocess.run(
        [hadolint, "--failure-threshold", "warning", str(DOCKERFILE)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# ---------------------------------------------------------------- compose.yaml


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(compose["services"])


def seconds(duration: str | int | float) -> float:
    """A compose duration ('3m', '1m30s', '90s', '2h') in seconds."""
    if isinstance(duration, int | float):
        return float(duration)
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|ms|m|s|us)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, f"bad duration {duration!r}"
    scale = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6}
    return sum(float(n) * scale[u] for n, u in parts)


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def command_words(service: dict[str, Any]) -> list[str]:
    command = service["command"]
    return [str(word) for word in command] if isinstance(command, list) else shlex.split(command)


def option(words: list[str], name: str) -> str:
    return words[words.index(name) + 1]


def test_the_services(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == {"postgres", "mlflow", "scheduler", "dask-scheduler", "dask-worker"}
    for name in ("dask-scheduler", "dask-worker"):
        assert services[name]["profiles"] == ["dask"]
    for name in ("postgres", "mlflow", "scheduler"):
        assert "profiles" not in services[name], f"{name} must start without a profile"
    for name, service in services.items():
        assert not service.get("privileged"), name
        assert service.get("network_mode") != "host", name
        assert service.get("user") not in ("root", "0"), name


def test_every_published_port_is_bound_to_localhost(services: dict[str, dict[str, Any]]) -> None:
    published = {}
    for name, service in services.items():
        for port in service.get("ports", []):
            if isinstance(port, dict):
                assert port.get("host_ip") == "127.0.0.1", (name, port)
            else:
                assert str(port).startswith("127.0.0.1:"), (name, port)
            published[name] = port
    assert published == {"mlflow": "127.0.0.1:5000:5000"}


def test_postgres_keeps_its_data_and_reports_health(
    services: dict[str, dict[str, Any]], compose: dict[str, Any]
) -> None:
    postgres = services["postgres"]
    assert postgres["image"].startswith("postgres:15")
    volume = next(v for v in postgres["volumes"] if v.endswith(":/var/lib/postgresql/data"))
    assert volume.split(":")[0] in compose["volumes"]
    test = postgres["healthcheck"]["test"]
    assert test[0] == "CMD" and test[1] == "pg_isready"
    assert option(test, "--host") == "127.0.0.1"
    assert "POSTGRES_PASSWORD" in environment(postgres)
    assert ":?" in environment(postgres)["POSTGRES_PASSWORD"], "password must be required"
    init = postgres["configs"][0]
    assert init["target"].startswith("/docker-entrypoint-initdb.d/")
    sql = compose["configs"][init["source"]]["content"]
    assert "CREATE DATABASE mlflow" in sql


def test_the_tracking_server(services: dict[str, dict[str, Any]], compose: dict[str, Any]) -> None:
    mlflow = services["mlflow"]
    words = command_words(mlflow)
    assert words[:2] == ["mlflow", "server"]
    backend = option(words, "--backend-store-uri")
    assert backend == "postgresql+psycopg://nbaprops@postgres:5432/mlflow"
    destination = option(words, "--artifacts-destination")
    assert any(v.split(":")[0] in compose["volumes"] for v in mlflow["volumes"])
    assert any(v.endswith(f":{destination}") for v in mlflow["volumes"])
    assert option(words, "--host") == "0.0.0.0"  # inside the compose network only
    assert option(words, "--port") == "5000"
    assert "mlflow:5000" in option(words, "--allowed-hosts").split(",")
    assert mlflow["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "/health" in " ".join(mlflow["healthcheck"]["test"])


def test_the_scheduler(services: dict[str, dict[str, Any]], compose: dict[str, Any]) -> None:
    scheduler = services["scheduler"]
    assert scheduler["build"]["context"] == "."
    assert "command" not in scheduler and "entrypoint" not in scheduler, "the image's CMD runs"
    env = environment(scheduler)
    assert env["NBAPROPS_DATABASE_URL"] == "postgresql+psycopg://nbaprops@postgres:5432/nbaprops"
    assert env["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
    assert "PGPASSWORD" in env
    assert scheduler["env_file"][0]["path"] == "./nbaprops.env"
    for dependency in ("postgres", "mlflow"):
        assert scheduler["depends_on"][dependency]["condition"] == "service_healthy"
    assert any(v.endswith(f":{STATE_DIR}") for v in scheduler["volumes"])
    assert "healthcheck" not in scheduler, "the image's HEALTHCHECK (status --check) applies"


def test_no_password_is_written_into_a_url_or_the_file(
    services: dict[str, dict[str, Any]],
) -> None:
    text = COMPOSE.read_text()
    for url in re.findall(r"postgresql\+psycopg://\S+", text):
        assert re.match(r"postgresql\+psycopg://[^:@/]+@", url), f"password in {url}"
    for service in services.values():
        for key, value in environment(service).items():
            if "PASSWORD" in key:
                assert value.startswith("${"), f"{key} is written in compose.yaml"


def test_stop_grace_period_outlasts_the_job_stop_deadline(
    services: dict[str, dict[str, Any]],
) -> None:
    scheduler_settings = pytest.importorskip("jobs.daemon.schedule_settings")
    fields = scheduler_settings.SchedulerSettings.model_fields
    env = environment(services["scheduler"])
    deadline = float(
        env.get("NBAPROPS_STOP_DEADLINE_SECONDS", fields["stop_deadline_seconds"].default)
    )
    kill_grace = float(env.get("NBAPROPS_KILL_GRACE_SECONDS", fields["kill_grace_seconds"].default))
    grace = seconds(services["scheduler"]["stop_grace_period"])
    assert grace > deadline + kill_grace, (grace, deadline, kill_grace)


def test_services_on_the_project_image_do_not_inherit_the_scheduler_healthcheck(
    services: dict[str, dict[str, Any]],
) -> None:
    """The image's HEALTHCHECK asks for the daemon's heartbeat: other roles need their own."""
    image = services["scheduler"]["image"]
    for name, service in services.items():
        if name != "scheduler" and service.get("image") == image:
            assert "healthcheck" in service, f"{name} would be unhealthy forever"
            assert "command" in service, f"{name} would start a second scheduler"


def test_dask_workers_reach_the_dask_scheduler(services: dict[str, dict[str, Any]]) -> None:
    scheduler_words = command_words(services["dask-scheduler"])
    port = option(scheduler_words, "--port")
    worker_words = command_words(services["dask-worker"])
    assert worker_words[:2] == ["dask", "worker"]
    assert worker_words[2] == f"tcp://dask-scheduler:{port}"
    assert option(worker_words, "--nthreads") == "1"
    assert services["dask-worker"]["depends_on"]["dask-scheduler"]["condition"] == (
        "service_healthy"
    )


@pytest.mark.parametrize(
    ("duration", "expected"), [("3m", 180.0), ("1m30s", 90.0), ("45s", 45.0), (10, 10.0)]
)
def test_seconds(duration: str | int, expected: float) -> None:
    assert seconds(duration) == expected
