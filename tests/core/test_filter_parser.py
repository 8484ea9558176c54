"""The filter parser and its trees (RFC 7644 section 3.4.2.2)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from django_scim.core.constants import ENTERPRISE_USER_SCHEMA, USER_SCHEMA
from django_scim.core.errors import InvalidFilter
from django_scim.core.filter import (
    COMPARE_OPERATORS,
    ORDERING_OPERATORS,
    SUBSTRING_OPERATORS,
    And,
    Compare,
    Filter,
    FilterVisitor,
    Not,
    Or,
    Present,
    ValuePath,
    parse_filter,
    parse_value_filter,
)
from django_scim.core.filter.parser import MAX_TREE_HEIGHT
from django_scim.core.paths import AttrPath

CUSTOM_SCHEMA = "urn:example:params:scim:schemas:custom:1.0:Thing"


def p(name: str, sub: str | None = None, urn: str | None = None) -> AttrPath:
    return AttrPath(urn, name, sub)


def eq(name: str, value: object, sub: str | None = None) -> Compare:
    return Compare(p(name, sub), "eq", value)  # type: ignore[arg-type]


# --- RFC 7644 section 3.4.2.2 examples ------------------------------------------------------

RFC_EXAMPLES = [
    ('userName eq "bjensen"', eq("userName", "bjensen")),
    ('name.familyName co "O\'Malley"', Compare(p("name", "familyName"), "co", "O'Malley")),
    ('userName sw "J"', Compare(p("userName"), "sw", "J")),
    (f'{USER_SCHEMA}:userName sw "J"', Compare(p("userName", urn=USER_SCHEMA), "sw", "J")),
    ("title pr", Present(p("title"))),
    *(
        (
            f'meta.lastModified {op} "2011-05-13T04:42:34Z"',
            Compare(p("meta", "lastModified"), op, "2011-05-13T04:42:34Z"),
        )
        for op in ("gt", "ge", "lt", "le")
    ),
    ('title pr and userType eq "Employee"', And(Present(p("title")), eq("userType", "Employee"))),
    ('title pr or userType eq "Intern"', Or(Present(p("title")), eq("userType", "Intern"))),
    (f'schemas eq "{ENTERPRISE_USER_SCHEMA}"', eq("schemas", ENTERPRISE_USER_SCHEMA)),
    (
        'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")',
        And(
            eq("userType", "Employee"),
            Or(Compare(p("emails"), "co", "example.com"), Compare(p("emails", "value"), "co", "example.org")),
        ),
    ),
    (
        'userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")',
        And(
            Compare(p("userType"), "ne", "Employee"),
            Not(
                Or(
                    Compare(p("emails"), "co", "example.com"),
                    Compare(p("emails", "value"), "co", "example.org"),
                )
            ),
        ),
    ),
    (
        'userType eq "Employee" and (emails.type eq "work")',
        And(eq("userType", "Employee"), eq("emails", "work", "type")),
    ),
    (
        'userType eq "Employee" and emails[type eq "work" and value co "@example.com"]',
        And(
            eq("userType", "Employee"),
            ValuePath(p("emails"), And(eq("type", "work"), Compare(p("value"), "co", "@example.com"))),
        ),
    ),
    (
        'emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]',
        Or(
            ValuePath(p("emails"), And(eq("type", "work"), Compare(p("value"), "co", "@example.com"))),
            ValuePath(p("ims"), And(eq("type", "xmpp"), Compare(p("value"), "co", "@foo.com"))),
        ),
    ),
]


@pytest.mark.parametrize(("text", "expected"), RFC_EXAMPLES)
def test_rfc7644_3_4_2_2_examples(text: str, expected: Filter) -> None:
    """Every filter example of RFC 7644 section 3.4.2.2 parses, and renders back canonically."""
    parsed = parse_filter(text)
    assert parsed == expected
    assert parse_filter(str(parsed)) == parsed


# --- precedence (RFC 7644 section 3.4.2.2, "order of operations") ----------------------------

A, B, C, D = (Present(p(name)) for name in "abcd")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # scim2-filter-parser 0.7.0 parses this as (a or b) and c.
        ("a pr or b pr and c pr", Or(A, And(B, C))),
        ("a pr and b pr or c pr", Or(And(A, B), C)),
        ("a pr or b pr and c pr or d pr", Or(Or(A, And(B, C)), D)),
        ("(a pr or b pr) and c pr", And(Or(A, B), C)),
        ("not (a pr) and b pr", And(Not(A), B)),
        ("not (a pr) or b pr and c pr", Or(Not(A), And(B, C))),
        ("a pr and b pr and c pr", And(And(A, B), C)),
        ("a pr or b pr or c pr", Or(Or(A, B), C)),
        ("a pr or (b pr or c pr)", Or(A, Or(B, C))),
        ("((a pr))", A),
        ("not (not (a pr))", Not(Not(A))),
    ],
)
def test_precedence_not_over_and_over_or_rfc7644_3_4_2_2(text: str, expected: Filter) -> None:
    """RFC 7644 section 3.4.2.2: "not" takes precedence over "and", which takes precedence over "or"."""
    assert parse_filter(text) == expected


def test_a_or_b_and_c_is_a_or_b_and_c_grouped_right() -> None:
    """Pinned: ``a or b and c`` == ``a or (b and c)`` (RFC 7644 section 3.4.2.2)."""
    assert parse_filter("a pr or b pr and c pr") == parse_filter("a pr or (b pr and c pr)")
    assert parse_filter("a pr or b pr and c pr") != parse_filter("(a pr or b pr) and c pr")


@pytest.mark.parametrize(
    ("node", "text"),
    [
        (And(Or(A, B), C), "(a pr or b pr) and c pr"),
        (And(A, Or(B, C)), "a pr and (b pr or c pr)"),
        (Or(A, Or(B, C)), "a pr or (b pr or c pr)"),
        (And(A, And(B, C)), "a pr and (b pr and c pr)"),
        (Or(And(A, B), And(C, D)), "a pr and b pr or c pr and d pr"),
        (Not(Or(A, B)), "not (a pr or b pr)"),
        (And(Not(A), B), "not (a pr) and b pr"),
        (ValuePath(p("emails"), Or(A, B)), "emails[a pr or b pr]"),
    ],
)
def test_str_parenthesises_only_where_needed(node: Filter, text: str) -> None:
    """Canonical text: parentheses where precedence or left-associativity need them."""
    assert str(node) == text
    assert parse_filter(text) == node


# --- operators, keywords, case ------------------------------------------------------------------


@pytest.mark.parametrize("op", sorted(COMPARE_OPERATORS))
def test_every_compare_operator_rfc7644_table_3(op: str) -> None:
    """RFC 7644 section 3.4.2.2, Table 3: eq ne co sw ew gt ge lt le, in any case."""
    for written in (op, op.upper(), op.title()):
        assert parse_filter(f'userName {written} "x"') == Compare(p("userName"), op, "x")


def test_pr_takes_no_value() -> None:
    """``attrPath SP "pr"`` has no compValue (RFC 7644 section 3.4.2.2)."""
    assert parse_filter("title PR") == Present(p("title"))
    with pytest.raises(InvalidFilter, match="Expected 'and', 'or' or the end"):
        parse_filter('title pr "x"')


def test_keywords_are_case_insensitive() -> None:
    """RFC 7644 section 3.4.2.2: operators and keywords are case-insensitive."""
    assert parse_filter("a pr OR b Pr AnD NOT (c pR)") == Or(A, And(B, Not(C)))
    assert parse_filter("a eq TRUE or b eq False or c eq NULL") == Or(
        Or(Compare(p("a"), "eq", True), Compare(p("b"), "eq", False)), Compare(p("c"), "eq", None)
    )


def test_attribute_names_keep_their_case() -> None:
    """Names are case-insensitive (RFC 7643 section 2.1); resolution is the caller's, so keep them."""
    assert parse_filter('USERNAME eq "x"') == eq("USERNAME", "x")
    assert parse_filter('Name.FamilyName eq "x"') == eq("Name", "x", "FamilyName")


