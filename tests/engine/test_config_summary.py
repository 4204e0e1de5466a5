"""The config goes to the log file; the terminal gets one line saying what runs and where the config went."""
import logging

from higherhrnet.engine.setup import config_summary, setup


def _close_loggers():
    for name in ("higherhrnet", "higherhrnet.file"):
        for handler in list(logging.getLogger(name).handlers):
            logging.getLogger(name).removeHandler(handler)
            handler.close()


def test_the_full_config_is_in_the_log_file_only(shared, tmp_path, capsys):
    opts = ["OUTPUT_DIR", str(tmp_path / "output"), "LOG_DIR", str(tmp_path / "log"),
            "DATASET.ROOT", str(shared / "data" / "coco_sample")]
    try:
        run = setup(str(shared / "tiny" / "tiny_coco.yaml"), opts, phase="valid")
    finally:
        _close_loggers()
    terminal = capsys.readouterr()
    [log_file] = run.final_output_dir.glob("valid_*_rank0.log")
    record = log_file.read_text()
    dump = run.cfg.dump()
    assert "full config:\n" + dump in record and "command line: " in record
    for text in (terminal.out, terminal.err):
        assert "full config:" not in text and "CUDNN:" not in text and "SCALE_FACTOR" not in text
    [summary] = [line for line in terminal.out.splitlines() if " config " in line]
    assert summary.endswith(f"pose_higher_hrnet, coco_kpt (17 joints), input 256; full config in {log_file}")
    assert f"DATASET.ROOT={shared / 'data' / 'coco_sample'}" in summary
    assert len(terminal.out.splitlines()) <= 4  # machine, summary, device (and nothing of the config)
    assert not (tmp_path / "log").exists()  # an evaluation writes no TensorBoard folder


def test_summary_without_overrides_or_log_file(shared):
    from higherhrnet.config import load_config

    cfg = load_config(str(shared / "tiny" / "tiny_coco.yaml"))
    assert config_summary(cfg, "tiny.yaml", []) == "config tiny.yaml: pose_higher_hrnet, coco_kpt (17 joints), input 256"
    cfg.defrost()
    cfg.DATASET.WITH_CENTER, cfg.DATASET.NUM_JOINTS = True, 18
    assert "(18 joints with centre)" in config_summary(cfg, "tiny.yaml", ["TEST.FLIP_TEST", False])
    assert config_summary(cfg, "tiny.yaml", ["TEST.FLIP_TEST", False]).startswith(
        "config tiny.yaml with TEST.FLIP_TEST=False: ")
