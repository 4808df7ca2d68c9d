"""benchmarks.fine_tune's bookkeeping: font families, one family's lines, the before/after row."""

from benchmarks import fine_tune


def test_a_font_file_belongs_to_the_family_before_its_first_hyphen():
    assert fine_tune.family("/usr/share/fonts/opentype/urw-base35/URWGothic-Demi.otf") == (
        "URWGothic"
    )
    assert fine_tune.family("NimbusSansNarrow-Regular.otf") == "NimbusSansNarrow"
    assert fine_tune.family("C059-Roman.otf") != fine_tune.family("P052-Roman.otf")


def test_the_family_slice_keeps_only_its_lines_and_the_row_reads_the_change():
    figures = {"line_edits": [0, 4, 1, 6], "line_chars": [10, 10, 10, 10]}
    families = ["A", "B", "A", "B"]
    before = fine_tune.family_lines(figures, families, "B")
    assert before == {"line_edits": [4, 6], "line_chars": [10, 10]}
    after = {"line_edits": [1, 1], "line_chars": [10, 10]}
    label, lines, cer_before, cer_after, change = fine_tune.change_row("B", before, after, 2)
    assert (label, lines, cer_before, cer_after) == ("B", 2, "50.00%", "10.00%")
    assert change.startswith("-40.00 [")
    same = fine_tune.change_row("B", before, before, 2)[-1]
    assert same == "+0.00 [+0.00, +0.00]"