def test_keywords_can_be_attribute_names() -> None:
    """ATTRNAME allows ``not``, ``and``, ``or``, ``pr``, ``eq``...: position decides."""
    assert parse_filter("not pr") == Present(p("not"))
    assert parse_filter('and eq "x" and or eq "y"') == And(eq("and", "x"), eq("or", "y"))
    assert parse_filter("pr pr") == Present(p("pr"))
    assert parse_filter("not[eq pr]") == ValuePath(p("not"), Present(p("eq")))


@pytest.mark.parametrize("op", sorted(ORDERING_OPERATORS))
@pytest.mark.parametrize("value", ["true", "false", "null", "TRUE"])
def test_ordering_booleans_and_null_is_invalid_rfc7644_3_4_2_2(op: str, value: str) -> None:
    """RFC 7644 section 3.4.2.2: boolean (and null) values cannot be ordered: ``invalidFilter``."""
    with pytest.raises(InvalidFilter, match=f"'{op}' needs a string or a number"):
        parse_filter(f"active {op} {value}")


@pytest.mark.parametrize("op", sorted(SUBSTRING_OPERATORS))
def test_substring_of_boolean_or_null_is_invalid(op: str) -> None:
    """``co``/``sw``/``ew`` look for a substring: true, false and null have none."""
    with pytest.raises(InvalidFilter, match=f"'{op}' needs a string"):
        parse_filter(f"userName {op} null")


