"""The training and evaluation commands: tools/valid.py and tools/dist_train.py are the package's commands,
with the official command lines, and bad input ends them with one `error:` line."""
import importlib.util

import pytest

from higherhrnet.engine import train_command, valid_command


def _tool_main(repo, name):
    spec = importlib.util.spec_from_file_location(f"{name}_tool", repo / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


@pytest.mark.parametrize("tool, command", [("valid", valid_command), ("dist_train", train_command)])
def test_the_tool_scripts_run_the_package_commands(repo, tool, command):
    assert _tool_main(repo, tool) is command.main


def test_official_command_lines_parse_into_config_and_overrides():
    args = valid_command.parse_args(["--cfg", "w32.yaml", "TEST.MODEL_FILE", "m.pth", "TEST.FLIP_TEST", "False"])
    assert (args.cfg, args.opts, args.no_progress) == ("w32.yaml", ["TEST.MODEL_FILE", "m.pth", "TEST.FLIP_TEST",
                                                                     "False"], False)
    args = train_command.parse_args(["--cfg", "w32.yaml", "--max-iterations", "3", "TRAIN.END_EPOCH", "10"])
    assert (args.cfg, args.max_iterations, args.opts) == ("w32.yaml", 3, ["TRAIN.END_EPOCH", "10"])


@pytest.mark.parametrize("command", [valid_command, train_command])
def test_a_missing_config_file_is_one_error_line(tmp_path, command):
    missing = tmp_path / "missing.yaml"
    with pytest.raises(SystemExit) as raised:
        command.main(["--cfg", str(missing)])
    message = str(raised.value)
    assert message.startswith("error: ") and str(missing) in message and "\n" not in message


def test_a_bad_config_key_is_one_error_line(repo):
    with pytest.raises(SystemExit) as raised:
        train_command.main(["--cfg", str(repo / "experiments/synthetic/higher_hrnet/w16_192_demo.yaml"),
                            "TEST.NO_SUCH_KEY", "1"])
    assert str(raised.value).startswith("error: ") and "TEST.NO_SUCH_KEY" in str(raised.value)
