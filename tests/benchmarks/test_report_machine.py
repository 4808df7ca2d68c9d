"""What every benchmark section states about the machine it ran on and the paths it names."""

from benchmarks import report

ZEN3 = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 1
model name\t: AMD EPYC
flags\t\t: fpu sse sse2 avx avx2 fma

processor\t: 1
model name\t: Other
"""


def test_the_cpu_line_tells_apart_cpus_a_vm_names_alike():
    zen4 = ZEN3.replace("model\t\t: 1", "model\t\t: 17").replace(
        "avx2 fma", "avx2 fma avx512f avx512_bf16"
    )
    assert report.describe_cpu(ZEN3) == "AMD EPYC (family 25 model 1; AVX2, no AVX-512)"
    assert report.describe_cpu(zen4) == "AMD EPYC (family 25 model 17; AVX-512 + BF16)"
    assert report.describe_cpu("processor\t: 0\nflags\t\t: sse\n") == ""
    assert report.describe_cpu("model name\t: Some CPU\n") == "Some CPU"
    assert report.machine().startswith(report.cpu_model())


def test_paths_inside_the_checkout_are_shown_relative_to_it(tmp_path):
    root = tmp_path / "clone"
    assert (
        report.shown_path(root / "outputs" / "bench" / "heldout", root) == "outputs/bench/heldout"
    )
    assert report.shown_path(str(root / "x" / ".." / "serving"), root) == "serving"
    elsewhere = tmp_path / "models" / "serving"
    assert report.shown_path(elsewhere, root) == str(elsewhere)