def test_not_without_space_erratum_7319() -> None:
    """RFC 7644 erratum 7319: ``not (`` (as in the RFC's example) and ``not(`` both parse."""
    assert parse_filter("not(a pr)") == parse_filter("not (a pr)") == Not(A)


def test_not_needs_parentheses() -> None:
    """``*1("not" SP) "(" FILTER ")"``: ``not`` only negates a parenthesised filter."""
    for text in ('not userName eq "x"', "not", "a pr and not", "not not (a pr)"):
        with pytest.raises(InvalidFilter, match=r"Expected '\(' after 'not'"):
            parse_filter(text)


def test_whitespace_is_lenient() -> None:
    """Clients send tabs, line breaks and double spaces; the RFC's single SP is not enforced."""
    assert parse_filter('  userName\teq\n"x"   and\r\n title  pr ') == And(
        eq("userName", "x"), Present(p("title"))
    )
    assert parse_filter("(a pr)and(b pr)") == And(A, B)


# --- values: JSON strings, numbers, literals (RFC 7644 section 3.4.2.2 compValue, RFC 8259) ----


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        (r'"a\"b"', 'a"b'),
        (r'"a\\b"', "a\\b"),
        (r'"a\/b"', "a/b"),
        (r'"\b\f\n\r\t"', "\b\f\n\r\t"),
        (r'"\u00e9\u00C9"', "éÉ"),
        (r'"\ud83d\ude00"', "\U0001f600"),
        ('"raw é 😀 [x] (y) and or"', "raw é 😀 [x] (y) and or"),
        ('""', ""),
        ('"O\'Malley"', "O'Malley"),
    ],
)
def test_json_string_escapes_rfc8259_7(literal: str, value: str) -> None:
    """compValue strings are JSON strings (RFC 7644 section 3.4.2.2 -> RFC 8259 section 7)."""
    node = parse_filter(f"displayName eq {literal}")
    assert node == eq("displayName", value)
    assert parse_filter(str(node)) == node


