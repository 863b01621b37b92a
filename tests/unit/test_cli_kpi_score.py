import json

import pytest

from ioc.cli import main


def test_single_indicator_as_the_portal_scores_it(capsys):
    # 212 / 234 = 90.598 %; 4.2 has Pmax 4 and T 100 on the portal: 4 * 0.90598 = 3.62
    assert main(["kpi", "score", "--indicator", "4.2", "--numerator", "212", "--denominator", "234",
                 "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == {"indicator": "4.2", "numerator": 212, "denominator": 234,
                   "ratio": pytest.approx(212 / 234), "score": 3.62, "max_score": 4}


def test_file_gives_one_line_per_input(tmp_path, capsys):
    f = tmp_path / "in.jsonl"
    f.write_text('{"indicator": "5.3", "numerator": 0, "denominator": 0}\n\n'
                 '{"indicator": "2.1", "numerator": 1940, "denominator": 2096}\n')
    assert main(["kpi", "score", "--input", str(f)]) == 0
    lines = [json.loads(ln) for ln in capsys.readouterr().out.splitlines()]
    # 5.3 with no complaint to handle: full marks (6); 2.1: 20 * 1940/2096 = 18.511 -> 18.51
    assert [(ln["indicator"], ln["score"]) for ln in lines] == [("5.3", 6), ("2.1", 18.51)]


@pytest.mark.parametrize(
    "content, expected",
    [
        ('{"indicator": "2.1", "numerator": "x", "denominator": 3}\n', ":1: numerator: expected a number"),
        ('{"indicator": "2.1", "numerator": 1}\n', ":1: denominator: missing"),
        ('{"indicator": "2.1", "numerator": 1, "denominator": 2}\nnot json\n', ":2: not JSON"),
        ('{"indicator": "7.7", "numerator": 1, "denominator": 2}\n', ":1: unknown indicator '7.7'"),
    ],
)
def test_bad_file_exits_2_naming_line_and_field(tmp_path, capsys, content, expected):
    f = tmp_path / "in.jsonl"
    f.write_text(content)
    assert main(["kpi", "score", "--input", str(f)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(f) + expected in err


def test_missing_arguments_exit_2(capsys):
    assert main(["kpi", "score", "--indicator", "2.1"]) == 2
    assert "required" in capsys.readouterr().err
