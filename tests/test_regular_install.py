"""A regular (non-editable) install, used from another folder: the package and its console scripts work
without the repository checkout on the path."""
import os
import shutil
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

SCRIPTS = ("higherhrnet-demo", "higherhrnet-valid", "higherhrnet-train", "higherhrnet-export", "higherhrnet-synthetic")


@pytest.fixture(scope="module")
def installed(repo, tmp_path_factory):
    target = tmp_path_factory.mktemp("site")
    source = tmp_path_factory.mktemp("source")  # a copy: setuptools writes build/ into the source folder
    shutil.copy(repo / "setup.py", source)
    shutil.copytree(repo / "lib", source / "lib", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    build = tmp_path_factory.mktemp("build")
    completed = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                                "--no-build-isolation", "--target", str(target), str(source)],
                               capture_output=True, text=True, cwd=build, timeout=600)
    assert completed.returncode == 0, completed.stderr[-2000:]
    return target


def _run(installed, args, cwd):
    env = dict(os.environ, PYTHONPATH=str(installed), PATH=f"{installed / 'bin'}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run(args, capture_output=True, text=True, cwd=cwd, env=env, timeout=600)


def test_the_package_is_imported_from_the_install_and_the_predictor_runs(repo, installed, tmp_path):
    code = (
        "import higherhrnet, numpy as np\n"
        f"assert higherhrnet.__file__.startswith({str(installed)!r}), higherhrnet.__file__\n"
        "from higherhrnet import Predictor\n"
        f"p = Predictor({str(repo / 'experiments/synthetic/higher_hrnet/w16_192_demo.yaml')!r}, "
        f"{str(repo / 'models/demo/w16_192_demo.pth')!r}, device='cpu')\n"
        "people = p.predict(np.full((160, 200, 3), 127, np.uint8))\n"
        "print('persons', len(people))\n")
    completed = _run(installed, [sys.executable, "-c", code], tmp_path)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "persons" in completed.stdout


@pytest.mark.parametrize("command", [[sys.executable, "-m", "higherhrnet.demo", "--help"],
                                     *[[script, "--help"] for script in SCRIPTS]], ids=lambda c: c[-2])
def test_entry_points_give_their_help(installed, tmp_path, command):
    if not command[0].startswith("/"):
        command = [str(installed / "bin" / command[0]), *command[1:]]
    completed = _run(installed, command, tmp_path)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.startswith("usage:")