@pytest.mark.parametrize(
    ("literal", "message"),
    [
        (r'"\x41"', "Invalid string"),
        (r'"\u12"', "Invalid string"),
        (r'"\ud83d"', "unpaired surrogate"),
        (r'"\ude00x"', "unpaired surrogate"),
        ('"tab\there"', "Invalid string"),
        ('"line\nbreak"', "Invalid string"),
        ('"unterminated', "Unterminated string"),
        (r'"ends with backslash\"', "Unterminated string"),
        ("'single'", "Expected a value"),
        ("bjensen", "double-quoted string"),
    ],
)
def test_bad_strings_are_invalid_filter(literal: str, message: str) -> None:
    """Malformed JSON strings are ``invalidFilter`` with a position."""
    with pytest.raises(InvalidFilter, match=message):
        parse_filter(f"displayName eq {literal}")


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("0", 0),
        ("-0", 0),
        ("42", 42),
        ("-17", -17),
        ("12345678901234567890", 12345678901234567890),
        ("1.5", 1.5),
        ("-0.25", -0.25),
        ("1e3", 1000.0),
        ("1E+3", 1000.0),
        ("2.5e-3", 0.0025),
        ("1.0", 1.0),
    ],
)
def test_json_numbers_rfc8259_6(literal: str, value: int | float) -> None:
    """JSON numbers: ``int`` without fraction or exponent, ``float`` otherwise."""
    node = parse_filter(f"age gt {literal}")
    assert node == Compare(p("age"), "gt", value)
    assert type(node.value) is type(value)  # type: ignore[union-attr]
    assert parse_filter(str(node)) == node


@pytest.mark.parametrize(
    "literal", ["01", "+1", "1.", ".5", "1e", "1e+", "0x10", "1_000", "--1", "1.2.3", "٣"]
)
def test_bad_numbers_are_invalid_filter(literal: str) -> None:
    """Anything outside the JSON number grammar is ``invalidFilter``."""
    with pytest.raises(InvalidFilter):
        parse_filter(f"age eq {literal}")


def test_out_of_range_numbers_are_invalid_filter() -> None:
    """A number that is no finite float, or an int too long to convert, is ``invalidFilter``."""
    with pytest.raises(InvalidFilter, match="out of range"):
        parse_filter("age eq 1e400")
    with pytest.raises(InvalidFilter, match="too many digits"):
        parse_filter("age eq " + "9" * 5000, max_length=10_000)


def test_compare_equality_distinguishes_value_types() -> None:
    """``true`` is not ``1`` and ``1`` is not ``1.0`` in a filter, though Python says so."""
    assert Compare(p("a"), "eq", True) != Compare(p("a"), "eq", 1)
    assert Compare(p("a"), "eq", 1) != Compare(p("a"), "eq", 1.0)
    assert hash(Compare(p("a"), "eq", 1)) == hash(Compare(p("a"), "eq", 1))
    assert Compare(p("a"), "eq", 1) == Compare(p("a"), "eq", 1)


# --- value paths, URNs, the Entra quirk --------------------------------------------------------


def test_value_path_rfc7644_3_4_2_2() -> None:
    """``valuePath = attrPath "[" valFilter "]"``; its paths are sub-attribute names."""
    assert parse_filter('emails[type eq "work" and value co "@example.com"]') == ValuePath(
        p("emails"), And(eq("type", "work"), Compare(p("value"), "co", "@example.com"))
    )
    assert parse_filter('members[not (value eq "x")]') == ValuePath(p("members"), Not(eq("value", "x")))
    assert parse_filter("members[$ref pr]") == ValuePath(p("members"), Present(p("$ref")))
    assert parse_filter(f'{USER_SCHEMA}:emails[type eq "work"]') == ValuePath(
        p("emails", urn=USER_SCHEMA), eq("type", "work")
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('emails[value[type eq "x"]]', "cannot contain another value filter"),
        ('emails[emails.type eq "work"]', "name a sub-attribute"),
        (f'emails[{USER_SCHEMA}:type eq "work"]', "name a sub-attribute"),
        ('name.givenName[value eq "x"]', "not to the sub-attribute"),
        ('emails[type eq "work"', r"Expected '\]' to close"),
        ('emails[type eq "work")', r"Expected '\]' to close"),
        ("emails[]", "Expected an attribute name"),
        ('emails[type eq "work"] .value eq "x"', "Expected 'and', 'or' or the end"),
        ('emails[type eq "work"].1value eq "x"', "Invalid sub-attribute name"),
        ('emails[type eq "work"].value', "Expected an operator"),
    ],
)
def test_bad_value_paths(text: str, message: str) -> None:
    """No nested value paths (RFC 7644 section 3.4.2.2 valFilter), relative names only."""
    with pytest.raises(InvalidFilter, match=message):
        parse_filter(text)


