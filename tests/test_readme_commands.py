"""README's commands work in the order a newcomer runs them: a setup command, then the test command. A fresh machine
has nothing but what those commands install, so the test command must install what the suite imports."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, distribution, packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def commands_under(heading: str) -> list[str]:
    """The ```sh blocks of README's section `heading`, in order."""
    section = README.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", section, re.S)]


SANDBOX_SETUP = commands_under("Try it: the sandbox")[0]
SLACK_SETUP, TEST_COMMAND = commands_under("Set up and run with Slack")[:2]


def installs(command: str) -> list[str]:
    """What each `pip install` in `command` installs (`-e` and quiet flags left out)."""
    found = re.findall(r"pip install ((?:-\S+ )*)('[^']+'|\S+)", command)
    return [target.strip("'") for _, target in found]


def test_the_test_command_installs_the_test_extra_before_running_pytest_after_either_setup() -> None:
    for setup in (SANDBOX_SETUP, SLACK_SETUP):
        assert "python3.11 -m venv .venv" in setup
        available = installs(setup) + installs(TEST_COMMAND.split("-m pytest")[0])
        assert ".[test]" in available, (setup, TEST_COMMAND)
    assert TEST_COMMAND.startswith(".venv/bin/") and TEST_COMMAND.endswith(".venv/bin/python -m pytest -q")


def test_ci_runs_readmes_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    body = ci.split("readme_tests() {", 1)[1].split("\n}", 1)[0].strip()
    assert body == TEST_COMMAND.replace(".venv/bin/python", '"$venv/bin/python"')
    assert ci.count("\nreadme_tests\n") == 1 and '}" readme_tests\n' in ci  # on SQLite, then on PostgreSQL


def test_everything_the_suite_imports_is_installed_by_the_setup_and_test_commands() -> None:
    """A module a test imports that neither the dependencies nor the `test` extra bring is "No module named ..." on
    a fresh machine, however well it works here."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = _with_their_requirements(
        {_name(requirement) for requirement in project["dependencies"] + project["optional-dependencies"]["test"]}
    )
    ours = {path.name for path in ROOT.iterdir() if (path / "__init__.py").exists()} | {"app", "tests"}
    providers = packages_distributions()
    missing: dict[str, str] = {}
    for path in sorted((ROOT / "tests").glob("*.py")):
        for module in _imports(path):
            if module in ours or module in sys.stdlib_module_names:
                continue
            distributions = {_name(name) for name in providers.get(module, [module])}
            if not distributions & declared:
                missing[module] = path.name
    assert missing == {}


def _with_their_requirements(names: set[str]) -> set[str]:
    """`names` and everything they require in turn (what pip installs with them), extras aside."""
    found: set[str] = set()
    waiting = list(names)
    while waiting:
        name = waiting.pop()
        if name in found:
            continue
        found.add(name)
        try:
            requirements = distribution(name).requires or []
        except PackageNotFoundError:
            continue
        waiting.extend(_name(req) for req in requirements if "extra ==" not in req.replace('"', "").replace("'", ""))
    return found


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].strip().lower().replace("_", "-")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module.split(".")[0])
    return modules
