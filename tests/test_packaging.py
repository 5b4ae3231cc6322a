"""Import cost, optional dependencies, and docs that match the code."""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import inspect
import json
import pkgutil
import re
import subprocess
import sys
import tomllib
from typing import Any

import pytest

import triage
from tests.conftest import REPO
from triage.exceptions import MissingDependencyError


def test_import_does_not_pull_heavy_modules():
    code = (
        "import sys, triage\n"
        "heavy = [m for m in ('pandas', 'dask', 'matplotlib', 'sklearn', 'jieba') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_loading_and_a_first_answer_pull_no_heavy_module():
    """A cold start (import, load the shipped model, classify) needs numpy and the compiled parts only."""
    code = (
        "import sys, triage\n"
        "triage.load().classify('小区物业乱收停车费，垃圾也没人清理')\n"
        "heavy = ('pandas', 'scipy', 'sklearn', 'skops', 'joblib', 'jieba', 'rjieba', 'importlib.metadata', 'email')\n"
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_public_names_are_exported():
    for name in triage.__all__:
        assert getattr(triage, name) is not None


def test_missing_optional_dependency_names_the_extra(hide_module):
    from triage.datasets import load_petitions

    hide_module("pandas")
    with pytest.raises(MissingDependencyError, match=r"pip install 'petition-triage\[io\]'"):
        load_petitions(as_frame=True)


def test_missing_optional_dependency_is_an_import_error(hide_module):
    from triage._optional import import_optional

    hide_module("pandas")
    with pytest.raises(ImportError):
        import_optional("pandas", extra="io", purpose="this test")


def test_readme_documents_every_cli_command():
    from triage.cli import cli

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name in cli.commands:
        assert re.search(rf"triage {name}\b", readme), f"README does not show `triage {name}`"


@pytest.mark.parametrize(
    "module",
    [
        "triage.text",
        "triage.segmentation",
        "triage.estimator",
        "triage.model",
        "triage.datasets",
        "triage.grouping",
        "triage.places",
        "triage",
    ],
)
def test_docstring_examples(module):
    imported = __import__(module, fromlist=["_"])
    failures, tried = doctest.testmod(imported, optionflags=doctest.ELLIPSIS)
    assert tried > 0 and failures == 0


def _attribute_at(dotted: str) -> bool:
    """Whether ``dotted`` names a module, or an attribute of one, that can be imported."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            if not hasattr(found, name):
                return False
            found = getattr(found, name)
        return True
    return False


def _link_resolves(target: str, module: Any) -> bool:
    """Whether a docstring's ``:role:`target``` names something from ``module``: a full path, a name the module
    defines or imports (or an attribute of it), a builtin, or an attribute of the module's classes or one their
    instances set."""
    name = re.sub(r"^.*<(.+)>$", r"\1", target).removeprefix("~").removeprefix(".")  # "title <target>" too
    if any(_attribute_at(dotted) for dotted in (name, f"{module.__name__}.{name}", f"builtins.{name}")):
        return True
    classes = [c for c in vars(module).values() if inspect.isclass(c) and c.__module__ == module.__name__]
    sets = (hasattr(c, name) or re.search(rf"\bself\.{name}\b", inspect.getsource(c)) for c in classes)
    return "." not in name and any(sets)


@pytest.mark.parametrize(
    "module",
    sorted(
        info.name
        for info in pkgutil.walk_packages(triage.__path__, "triage.")
        # Python modules only (not the C extensions); not __main__, which runs the command line when imported
        if info.name != "triage.__main__" and importlib.util.find_spec(info.name).origin.endswith(".py")
    ),
)
def test_docstring_links_name_where_their_targets_live(module):
    """Docstrings moved into triage/io/ and triage/batch/ when they were split from one module linked to private
    names that now live in a sibling module (``:func:`_title_rows``` in delimited.py): every link names a target
    that module defines or imports, or its full path (``:func:`~triage.io.titles._title_rows```)."""
    imported = importlib.import_module(module)
    source = inspect.getsource(imported)
    targets = re.findall(r":(?:func|class|data|meth|attr|mod|exc|obj):`([^`]+)`", source)
    assert [target for target in targets if not _link_resolves(target, imported)] == []


def test_wheel_ships_the_default_model(tmp_path):
    """`pip install .` (the README's install command) must carry models/default inside the package."""
    import zipfile

    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(REPO)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("petition_triage-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    manifest = json.loads(zipfile.ZipFile(wheel).read("triage/_models/default/manifest.json"))
    for file in ("manifest.json", *manifest["files"]):  # every file the model's manifest lists
        assert f"triage/_models/default/{file}" in names
    assert "triage/data/userdict.txt" in names and "triage/py.typed" in names
    assert "triage/cli/__init__.py" in names and "triage/cli.py" not in names  # the `triage` command
    for package in ("io", "batch", "scoring"):  # the readers, the batch tagger and the scorer, every module
        modules = sorted(f"triage/{package}/{module.name}" for module in (REPO / "triage" / package).glob("*.py"))
        assert len(modules) > 1 and set(modules) <= names and f"triage/{package}.py" not in names
    assert "triage/datasets/data/petitions/other.jsonl" in names
    # built here (a C compiler is present): the wheel carries the compiled extensions, not their sources
    for extension in ("_featurize", "_segment", "_text"):
        assert any(re.fullmatch(rf"triage/{extension}\..+\.(so|pyd)", name) for name in names)
        assert f"triage/{extension}.c" not in names and f"triage/{extension}.pyi" in names
    assert "triage/_segment_api.h" not in names  # the C interface between the two, a source too


def test_every_package_is_in_the_setuptools_packages_list():
    """A package left out of ``[tool.setuptools] packages`` still lands in the wheel today, as data, with a warning
    that pip wheel --quiet hides (setuptools: "Package would be ignored"): list every one."""
    listed = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]["packages"]
    found = {".".join(init.parent.relative_to(REPO).parts) for init in (REPO / "triage").rglob("__init__.py")}
    assert found >= {"triage", "triage.io", "triage.batch", "triage.scoring"} and found <= set(listed)


def test_code_type_checks():
    """The package is typed (py.typed): apps type-checking against it must see consistent types."""
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental"], capture_output=True, text=True, cwd=REPO
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_code_is_lint_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", str(REPO)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_distribution_name_is_our_own_and_every_install_hint_uses_it():
    """`triage` on PyPI is another project: pip must be told `petition-triage`, in code and docs alike."""
    import tomllib

    from triage._optional import DISTRIBUTION, install_hint

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == DISTRIBUTION == "petition-triage"
    assert project["scripts"] == {"triage": "triage.cli:main"}
    for extra, requirements in project["optional-dependencies"].items():
        for requirement in requirements:
            assert not requirement.startswith("triage["), f"extra {extra!r} requires {requirement!r}"
    assert install_hint("io") == "pip install 'petition-triage[io]'"
    stale = re.compile(r"pip install[^\n]*?(?<![\w-])triage\[|pip install (-U )?triage\b")
    files = [*REPO.glob("*.md"), *REPO.glob("triage/**/*.py"), *REPO.glob("notebooks/*.ipynb"), REPO / ".ci/run"]
    offenders = [str(path.relative_to(REPO)) for path in files if stale.search(path.read_text(encoding="utf-8"))]
    assert offenders == []
