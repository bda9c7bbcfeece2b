"""docker-compose.yml and the Dockerfile, read as data (no Docker engine needed)."""

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from schemas.settings_doc import known_variables

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
INFRA = ("kafka", "postgres", "redis")
OURS = ("migrate", "worker", "dashboard", "sentinel")
# `${NAME:?message}` or `${NAME?message}`: compose refuses to start while NAME is unset.
REQUIRED_VARIABLE = re.compile(r"\$\{(?P<name>[A-Z0-9_]+):?\?[^}]*\}")
INTERPOLATED = re.compile(r"\$\{(?P<name>MOODWATCH_[A-Z0-9_]*)")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    found = compose["services"]
    assert isinstance(found, dict)
    return found


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment, from either the mapping or the `KEY=VALUE` list form."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(key): "" if value is None else str(value) for key, value in env.items()}


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    assert isinstance(deps, dict), "depends_on must use the long form, with conditions"
    return {name: spec.get("condition", "") for name, spec in deps.items()}


def test_known_env_names_walk_prefixes_and_nested_settings() -> None:
    names = known_variables()
    expected = {
        "MOODWATCH_ENV",
        "MOODWATCH_KAFKA_BOOTSTRAP_SERVERS",
        "MOODWATCH_DB_HOST",
        "MOODWATCH_DB_PASSWORD",
        "MOODWATCH_REDIS_URL",
        "MOODWATCH_WORKER_BUNDLE_PATH",
        "MOODWATCH_DASHBOARD_PORT",
    }
    assert expected <= names
    # A nested settings field is not a variable of its own.
    assert "MOODWATCH_WORKER_KAFKA" not in names
    assert "MOODWATCH_PRODUCER_KAFKA" not in names


def test_the_six_services_exist(services: dict[str, Any]) -> None:
    assert set(INFRA + OURS) <= set(services)


@pytest.mark.parametrize(
    ("name", "tool"),
    [("kafka", "/opt/kafka/bin/"), ("postgres", "pg_isready"), ("redis", "redis-cli")],
)
def test_infrastructure_has_health_checks(services: dict[str, Any], name: str, tool: str) -> None:
    check = services[name].get("healthcheck") or {}
    test = check.get("test")
    assert test, f"{name} has no health check"
    assert tool in " ".join(test if isinstance(test, list) else [test])


def test_depends_on_waits_for_health_and_for_the_migration(services: dict[str, Any]) -> None:
    assert depends_on(services["migrate"]) == {"postgres": "service_healthy"}
    worker = depends_on(services["worker"])
    for name in INFRA:
        assert worker[name] == "service_healthy"
    assert worker["migrate"] == "service_completed_successfully"
    dashboard = depends_on(services["dashboard"])
    assert dashboard["postgres"] == "service_healthy"
    assert dashboard["migrate"] == "service_completed_successfully"


def test_every_dependency_has_a_condition_that_matches_its_kind(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for dependency, condition in depends_on(service).items():
            one_shot = services[dependency].get("restart") == "no"
            wanted = "service_completed_successfully" if one_shot else "service_healthy"
            assert condition == wanted, f"{name} -> {dependency}"
            if condition == "service_healthy":
                assert services[dependency].get("healthcheck"), dependency


def test_dashboard_publishes_port_8501(services: dict[str, Any]) -> None:
    ports = [str(port) for port in services["dashboard"].get("ports", [])]
    assert any(port.endswith(":8501") or port == "8501" for port in ports), ports
    assert environment(services["dashboard"]).get("MOODWATCH_DASHBOARD_PORT", "8501") == "8501"


def test_worker_reserves_a_gpu_and_can_scale(services: dict[str, Any]) -> None:
    worker = services["worker"]
    devices = worker["deploy"]["resources"]["reservations"]["devices"]
    assert any(d.get("driver") == "nvidia" and "gpu" in d.get("capabilities", []) for d in devices)
    # `--scale worker=N`: no fixed name, no host port; metrics only inside the network.
    assert "container_name" not in worker
    assert "ports" not in worker
    port = environment(worker)["MOODWATCH_WORKER_METRICS_PORT"]
    assert port in [str(p) for p in worker.get("expose", [])]


def test_our_services_run_the_image_in_production(services: dict[str, Any]) -> None:
    for name in OURS:
        service = services[name]
        assert service["build"]["dockerfile"] == "Dockerfile"
        assert service["command"] == [name]
        assert environment(service)["MOODWATCH_ENV"] == "production"


def test_every_moodwatch_variable_is_a_settings_field(
    services: dict[str, Any], compose: dict[str, Any]
) -> None:
    known = known_variables()
    for name, service in services.items():
        unknown = {key for key in environment(service) if key.startswith("MOODWATCH_")} - known
        assert not unknown, f"{name} sets variables no settings class reads: {sorted(unknown)}"
    referenced = set(INTERPOLATED.findall(COMPOSE_FILE.read_text(encoding="utf-8")))
    assert referenced - known == set()


def test_secrets_come_from_the_environment_without_defaults(services: dict[str, Any]) -> None:
    secrets = 0
    for name, service in services.items():
        for key, value in environment(service).items():
            if key.endswith("PASSWORD") or key.endswith("_SECRET"):
                secrets += 1
                match = REQUIRED_VARIABLE.fullmatch(value)
                assert match, f"{name}.{key} must be ${{VAR:?message}}, is {value!r}"
                assert match["name"].startswith("MOODWATCH_")
    assert secrets >= 6


def test_files_the_compose_file_mounts_exist(services: dict[str, Any]) -> None:
    for service in services.values():
        for volume in service.get("volumes", []):
            source = str(volume).split(":", 1)[0]
            if source.startswith("./") and not source.startswith("./models"):
                assert (ROOT / source).exists(), source


def test_dockerfile_runs_moodwatch_as_a_non_root_user() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.MULTILINE)
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r'^ENTRYPOINT \["moodwatch"\]', text, re.MULTILINE)
    assert "pip install" in text
