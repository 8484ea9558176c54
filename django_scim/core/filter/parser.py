"""Lexer and recursive descent parser for SCIM filters (RFC 7644 section 3.4.2.2).

The grammar, with erratum 7319 applied (an optional space between ``not`` and ``(``, as the
RFC's own example ``not (emails co "example.com" ...)`` has)::

    FILTER    = attrExp / logExp / valuePath / *1("not" *1SP) "(" FILTER ")"
    valuePath = attrPath "[" valFilter "]"
    valFilter = attrExp / logExp / *1("not" *1SP) "(" valFilter ")"
    attrExp   = (attrPath SP "pr") / (attrPath SP compareOp SP compValue)
    logExp    = FILTER SP ("and" / "or") SP FILTER
    compValue = false / null / true / number / string   ; rules from JSON (RFC 7159)
    compareOp = "eq" / "ne" / "co" / "sw" / "ew" / "gt" / "lt" / "ge" / "le"

Precedence (section 3.4.2.2, "order of operations"): grouping, then ``not`` over ``and`` over
``or``; ``and`` and ``or`` associate to the left. Keywords and operators are case-insensitive.
Whitespace between tokens may be any run of spaces, tabs and line breaks.

Every failure is :class:`~django_scim.core.errors.InvalidFilter` with the position (1-based
character) in its detail; nothing else escapes :func:`parse_filter`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass

from ..errors import InvalidFilter
from ..paths import AttrPath, is_attr_name, parse_attr_path
from .ast import (
    COMPARE_OPERATORS,
    ORDERING_OPERATORS,
    SUBSTRING_OPERATORS,
    And,
    Compare,
    CompValue,
    Filter,
    Not,
    Or,
    Present,
    ValuePath,
)

#: Trees higher than this are refused whatever ``max_depth`` says: every consumer of a tree
#: (``str()``, :class:`FilterVisitor` subclasses) recurses once or twice per level, and a long
#: ``a or b or c ...`` chain is a tree as high as it is long.
MAX_TREE_HEIGHT = 200

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>[ \t\r\n]+)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<lbracket>\[)
  | (?P<rbracket>\])
  | (?P<string>")
  | (?P<word>[^ \t\r\n()\[\]"]+)
    """,
    re.VERBOSE,
)
# A string token ends at the first quote not escaped by a backslash.
_STRING_BODY_RE = re.compile(r'(?:[^"\\]|\\.)*"', re.DOTALL)
_NUMBER_RE = re.compile(r"-?(?:0|[1-9][0-9]*)(?P<frac>\.[0-9]+)?(?P<exp>[eE][+-]?[0-9]+)?")
_LITERALS: dict[str, CompValue] = {"true": True, "false": False, "null": None}
_OPERATOR_WORDS = COMPARE_OPERATORS | {"pr"}
_SHOWN_CHARS = 40


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    pos: int
    value: CompValue = None


def _error(message: str, pos: int) -> InvalidFilter:
    return InvalidFilter(f"{message} (at character {pos + 1}).")


def _describe(token: _Token | None) -> str:
    if token is None:
        return "end of filter"
    text = token.text if len(token.text) <= _SHOWN_CHARS else token.text[:_SHOWN_CHARS] + "..."
    return repr(text)


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None:  # pragma: no cover - the word rule matches any other character
            raise _error("Unexpected character", pos)
        kind = match.lastgroup or ""
        if kind == "string":
            tokens.append(_string_token(text, pos))
            pos = tokens[-1].pos + len(tokens[-1].text)
            continue
        if kind != "ws":
            tokens.append(_Token(kind, match.group(), pos))
        pos = match.end()
    return tokens


