"""demo and export: an --output under a file is one line naming the file; the demo names no folder it never made."""
from higherhrnet.demo import main as demo_main
from higherhrnet.export.cli import main as export_main


def _tiny(shared):
    return str(shared / "tiny" / "tiny_coco.yaml"), str(shared / "tiny" / "tiny_coco.pth")


def test_demo_output_under_a_file_is_one_line(shared, tmp_path, capsys):
    cfg, weights = _tiny(shared)
    (tmp_path / "taken").write_text("a file")
    image = shared / "data" / "coco_sample" / "images" / "val2017" / "000000000785.jpg"
    status = demo_main(["--cfg", cfg, "--weights", weights, "--no-progress", "--input", str(image),
                        "--output", str(tmp_path / "taken" / "demo")])
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert err == f"error: --output {tmp_path / 'taken' / 'demo'}: {tmp_path / 'taken'} is a file, not a folder"


def test_demo_names_no_output_folder_when_nothing_was_written(shared, tmp_path, capsys):
    cfg, weights = _tiny(shared)
    status = demo_main(["--cfg", cfg, "--weights", weights, "--no-progress", "--input", str(tmp_path / "missing"),
                        "--output", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert status == 1 and not (tmp_path / "out").exists()
    assert "nothing written" in out and "outputs in" not in out


def test_export_output_under_a_file_is_one_line(shared, tmp_path, capsys):
    cfg, weights = _tiny(shared)
    (tmp_path / "taken").write_text("a file")
    status = export_main(["--cfg", cfg, "--weights", weights, "--output", str(tmp_path / "taken" / "m.onnx")])
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert err == f"error: --output {tmp_path / 'taken' / 'm.onnx'}: {tmp_path / 'taken'} is a file, not a folder"