def test_entra_id_value_path_with_sub_attribute() -> None:
    """Microsoft Entra ID sends ``emails[type eq "work"].value eq "x"``: one element, both conditions."""
    expected = ValuePath(p("emails"), And(eq("type", "work"), eq("value", "user@contoso.com")))
    assert parse_filter('emails[type eq "work"].value eq "user@contoso.com"') == expected
    assert str(expected) == 'emails[type eq "work" and value eq "user@contoso.com"]'
    assert parse_filter('emails[type eq "work" or type eq "home"].value pr and userName pr') == And(
        ValuePath(p("emails"), And(Or(eq("type", "work"), eq("type", "home")), Present(p("value")))),
        Present(p("userName")),
    )


def test_urn_qualified_paths_rfc7644_3_10() -> None:
    """Fully qualified paths split at the last ":" or at a known URN (RFC 7644 section 3.10)."""
    assert parse_filter(f'{ENTERPRISE_USER_SCHEMA}:manager.value eq "x"') == Compare(
        p("manager", "value", ENTERPRISE_USER_SCHEMA), "eq", "x"
    )
    assert parse_filter(f"{CUSTOM_SCHEMA}:level ge 3", known_urns=[CUSTOM_SCHEMA]) == Compare(
        p("level", urn=CUSTOM_SCHEMA), "ge", 3
    )


def test_bare_urn_is_not_a_filter_path() -> None:
    """A filter compares an attribute: a bare schema URN names none."""
    with pytest.raises(InvalidFilter, match="Expected an attribute name after the schema URN"):
        parse_filter(f"{CUSTOM_SCHEMA} pr", known_urns=[CUSTOM_SCHEMA])


def test_parse_value_filter_for_patch_paths() -> None:
    """``valFilter`` alone (RFC 7644 section 3.5.2): relative names, no nested value path."""
    assert parse_value_filter('type eq "work"') == eq("type", "work")
    with pytest.raises(InvalidFilter, match="name a sub-attribute"):
        parse_value_filter('emails.type eq "work"')
    with pytest.raises(InvalidFilter, match="cannot contain another value filter"):
        parse_value_filter("emails[type pr]")


# --- errors and limits ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("userName", "Expected an operator after 'userName', found end of filter"),
        ('userName equals "x"', "Unknown operator 'equals'"),
        ("userName eq", r"Expected a value, found end of filter \(at character 12\)"),
        ('userName eq "x" and', r"Expected an attribute name or '\(', found end of filter"),
        ('userName eq "x" userName eq "y"', r"found 'userName' \(at character 17\)"),
        ('(userName eq "x"', r"Expected '\)' to close the '\(' at character 1"),
        ('userName eq "x")', r"found '\)'"),
        ("()", r"Expected an attribute name or '\(', found '\)'"),
        ('1userName eq "x"', "not an attribute name"),
        ('name..familyName eq "x"', "missing"),
        ('name.familyName.x eq "x"', "only one sub-attribute level"),
        ('userName eq "x" or', "found end of filter"),
        ("and pr pr", "Expected 'and', 'or' or the end of the filter, found 'pr'"),
        ('userName eq ["x"]', r"Expected a value, found '\['"),
        ("[a pr]", r"Expected an attribute name or '\(', found '\['"),
        ('userName eq "x"]', r"found '\]'"),
    ],
)
def test_malformed_filters_are_invalid_filter_with_position(text: str, message: str) -> None:
    """RFC 7644 section 3.4.2.2 / 3.12: syntax errors are ``invalidFilter`` with a useful detail."""
    with pytest.raises(InvalidFilter, match=message) as info:
        parse_filter(text)
    assert info.value.to_dict()["scimType"] == "invalidFilter"


