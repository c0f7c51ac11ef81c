"""The notebooks run from top to bottom on the real data (outputs are not compared: they are figures)."""

import pytest

from .conftest import FER2013_CSV, ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_there_are_three_executed_notebooks():
    import nbformat

    assert [p.name for p in NOTEBOOKS] == ["01_data_exploration.ipynb", "02_training_report.ipynb", "03_evaluation.ipynb"]
    for path in NOTEBOOKS:
        code = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
        assert code and all(c.execution_count and c.outputs is not None for c in code), f"{path.name} is not executed"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_without_error(path):
    if not FER2013_CSV.is_file():
        pytest.skip("../shared/data/fer2013 is not present")
    from tools.run_notebooks import execute

    book = execute(path)  # nbclient raises CellExecutionError on the first failing cell
    assert not [o for c in book.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
