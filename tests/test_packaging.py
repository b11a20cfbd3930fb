"""The installed distribution: one import namespace, ``mambaseq``, whose every package folder
is listed in pyproject.toml (a missing one would be left out of a wheel), and no top-level
module of its own named after a room (``kernels`` and ``pipelines`` are other distributions)."""
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROOMS = ("core", "kernels", "biomamba", "audiomamba", "pipelines")


def test_every_package_folder_is_installed_under_mambaseq():
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {".".join(("mambaseq", *init.parent.relative_to(REPO).parts))
               for room in ROOMS for init in (REPO / room).rglob("__init__.py")}
    assert folders == set(setuptools["packages"])
    assert setuptools["package-dir"] == {f"mambaseq.{room}": room for room in ROOMS}


def test_no_room_is_importable_as_a_top_level_name(tmp_path):
    probe = ("import importlib.util, os, sys; repo = sys.argv[1]; "
             "print([n for n in sys.argv[2:] if (s := importlib.util.find_spec(n)) "
             "and os.path.join(repo, n) in list(s.submodule_search_locations or [])])")
    done = subprocess.run([sys.executable, "-c", probe, str(REPO), *ROOMS], cwd=tmp_path,
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    done = subprocess.run([sys.executable, "-c", "import mambaseq.core, mambaseq.pipelines.cli"],
                          cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
