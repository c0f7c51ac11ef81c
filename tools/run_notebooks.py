"""Execute the notebooks in place, saving their outputs: .venv/bin/python tools/run_notebooks.py [NAME ...]

They read FER2013 from ../shared (or $FER_SHARED) and the shipped model from models/.
"""

import argparse
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def execute(path: Path, timeout: int = 600) -> nbformat.NotebookNode:
    book = nbformat.read(path, as_version=4)
    NotebookClient(book, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    return book


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="notebook file names (default: all of notebooks/)")
    names = parser.parse_args().names or sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
    for name in names:
        path = NOTEBOOKS / name
        nbformat.write(execute(path), path)
        print(f"executed {path}")
