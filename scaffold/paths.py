"""Where lossgen's data lives: `templates/` beside the code in a checkout, `scaffold/templates` in a wheel."""

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def templates_dir() -> Path:
    for candidate in (_HERE / "templates", _HERE.parent / "templates"):
        if (candidate / "losses").is_dir():
            return candidate
    raise FileNotFoundError("lossgen's templates/ directory is missing from this installation")


def builtin_losses_dir() -> Path:
    return templates_dir() / "losses"
