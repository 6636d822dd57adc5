"""Issue 7 item 6: dev tooling lives in workflow_app.dev, and no product module imports it."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "workflow_app"


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def test_no_product_module_imports_the_dev_package():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if PACKAGE / "dev" in path.parents:
            continue
        dev = [
            m for m in imported_modules(path) if m == "workflow_app.dev" or m.startswith("workflow_app.dev.")
        ]
        if dev:
            offenders.append(f"{path.relative_to(ROOT)}: {dev}")
    assert offenders == []


def test_a_production_app_never_loads_the_dev_package():
    env = {
        **os.environ,
        "KINERJA_ENV": "production",
        "SECRET_KEY": "s" * 48,
        "AUDIT_KEY": "a" * 48,
        "DATABASE_URL": "sqlite://",
        "REDIS_URL": "",
    }
    code = (
        "import sys\n"
        "from workflow_app import create_app\n"
        "app = create_app()\n"
        "print(sorted(m for m in sys.modules if m.startswith('workflow_app.dev')))\n"
        "print(sorted(r.rule for r in app.url_map.iter_rules() if r.rule.startswith('/dev')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["[]", "[]"]


def test_development_apps_get_the_mail_viewer_and_the_demo_group(app):
    assert any(r.rule == "/dev/mail" for r in app.url_map.iter_rules())
    result = app.test_cli_runner().invoke(args=["demo", "--help"])
    assert result.exit_code == 0 and "logins" in result.output
