"""No module outside `storage/` imports `storage.crypto`: other apps keep keys secret only
through `storage.services` (`key_wrap` / `key_unwrap`), never with the primitives themselves.

Every Python file of the repository is parsed (apps, their tests and migrations, the project,
benchmarks, tools), and each import statement, and each string naming the module (for
`import_module` and `import_string`), is checked.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOP_SKIP = {"storage", "node_modules", "var"}  # storage may; the others are not our code


def _is_crypto(name: str) -> bool:
    return name == "storage.crypto" or name.startswith("storage.crypto.")


def _names_imported(node: ast.AST) -> list[str]:
    """The modules an import statement brings in (`from storage import crypto` counts)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]  # import_module("…"), import_string("…"), settings
    return []


def crypto_imports(source: str) -> list[int]:
    """The lines of `source` that import storage.crypto or name it for a dynamic import."""
    return sorted(
        {
            node.lineno
            for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.stmt | ast.expr)
            and any(_is_crypto(name) for name in _names_imported(node))
        }
    )


def modules_outside_storage() -> list[Path]:
    found = []
    for folder, dirs, files in os.walk(ROOT):  # symbolic links (.venv) are not followed
        here = Path(folder)
        dirs[:] = [
            d for d in dirs if not d.startswith(".") and not (here == ROOT and d in TOP_SKIP)
        ]
        found += [here / name for name in files if name.endswith(".py")]
    return sorted(found)


def test_the_check_sees_every_way_of_importing_it():
    source = "\n".join(
        [
            "import storage.crypto",
            "import storage.crypto as c",
            "from storage.crypto import wrap_key",
            "from storage import crypto",
            "from storage import models, crypto as c",
            "importlib.import_module('storage.crypto')",
            "from storage import services",
            "from storage.services import key_wrap",
            "import storage.cryptography_notes",
        ]
    )
    assert crypto_imports(source) == [1, 2, 3, 4, 5, 6]


def test_no_module_outside_storage_imports_storage_crypto():
    modules = modules_outside_storage()
    names = {str(p.relative_to(ROOT)) for p in modules}
    # The walk reaches every app, their tests and migrations, and nothing inside storage/.
    assert {
        "access/services.py",
        "access/tests/test_keys.py",
        "access/migrations/0002_grant_keys_in_storage.py",
        "catalog/services.py",
        "sharing/services.py",
        "portal/urls.py",
        "bench/dashboards.py",
        "tools/bizi_verify.py",
        "conftest.py",
    } <= names
    assert not any(name.startswith("storage/") for name in names)
    found = {
        f"{path.relative_to(ROOT)}:{line}"
        for path in modules
        for line in crypto_imports(path.read_text(encoding="utf-8"))
    }
    assert found == set(), "use storage.services (key_wrap, key_unwrap) instead"
