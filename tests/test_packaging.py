"""Every package folder is listed in pyproject.toml (a wheel would silently miss it otherwise)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAPPING = {"graphtorch": "graphtorch", "frontend": "graphtorch.frontend",
           "passes": "graphtorch.passes", "runtime": "graphtorch.runtime"}


def test_all_packages_listed():
    text = (ROOT / "pyproject.toml").read_text()
    missing = []
    for top, dotted in MAPPING.items():
        for init in (ROOT / top).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / top).parts
            name = ".".join((dotted,) + rel)
            if f'"{name}"' not in text:
                missing.append(name)
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {missing}"
