"""Strict JSON reading for everything a user hands the advisor (answers, measured accuracy,
assumption overrides, results files).

`loads` accepts a UTF-8 byte-order mark (Windows editors write one) and turns every hostile input
into one ValueError line naming the key: duplicate keys, nesting deeper than `MAX_DEPTH`,
integers too long to be a quantity, NaN / Infinity literals.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MAX_DEPTH = 64  # answers are flat; results files nest a few levels
MAX_INT_DIGITS = 30


def loads(text: str | bytes, name: str = "input") -> Any:
    """Parse JSON text; raise ValueError('<name>: ...') or ('<key>: ...') on anything odd."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValueError(f"{name}: not UTF-8 text") from None
    text = text.removeprefix("\ufeff")
    _check_depth(text, name)
    try:
        return json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_int=_int,
            parse_constant=_no_constant,
        )
    except json.JSONDecodeError as e:
        raise ValueError(f"{name}: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})")
    except _KeyError as e:
        raise ValueError(str(e)) from None
    except RecursionError:
        raise ValueError(f"{name}: JSON nested too deeply") from None


def read_bytes(path: str | Path, what: str = "file") -> bytes:
    """The bytes of a user's file; a missing or unreadable file is one line naming it."""
    p = Path(path)
    try:
        return p.read_bytes()
    except FileNotFoundError:
        raise ValueError(f"{p}: {what} not found") from None
    except OSError as e:
        raise ValueError(f"{p}: cannot read {what} ({e.strerror})") from None


def read(path: str | Path, what: str = "file") -> Any:
    """Read and parse a JSON file; errors name the file."""
    return loads(read_bytes(path, what), str(path))


class _KeyError(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _KeyError(f"{key}: appears twice; give each key once")
        out[key] = value
    return out


def _int(text: str) -> int | float:
    digits = text.lstrip("-")
    if len(digits) > MAX_INT_DIGITS:
        # Parsed as a float so that the validator names the key and its allowed range.
        return float("inf") if not text.startswith("-") else float("-inf")
    return int(text)


def _no_constant(text: str) -> Any:
    raise _KeyError(f"{text}: not a number JSON allows; give a finite number")


def _check_depth(text: str, name: str) -> None:
    """Reject deep nesting before the recursive parser sees it (brackets outside strings)."""
    depth, in_str, esc = 0, False, False
    for ch in text:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise ValueError(f"{name}: JSON nested more than {MAX_DEPTH} levels deep")
        elif ch in "]}":
            depth -= 1
