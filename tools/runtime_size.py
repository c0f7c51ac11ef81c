"""Size of the runtime a deployment installs: ``python tools/runtime_size.py [--limit-mb 350]``.

Builds a clean virtual environment from requirements.txt in a temporary folder (``python -m venv`` +
``pip install -r requirements.txt``, as Heroku, Streamlit Community Cloud and the Dockerfile do), then
prints its installed size and its compressed size: a tar.gz of the environment plus the repository's
tracked files less those ``.slugignore`` names (training weights, tests, notebooks, screenshots), which is
how Heroku builds and measures a slug (its limit is 500 MB compressed). The
Python interpreter and standard library, which a platform adds itself, are not counted: the default
limit leaves room for them.

Exit status: 0 within the limit; 1 over it; 2 when the environment could not be built for another
reason than the network. When pip cannot reach the package index, it prints a warning and exits 0, so
that a network outage does not fail CI.
"""

from __future__ import annotations

import argparse
import fnmatch
import gzip
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MB = 1e6  # decimal megabytes, as Heroku reports slug sizes

# What pip prints when the index is out of reach (rather than a requirement being wrong).
NETWORK_ERRORS = (
    "NewConnectionError",
    "Max retries exceeded",
    "Temporary failure in name resolution",
    "Name or service not known",
    "Network is unreachable",
    "Connection refused",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "ProxyError",
    "SSLError",
    "Could not fetch URL",
    "Retrying (Retry(",
)


class _Counter:
    """A write-only file that counts the bytes written to it (the archive is never stored)."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass


def installed_bytes(folder: Path) -> int:
    """Bytes of the regular files under ``folder`` (symbolic links not followed)."""
    total = 0
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            total += path.stat().st_size
    return total


def compressed_bytes(members: list[tuple[Path, str]]) -> int:
    """Size of a gzip-compressed tar (gzip's default level 6) of ``members`` (path, name in archive)."""
    counter = _Counter()
    with gzip.GzipFile(fileobj=counter, mode="wb", compresslevel=6, mtime=0) as gz:
        with tarfile.open(fileobj=gz, mode="w|") as tar:
            for path, name in members:
                tar.add(path, arcname=name)
    return counter.size


def tracked_files(root: Path) -> list[Path]:
    """The repository's tracked files (what a ``git push heroku`` sends), or none without git."""
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    return [root / name for name in out.decode().split("\0") if name and (root / name).is_file()]


def slugignored(name: str, patterns: list[str]) -> bool:
    """Whether Heroku leaves the file ``name`` (a path relative to the root, '/'-separated) out of the slug
    for one of ``.slugignore``'s patterns (the .gitignore syntax without '!'): a pattern with a slash
    before its end is anchored at the root, one without matches a name at any depth, and one that ends
    in a slash names a folder and leaves out everything under it."""
    parts = name.split("/")
    for pattern in patterns:
        names = parts[:-1] if pattern.endswith("/") else parts  # a folder pattern never names the file
        anchored = "/" in pattern.rstrip("/")
        pattern = pattern.strip("/")
        if anchored:
            depth = pattern.count("/") + 1
            if len(names) >= depth and fnmatch.fnmatchcase("/".join(names[:depth]), pattern):
                return True
        elif any(fnmatch.fnmatchcase(part, pattern) for part in names):
            return True
    return False


def slug_files(root: Path) -> list[Path]:
    """The files Heroku puts in the slug: the tracked files less those ``.slugignore`` names."""
    ignore = root / ".slugignore"
    lines = ignore.read_text().splitlines() if ignore.is_file() else []
    patterns = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return [path for path in tracked_files(root) if not slugignored(path.relative_to(root).as_posix(), patterns)]


def build(venv: Path, requirements: Path) -> subprocess.CompletedProcess:
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    return subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-r", str(requirements)],
        capture_output=True,
        text=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requirements", type=Path, default=ROOT / "requirements.txt")
    parser.add_argument("--limit-mb", type=float, default=350.0, help="fail above this compressed size (default: 350)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="fer-runtime-") as tmp:
        venv = Path(tmp) / "venv"
        start = time.monotonic()
        try:
            pip = build(venv, args.requirements.resolve())
        except subprocess.CalledProcessError as err:
            print(f"error: python -m venv failed: {err.stderr.decode(errors='replace').strip()}", file=sys.stderr)
            return 2
        if pip.returncode != 0:
            output = pip.stdout + pip.stderr
            if any(marker in output for marker in NETWORK_ERRORS):
                print("warning: pip could not reach the package index; runtime size not measured", file=sys.stderr)
                print(output[-2000:], file=sys.stderr)
                return 0
            print(f"error: pip install -r {args.requirements} failed:\n{output[-4000:]}", file=sys.stderr)
            return 2
        build_s = time.monotonic() - start

        site = next((venv / "lib").glob("python3*/site-packages"))
        env_bytes = installed_bytes(venv)
        site_bytes = installed_bytes(site)
        app = slug_files(ROOT)
        app_bytes = sum(path.stat().st_size for path in app)
        env_gz = compressed_bytes([(venv, "venv")])
        app_gz = compressed_bytes([(path, str(path.relative_to(ROOT))) for path in app])
        biggest = sorted(
            ((installed_bytes(p), p.name) for p in site.iterdir() if p.is_dir() and not p.name.endswith(".dist-info")),
            reverse=True,
        )[:8]

    total_gz = env_gz + app_gz
    print(f"runtime environment from {args.requirements.name} (built in {build_s:.0f} s, Python {sys.version.split()[0]})")
    print(f"  installed: {env_bytes / MB:8.1f} MB  (site-packages {site_bytes / MB:.1f} MB)")
    print(f"  app files: {app_bytes / MB:8.1f} MB  ({len(app)} tracked files, less .slugignore's)")
    print(f"  tar.gz:    {env_gz / MB:8.1f} MB environment + {app_gz / MB:.1f} MB app = {total_gz / MB:.1f} MB")
    print("  largest packages: " + ", ".join(f"{name} {size / MB:.0f} MB" for size, name in biggest))
    if total_gz > args.limit_mb * MB:
        print(f"error: {total_gz / MB:.1f} MB compressed is over the {args.limit_mb:g} MB limit", file=sys.stderr)
        return 1
    print(f"  within the {args.limit_mb:g} MB limit (Heroku's slug limit is 500 MB compressed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