def _string_token(text: str, pos: int) -> _Token:
    """The JSON string starting at ``pos`` (RFC 8259 section 7: every JSON escape)."""
    body = _STRING_BODY_RE.match(text, pos + 1)
    if body is None:
        raise _error("Unterminated string", pos)
    literal = text[pos : body.end()]
    try:
        value = json.loads(literal)
    except ValueError as exc:
        # JSONDecodeError.pos is relative to the literal.
        offset = getattr(exc, "pos", 0) or 0
        reason = getattr(exc, "msg", "invalid string")
        raise _error(f"Invalid string: {reason}", pos + offset) from None
    # "\ud800" alone is valid JSON text but no character; it could not be stored or encoded.
    if any("\ud800" <= char <= "\udfff" for char in value):
        raise _error("Invalid string: unpaired surrogate escape", pos)
    return _Token("string", literal, pos, value)


class _Parser:
    """One parse: a token list, a cursor, the nesting depth."""

    def __init__(self, text: str, *, max_depth: int, known_urns: Collection[str], value_filter: bool) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0
        self.max_depth = max_depth
        self.known_urns = known_urns
        # Inside "[...]" (or parsing a PATCH value filter) paths are sub-attribute names.
        self.in_value_filter = value_filter

    # --- cursor ---------------------------------------------------------------------------

    def _peek(self, ahead: int = 0) -> _Token | None:
        index = self.index + ahead
        return self.tokens[index] if index < len(self.tokens) else None

    def _next(self) -> _Token | None:
        token = self._peek()
        if token is not None:
            self.index += 1
        return token

    def _at_keyword(self, keyword: str) -> bool:
        token = self._peek()
        return token is not None and token.kind == "word" and token.text.lower() == keyword

    def _end_pos(self) -> int:
        return len(self.text)

    def _pos(self, token: _Token | None) -> int:
        return self._end_pos() if token is None else token.pos

    def _expect(self, kind: str, what: str) -> _Token:
        token = self._next()
        if token is None or token.kind != kind:
            raise _error(f"Expected {what}, found {_describe(token)}", self._pos(token))
        return token

    def _enter(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > self.max_depth:
            raise _error(f"The filter is nested more than {self.max_depth} levels deep", token.pos)

    # --- grammar, one function per precedence level -------------------------------------

    def parse(self) -> Filter:
        if not self.tokens:
            raise InvalidFilter("The filter is empty.")
        node = self._or()
        token = self._peek()
        if token is not None:
            raise _error(
                f"Expected 'and', 'or' or the end of the filter, found {_describe(token)}", token.pos
            )
        return node

    def _or(self) -> Filter:
        """``logExp = FILTER SP "or" SP FILTER``: the loosest level."""
        node = self._and()
        while self._at_keyword("or"):
            self._next()
            node = Or(node, self._and())
        return node

    def _and(self) -> Filter:
        """``logExp = FILTER SP "and" SP FILTER``: binds tighter than ``or``."""
        node = self._not()
        while self._at_keyword("and"):
            self._next()
            node = And(node, self._not())
        return node

    def _not(self) -> Filter:
        """``*1("not" *1SP) "(" FILTER ")"``: binds tighter than ``and``."""
        following = self._peek(1)
        # "not" is the operator only before "(": an attribute may be called "not".
        if self._at_keyword("not") and following is not None and following.kind == "lparen":
            self._next()
            return Not(self._group())
        return self._primary()

    def _primary(self) -> Filter:
        """``"(" FILTER ")" / attrExp / valuePath``."""
        token = self._peek()
        if token is not None and token.kind == "lparen":
            return self._group()
        if self._at_keyword("not"):
            following = self._peek(1)
            # An attribute called "not" is followed by an operator or "["; anything else means
            # the client wrote "not" without the parentheses the grammar requires.
            if following is None or (
                following.kind == "word" and following.text.lower() not in _OPERATOR_WORDS
            ):
                raise _error("Expected '(' after 'not': write not (...)", self._pos(following))
        return self._attr_exp()

    def _group(self) -> Filter:
        """``"(" FILTER ")"``: grouping, the tightest binding."""
        opening = self._expect("lparen", "'('")
        self._enter(opening)
        node = self._or()
        token = self._next()
        if token is None or token.kind != "rparen":
            raise _error(
                f"Expected ')' to close the '(' at character {opening.pos + 1}, found {_describe(token)}",
                self._pos(token),
            )
        self.depth -= 1
        return node

    def _attr_exp(self) -> Filter:
        """``attrExp = (attrPath SP "pr") / (attrPath SP compareOp SP compValue)``, or ``valuePath``."""
        token = self._next()
        if token is None or token.kind != "word":
            raise _error(f"Expected an attribute name or '(', found {_describe(token)}", self._pos(token))
        path = self._attr_path(token)
        bracket = self._peek()
        if bracket is not None and bracket.kind == "lbracket":
            return self._value_path(path)
        return self._comparison(path, token)

    def _value_path(self, path: AttrPath) -> Filter:
        """``valuePath = attrPath "[" valFilter "]"``; no value path nests in another."""
        opening = self._expect("lbracket", "'['")
        if self.in_value_filter:
            raise _error("A value filter cannot contain another value filter", opening.pos)
        if path.sub_attr is not None:
            raise _error(
                f"A value filter applies to a multi-valued attribute, not to the sub-attribute {str(path)!r}",
                opening.pos,
            )
        self._enter(opening)
        self.in_value_filter = True
        inner = self._or()
        self.in_value_filter = False
        closing = self._next()
        if closing is None or closing.kind != "rbracket":
            raise _error(
                f"Expected ']' to close the '[' at character {opening.pos + 1}, found {_describe(closing)}",
                self._pos(closing),
            )
        self.depth -= 1
        sub = self._peek()
        if sub is not None and sub.kind == "word" and sub.text.startswith(".") and sub.pos == closing.pos + 1:
            # Microsoft Entra ID sends `emails[type eq "work"].value eq "x"` (the PATCH path
            # form of RFC 7644 section 3.5.2 used as a filter). It means one element with both
            # type "work" and value "x", so the comparison joins the bracketed filter.
            self._next()
            name = sub.text[1:]
            if not is_attr_name(name):
                raise _error(f"Invalid sub-attribute name {name!r} after ']'", sub.pos + 1)
            sub_path = AttrPath(None, name, None)
            inner = And(inner, self._comparison(sub_path, sub))
        return ValuePath(path, inner)

    def _comparison(self, path: AttrPath, path_token: _Token) -> Filter:
        """``SP "pr"`` or ``SP compareOp SP compValue`` after an attribute path."""
        token = self._next()
        if token is None or token.kind != "word":
            raise _error(
                f"Expected an operator after {_describe(path_token)}, found {_describe(token)}",
                self._pos(token),
            )
        op = token.text.lower()
        if op == "pr":
            return Present(path)
        if op not in COMPARE_OPERATORS:
            raise _error(
                f"Unknown operator {_describe(token)}; expected eq, ne, co, sw, ew, gt, ge, lt, le or pr",
                token.pos,
            )
        value, value_token = self._comp_value()
        if op in ORDERING_OPERATORS and (value is None or isinstance(value, bool)):
            # RFC 7644 section 3.4.2.2: booleans (and null) cannot be ordered.
            raise _error(f"'{op}' needs a string or a number, not {value_token.text}", value_token.pos)
        if op in SUBSTRING_OPERATORS and (value is None or isinstance(value, bool)):
            raise _error(f"'{op}' needs a string, not {value_token.text}", value_token.pos)
        return Compare(path, op, value)

    def _comp_value(self) -> tuple[CompValue, _Token]:
        """``compValue = false / null / true / number / string`` (JSON, RFC 8259)."""
        token = self._next()
        if token is not None and token.kind == "string":
            return token.value, token
        if token is None or token.kind != "word":
            raise _error(f"Expected a value, found {_describe(token)}", self._pos(token))
        lowered = token.text.lower()
        if lowered in _LITERALS:
            return _LITERALS[lowered], token
        number = _NUMBER_RE.fullmatch(token.text)
        if number is None:
            raise _error(
                f"Expected a value (a double-quoted string, a number, true, false or null), "
                f"found {_describe(token)}",
                token.pos,
            )
        if number.group("frac") is None and number.group("exp") is None:
            try:
                return int(token.text), token
            except ValueError:  # more digits than sys.get_int_max_str_digits()
                raise _error("The number has too many digits", token.pos) from None
        result = float(token.text)
        if result in (float("inf"), float("-inf")):
            raise _error("The number is out of range", token.pos)
        return result, token

    def _attr_path(self, token: _Token) -> AttrPath:
        text = token.text
        try:
            path = parse_attr_path(text, known_urns=self.known_urns, error=InvalidFilter)
        except InvalidFilter as exc:
            raise _error(exc.detail.rstrip("."), token.pos) from None
        if path.attr is None:
            raise _error(f"Expected an attribute name after the schema URN {text!r}", token.pos)
        if self.in_value_filter and (path.urn is not None or path.sub_attr is not None):
            raise _error(
                f"Inside a value filter, name a sub-attribute of the multi-valued attribute "
                f"(such as 'value' or 'type'), not {text!r}",
                token.pos,
            )
        return path


def _tree_height(node: Filter) -> int:
    """The height of ``node``'s tree, counted without recursion."""
    height = 0
    stack: list[tuple[Filter, int]] = [(node, 1)]
    while stack:
        current, level = stack.pop()
        height = max(height, level)
        if isinstance(current, And | Or):
            stack.append((current.left, level + 1))
            stack.append((current.right, level + 1))
        elif isinstance(current, Not):
            stack.append((current.expr, level + 1))
        elif isinstance(current, ValuePath):
            stack.append((current.filter, level + 1))
    return height


def _parse(
    text: str, *, max_length: int, max_depth: int, known_urns: Collection[str], value_filter: bool
) -> Filter:
    if len(text) > max_length:
        raise InvalidFilter(f"The filter is longer than {max_length} characters.")
    try:
        node = _Parser(text, max_depth=max_depth, known_urns=known_urns, value_filter=value_filter).parse()
    except RecursionError:
        # Only reachable when a caller raises max_depth past what the interpreter's stack holds.
        raise InvalidFilter("The filter is nested too deeply.") from None
    if _tree_height(node) > MAX_TREE_HEIGHT:
        raise InvalidFilter(
            f"The filter combines too many expressions (more than {MAX_TREE_HEIGHT} levels of and/or/not)."
        )
    return node


def parse_filter(
    text: str,
    *,
    max_length: int = 4096,
    max_depth: int = 50,
    known_urns: Collection[str] = (),
) -> Filter:
    """Parse a ``filter`` (RFC 7644 section 3.4.2.2) into a tree.

    ``max_depth`` bounds the nesting of parentheses, ``not (...)`` and ``[...]``; ``known_urns``
    are the schema URNs used to split fully qualified attribute paths (see
    :func:`~django_scim.core.paths.parse_attr_path`). Attribute names are kept as written.
    Any malformed, too long or too deeply nested text raises
    :class:`~django_scim.core.errors.InvalidFilter`, and nothing else.

    Microsoft Entra ID's ``emails[type eq "work"].value eq "x"`` is accepted and means
    ``emails[type eq "work" and value eq "x"]``.
    """
    return _parse(text, max_length=max_length, max_depth=max_depth, known_urns=known_urns, value_filter=False)


def parse_value_filter(text: str, *, max_length: int = 4096, max_depth: int = 50) -> Filter:
    """Parse a ``valFilter``: the text between the brackets of a value path.

    Its paths are sub-attribute names (``type``, ``value``, ``$ref``): no schema URN, no
    ``.subAttr``, no nested value path. Errors are :class:`~django_scim.core.errors.InvalidFilter`.
    Used for PATCH paths (RFC 7644 section 3.5.2).
    """
    return _parse(text, max_length=max_length, max_depth=max_depth, known_urns=(), value_filter=True)