def test_length_limit() -> None:
    """Over-long filters are refused before any parsing."""
    text = 'userName eq "' + "x" * 100 + '"'
    assert parse_filter(text, max_length=len(text)) == eq("userName", "x" * 100)
    with pytest.raises(InvalidFilter, match=f"longer than {len(text) - 1} characters"):
        parse_filter(text, max_length=len(text) - 1)


def test_depth_limit() -> None:
    """Parentheses, ``not (...)`` and ``[...]`` nest at most ``max_depth`` levels."""
    assert parse_filter("(" * 50 + "a pr" + ")" * 50) == A
    with pytest.raises(InvalidFilter, match="nested more than 50 levels"):
        parse_filter("(" * 51 + "a pr" + ")" * 51)
    with pytest.raises(InvalidFilter, match="nested more than 3 levels"):
        parse_filter("not (not (x[not (a pr)]))", max_depth=3)
    assert parse_filter("not (not (x[a pr]))", max_depth=3) == Not(Not(ValuePath(p("x"), A)))


def test_ten_thousand_parentheses_are_invalid_filter_not_recursion_error() -> None:
    """Deep nesting is ``invalidFilter``, never RecursionError, whatever the limits."""
    text = "(" * 10_000 + "a pr" + ")" * 10_000
    with pytest.raises(InvalidFilter):
        parse_filter(text, max_length=100_000)
    with pytest.raises(InvalidFilter):
        parse_filter(text, max_length=100_000, max_depth=1_000_000)
    with pytest.raises(InvalidFilter):
        parse_filter("not (" * 5_000 + "a pr" + ")" * 5_000, max_length=100_000, max_depth=1_000_000)


def test_long_and_or_chains_are_bounded() -> None:
    """A chain is a tree as high as it is long; visitors recurse, so the height is capped."""
    ok = " or ".join(["a pr"] * MAX_TREE_HEIGHT)
    assert str(parse_filter(ok)) == ok
    with pytest.raises(InvalidFilter, match="too many expressions"):
        parse_filter(" or ".join(["a pr"] * (MAX_TREE_HEIGHT + 1)))
    with pytest.raises(InvalidFilter):
        parse_filter(" and ".join(["a pr"] * 20_000), max_length=10**6, max_depth=10**6)


# --- the visitor -----------------------------------------------------------------------------


class _Counter(FilterVisitor[int]):
    def visit_compare(self, node: Compare) -> int:
        return 1

    def visit_present(self, node: Present) -> int:
        return 1

    def visit_and(self, node: And) -> int:
        return 1 + self.visit(node.left) + self.visit(node.right)

    def visit_or(self, node: Or) -> int:
        return 1 + self.visit(node.left) + self.visit(node.right)

    def visit_not(self, node: Not) -> int:
        return 1 + self.visit(node.expr)

    def visit_value_path(self, node: ValuePath) -> int:
        return 1 + self.visit(node.filter)


def test_visitor_dispatches_on_node_type() -> None:
    """``FilterVisitor.visit`` calls the ``visit_*`` method of each node type."""
    assert _Counter().visit(parse_filter('a pr or not (b eq 1) and emails[type eq "x"]')) == 7


