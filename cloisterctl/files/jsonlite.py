"""A JSON reader written with nothing but builtins, for the start-up paths that must not import
``json`` (it imports ``re``, which with ``enum`` is most of a bare interpreter's start again).

``loads`` takes RFC 8259 text (objects, arrays, strings with every escape, surrogate pairs
included, numbers, true, false, null) and returns what ``json.loads`` returns for it; it refuses
the rest with ``ValueError``, as ``json.loads`` does, and also refuses ``json``'s extensions
(``NaN``, ``Infinity``) and nesting deeper than ``MAX_DEPTH`` (a hostile input cannot exhaust the
stack). It is meant for small documents: Claude
Code's statusLine input and cloisterctl's own statusline summary, a few kilobytes each.
"""

from __future__ import annotations

MAX_DEPTH = 64
_WHITESPACE = " \t\n\r"
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_NUMBER_CHARS = frozenset("0123456789+-.eE")
_HEX = frozenset("0123456789abcdefABCDEF")


class _Reader:
    __slots__ = ("text", "at")

    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def fail(self, what: str) -> ValueError:
        return ValueError(f"{what} at character {self.at}")

    def skip(self) -> None:
        text, at = self.text, self.at
        while at < len(text) and text[at] in _WHITESPACE:
            at += 1
        self.at = at

    def read_value(self, depth: int) -> object:
        self.skip()
        if self.at >= len(self.text):
            raise self.fail("a value expected")
        char = self.text[self.at]
        if char == "{":
            return self.read_object(depth + 1)
        if char == "[":
            return self.read_array(depth + 1)
        if char == '"':
            return self.read_string()
        for word, meaning in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(word, self.at):
                self.at += len(word)
                return meaning
        return self.read_number()

    def read_object(self, depth: int) -> dict[str, object]:
        if depth > MAX_DEPTH:
            raise self.fail("nesting too deep")
        self.at += 1
        found: dict[str, object] = {}
        self.skip()
        if self.text.startswith("}", self.at):
            self.at += 1
            return found
        while True:
            self.skip()
            if not self.text.startswith('"', self.at):
                raise self.fail("a string key expected")
            key = self.read_string()
            self.skip()
            if not self.text.startswith(":", self.at):
                raise self.fail("':' expected")
            self.at += 1
            found[key] = self.read_value(depth)
            self.skip()
            if self.text.startswith(",", self.at):
                self.at += 1
            elif self.text.startswith("}", self.at):
                self.at += 1
                return found
            else:
                raise self.fail("',' or '}' expected")

    def read_array(self, depth: int) -> list[object]:
        if depth > MAX_DEPTH:
            raise self.fail("nesting too deep")
        self.at += 1
        found: list[object] = []
        self.skip()
        if self.text.startswith("]", self.at):
            self.at += 1
            return found
        while True:
            found.append(self.read_value(depth))
            self.skip()
            if self.text.startswith(",", self.at):
                self.at += 1
            elif self.text.startswith("]", self.at):
                self.at += 1
                return found
            else:
                raise self.fail("',' or ']' expected")

    def read_string(self) -> str:
        text = self.text
        at = self.at + 1
        parts: list[str] = []
        while True:
            end = at
            while end < len(text) and text[end] != '"' and text[end] != "\\" and text[end] >= " ":
                end += 1
            parts.append(text[at:end])
            if end >= len(text):
                self.at = end
                raise self.fail("an unterminated string")
            char = text[end]
            if char == '"':
                self.at = end + 1
                return "".join(parts)
            if char < " ":
                self.at = end
                raise self.fail("a control character in a string")
            escape = text[end + 1 : end + 2]
            if escape == "u":
                code = self._hex(end + 2)
                at = end + 6
                if 0xD800 <= code <= 0xDBFF and text.startswith("\\u", at):
                    low = self._hex(at + 2)
                    if 0xDC00 <= low <= 0xDFFF:
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        at += 6
                parts.append(chr(code))
            elif escape in _ESCAPES:
                parts.append(_ESCAPES[escape])
                at = end + 2
            else:
                self.at = end
                raise self.fail("an invalid escape")

    def _hex(self, at: int) -> int:
        digits = self.text[at : at + 4]
        if len(digits) != 4 or not all(char in _HEX for char in digits):
            self.at = at
            raise self.fail("an invalid \\u escape")
        return int(digits, 16)

    def read_number(self) -> int | float:
        text, start = self.text, self.at
        end = start
        while end < len(text) and text[end] in _NUMBER_CHARS:
            end += 1
        token = text[start:end]
        if not _is_json_number(token):
            raise self.fail("a value expected")
        self.at = end
        if "." in token or "e" in token or "E" in token:
            return float(token)
        return int(token)


def _digits(token: str) -> bool:
    return token != "" and token.isascii() and token.isdigit()


def _is_json_number(token: str) -> bool:
    """``-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?``, without ``re``."""
    body = token[1:] if token.startswith("-") else token
    mantissa, exponent = body, None
    for mark in ("e", "E"):
        if mark in body:
            mantissa, exponent = body.split(mark, 1)
            break
    whole, dot, fraction = mantissa.partition(".")
    if not _digits(whole) or (len(whole) > 1 and whole[0] == "0"):
        return False
    if dot and not _digits(fraction):
        return False
    if exponent is not None:
        exponent = exponent[1:] if exponent[:1] in ("+", "-") else exponent
        if not _digits(exponent):
            return False
    return True


def loads(text: str) -> object:
    """The value of the JSON document ``text``; ``ValueError`` when it is not one."""
    reader = _Reader(text)
    found = reader.read_value(0)
    reader.skip()
    if reader.at != len(text):
        raise reader.fail("extra data")
    return found
