import json

from poselift.bench import BenchOptions, format_table, run_bench
from poselift.cli import main

REQUIRED = ("train_samples_per_s_243", "train_ratio_243", "infer_fps_243", "infer_ratio_243", "stream_fps_243",
            "stream_ratio_243")


def test_bench_reports_every_figure_against_the_straightforward_path():
    result = run_bench(BenchOptions(channels=32, quick=True, threads=1), progress=False)
    for key in REQUIRED + ("train_samples_per_s_27", "infer_fps_243_flip", "stream_fps_243_b16",
                           "data_clips_per_s_243", "peak_rss_mb_train_243", "infer_fraction_of_peak_243"):
        assert result[key] > 0, key
    # ratios are the optimised figure over the straightforward one of the same run
    assert abs(result["infer_ratio_243"] - result["infer_fps_243"] / result["infer_fps_243_reference"]) < 1e-9
    assert abs(result["stream_ratio_243"] - result["stream_fps_243"] / result["stream_naive_fps_243"]) < 1e-9
    assert result["machine"]["cores"] >= 1 and result["options"]["quick"]
    table = format_table(result)
    assert "streaming, 243 frames causal, batch 1" in table and "Machine:" in table


def test_bench_cli_writes_json_and_refuses_overwrite(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--parts", "data_243", "--json", str(out), "-q"]) == 0
    assert json.loads(out.read_text())["data_clips_per_s_243"] > 0
    assert main(["bench", "--quick", "--parts", "data_243", "--json", str(out), "-q"]) == 2
    assert main(["bench", "--quick", "--parts", "nope", "-q"]) == 2
    assert "unknown benchmark part" in capsys.readouterr().err


def test_streaming_against_the_reference_single_frame_model():
    from poselift.bench import bench_streaming

    r = bench_streaming(BenchOptions(channels=32, quick=True).scaled())
    for key in ("stream_strided_fps_243", "stream_fps_243_bf16", "memory_copy_gbps", "stream_weight_mb_243",
                "stream_bandwidth_fraction_243_bf16"):
        assert r[key] > 0, key
    assert abs(r["stream_ratio_243_strided"] - r["stream_fps_243"] / r["stream_strided_fps_243"]) < 1e-9
    assert abs(r["stream_ratio_243_bf16_strided"] - r["stream_fps_243_bf16"] / r["stream_strided_fps_243"]) < 1e-9
    assert r["stream_weight_mb_243_bf16"] < 0.6 * r["stream_weight_mb_243"]  # the output layer stays fp32
    assert abs(r["stream_ratio_243_int8_strided"] - r["stream_fps_243_int8"] / r["stream_strided_fps_243"]) < 1e-9
    assert r["stream_weight_mb_243_int8"] < 0.35 * r["stream_weight_mb_243"]  # a quarter, and the fp32 extras
