"""Helpers for tests that check source locations recorded in bundles and error messages."""

from pathlib import Path


def marker_line(path: str, marker: str) -> int:
    """Line number of the one line in `path` that ends with the comment `# marker`."""
    lines = Path(path).read_text().splitlines()
    hits = [k + 1 for k, text in enumerate(lines) if text.rstrip().endswith(f"# {marker}")]
    assert len(hits) == 1, f"{marker}: {len(hits)} lines in {path}"
    return hits[0]
