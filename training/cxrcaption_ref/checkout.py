"""The cxrcaption checkout these packages come from, for defaults that name its folders (the golden
fixtures, the shared data beside it).

The training packages are installed editable from a checkout (`scripts/setup --training`, or
`pip install -e training`), so the checkout is two folders above each package. A regular (non-editable)
install has no checkout: the defaults are then absent and the commands ask for the paths.
"""

from __future__ import annotations

from pathlib import Path


def checkout() -> Path | None:
    """The repository root holding training/ (with Package.swift), or None when installed elsewhere."""
    root = Path(__file__).resolve().parents[2]
    if (root / "Package.swift").is_file() and (root / "training" / "pyproject.toml").is_file():
        return root
    return None


def shared_data() -> Path | None:
    """`../shared/data` beside the checkout (real images and reports; tests that need it skip without it)."""
    root = checkout()
    return None if root is None else root.parent / "shared" / "data"