def test_visitor_missing_method_names_the_node() -> None:
    """A subclass that leaves a node type out raises NotImplementedError naming it."""

    class Partial(FilterVisitor[bool]):
        def visit_present(self, node: Present) -> bool:
            return True

    assert Partial().visit(A) is True
    with pytest.raises(NotImplementedError, match="Partial does not handle ValuePath nodes"):
        Partial().visit(ValuePath(p("emails"), A))
    with pytest.raises(TypeError, match="not a filter node"):
        Partial().visit("a pr")  # type: ignore[arg-type]


# --- property tests ----------------------------------------------------------------------------

_names = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,6}", fullmatch=True) | st.sampled_from(
    ["$ref", "not", "and", "or", "pr", "eq", "true", "null", "urn"]
)
_urns = st.sampled_from([USER_SCHEMA, ENTERPRISE_USER_SCHEMA, CUSTOM_SCHEMA])
_values = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)


def _comparisons(paths: st.SearchStrategy[AttrPath]) -> st.SearchStrategy[Filter]:
    def build(path: AttrPath, op: str, value: object) -> Filter:
        if op == "pr":
            return Present(path)
        if op not in ("eq", "ne") and (value is None or isinstance(value, bool)):
            value = "x"
        return Compare(path, op, value)  # type: ignore[arg-type]

    return st.builds(build, paths, st.sampled_from(sorted(COMPARE_OPERATORS | {"pr"})), _values)


def _trees(leaves: st.SearchStrategy[Filter]) -> st.SearchStrategy[Filter]:
    return st.recursive(
        leaves,
        lambda children: (
            st.builds(And, children, children) | st.builds(Or, children, children) | st.builds(Not, children)
        ),
        max_leaves=8,
    )


_relative_paths = st.builds(AttrPath, st.none(), _names, st.none())
_top_paths = st.builds(AttrPath, st.none() | _urns, _names, st.none() | _names)
_value_paths = st.builds(
    ValuePath,
    st.builds(AttrPath, st.none() | _urns, _names, st.none()),
    _trees(_comparisons(_relative_paths)),
)
filters = _trees(_comparisons(_top_paths) | _value_paths)


@settings(max_examples=500, deadline=None)
@given(filters)
def test_round_trip_str_then_parse_gives_the_same_tree(node: Filter) -> None:
    """Every tree renders to canonical text that parses back to an equal tree."""
    text = str(node)
    assert parse_filter(text) == node
    assert str(parse_filter(text)) == text


def _mangle(data: st.DataObject, text: str) -> str:
    chars = list(text)
    for _ in range(data.draw(st.integers(1, 4))):
        action = data.draw(st.sampled_from(["insert", "delete", "replace"]))
        index = data.draw(st.integers(0, len(chars)))
        char = data.draw(
            st.sampled_from(list('()[]" \\.:-eE0aAtnro$') + ["\x00", "é", "\ud800"]) | st.characters()
        )
        if action == "insert":
            chars.insert(index, char)
        elif chars and index < len(chars):
            if action == "delete":
                del chars[index]
            else:
                chars[index] = char
    return "".join(chars)


@settings(max_examples=500, deadline=None)
@given(filters, st.data())
def test_mangled_filters_parse_or_raise_invalid_filter(node: Filter, data: st.DataObject) -> None:
    """Edited filters either parse (and round-trip) or raise ``invalidFilter``: nothing else."""
    text = _mangle(data, str(node))
    try:
        parsed = parse_filter(text)
    except InvalidFilter:
        return
    assert parse_filter(str(parsed)) == parsed


@settings(max_examples=400, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list('()[]" \\.:-+eE0123aAtnroqpsw$')) | st.characters(), max_size=80)
)
def test_arbitrary_text_parses_or_raises_invalid_filter(text: str) -> None:
    """Any text either parses or raises ``invalidFilter`` (RFC 7644 section 3.4.2.2)."""
    try:
        parsed = parse_filter(text)
    except InvalidFilter:
        return
    assert parse_filter(str(parsed)) == parsed
