"""Label and field selectors: parsing, canonical strings, and fast matching.

Label selectors follow `k8s.io/apimachinery/pkg/labels` (selector.go):

    <selector>    ::= <requirement> | <requirement> "," <selector>
    <requirement> ::= [!] KEY [ ("in"|"notin") "(" VALUES ")" | ("="|"=="|"!="|">"|"<") VALUE ]

Whitespace between tokens is ignored; requirements are kept sorted by key,
which makes `str()` canonical (values of in/notin are sorted too). Parse
errors raise 400 BadRequest with upstream's message, e.g. `unable to parse
requirement: <nil>: Invalid value: "a@b": name part must consist of ...`.

`label_selector_from_dict` is `metav1.LabelSelectorAsSelector`:

    None                      -> NOTHING     (matches no object)
    {} / no terms             -> EVERYTHING  (matches every object)

Callers whose API field means "everything" when absent (e.g. a Service's
`spec.selector` map) use `label_selector_from_set`, where None and {} both
mean EVERYTHING, as `labels.SelectorFromSet`.

Field selectors follow `k8s.io/apimachinery/pkg/fields` (selector.go): terms
`f=v`, `f==v`, `f!=v` joined by ",", with `\\`, `\\,` and `\\=` escapes in
values and no whitespace trimming. A missing field compares as "". Which
field labels a kind accepts, and the values an object exposes for them, are
upstream's field label conversion functions and registry `GetAttrs`
(`object_fields`, `convert_field_selector`, `check_field_selector`).

Selectors are immutable. Matching is precompiled into one closure per
requirement, since it runs for every object of every list and watch event.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

import orjson

from kybernetes.api.errors import StatusError, bad_request

# selection.Operator values
DOES_NOT_EXIST = "!"
EQUALS = "="
DOUBLE_EQUALS = "=="
IN = "in"
NOT_EQUALS = "!="
NOT_IN = "notin"
EXISTS = "exists"
GREATER_THAN = "gt"
LESS_THAN = "lt"

_BINARY_OPERATORS = [IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS, GREATER_THAN, LESS_THAN]
_MISSING = object()
_INT64 = re.compile(r"[+-]?[0-9]+")

Labels = Mapping[str, str]
_Matcher = Callable[[Labels], bool]


# --- validation (k8s.io/apimachinery/pkg/util/validation) ----------------------------------

_QNAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QNAME = re.compile(_QNAME_FMT)
_LABEL_VALUE_FMT = f"({_QNAME_FMT})?"
_LABEL_VALUE = re.compile(_LABEL_VALUE_FMT)
_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + "(\\." + _DNS1123_LABEL_FMT + ")*"
_DNS1123_SUBDOMAIN = re.compile(_DNS1123_SUBDOMAIN_FMT)


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{msg} (e.g. {shown}regex used for validation is '{fmt}')"


def _qualified_name_errors(value: str) -> list[str]:
    errs: list[str] = []
    msg = (
        "must consist of alphanumeric characters, '-', '_' or '.', "
        "and must start and end with an alphanumeric character"
    )
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend("prefix part " + e for e in _dns1123_subdomain_errors(prefix))
    else:
        return [
            "a qualified name " + _regex_error(msg, _QNAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part must be no more than 63 characters")
    if not _QNAME.fullmatch(name):
        errs.append("name part " + _regex_error(msg, _QNAME_FMT, "MyName", "my.name", "123-abc"))
    return errs


def _dns1123_subdomain_errors(value: str) -> list[str]:
    errs: list[str] = []
    if len(value) > 253:
        errs.append("must be no more than 253 characters")
    if not _DNS1123_SUBDOMAIN.fullmatch(value):
        msg = (
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
            "'-' or '.', and must start and end with an alphanumeric character"
        )
        errs.append(_regex_error(msg, _DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


def _label_value_errors(value: str) -> list[str]:
    errs: list[str] = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if not _LABEL_VALUE.fullmatch(value):
        msg = (
            "a valid label must be an empty string or consist of alphanumeric characters, "
            "'-', '_' or '.', and must start and end with an alphanumeric character"
        )
        errs.append(_regex_error(msg, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


def _go_quote(text: str) -> str:
    return orjson.dumps(text).decode()


def _invalid(path: str, bad_value: str, detail: str) -> str:
    """field.Invalid(...).Error() for a string value."""
    return f"{path}: Invalid value: {_go_quote(bad_value)}: {detail}"


def _invalid_list(path: str, values: list[str], detail: str) -> str:
    shown = ", ".join(_go_quote(v) for v in values)
    return f"{path}: Invalid value: []string{{{shown}}}: {detail}"


def _aggregate(errors: list[str]) -> str:
    """utilerrors.Aggregate.Error(): one message, or "[a, b]" without duplicates."""
    unique = list(dict.fromkeys(errors))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


def _key_error(key: str, path: str) -> str | None:
    errs = _qualified_name_errors(key)
    return _invalid(path, key, "; ".join(errs)) if errs else None


# --- requirements and label selectors ---------------------------------------------------------


class Requirement(NamedTuple):
    """One term of a label selector; build through `new_requirement` to validate it."""

    key: str
    operator: str
    values: tuple[str, ...]

    def __str__(self) -> str:
        op = self.operator
        if op == EXISTS:
            return self.key
        if op == DOES_NOT_EXIST:
            return "!" + self.key
        values = self.values if len(self.values) == 1 else sorted(self.values)
        if op in (IN, NOT_IN):
            return f"{self.key} {op} ({','.join(values)})"
        symbol = {GREATER_THAN: ">", LESS_THAN: "<"}.get(op, op)
        return f"{self.key}{symbol}{','.join(values)}"


def new_requirement(key: str, operator: str, values: Iterable[str] = ()) -> Requirement:
    """labels.NewRequirement: validate and build; raises 400 with upstream's message."""
    vals = list(values)
    errs: list[str] = []
    if (err := _key_error(key, "key")) is not None:
        errs.append(err)
    if operator in (IN, NOT_IN):
        if not vals:
            errs.append(_invalid_list(
                "values", vals, "for 'in', 'notin' operators, values set can't be empty"))
    elif operator in (EQUALS, DOUBLE_EQUALS, NOT_EQUALS):
        if len(vals) != 1:
            errs.append(_invalid_list(
                "values", vals, "exact-match compatibility requires one single value"))
    elif operator in (EXISTS, DOES_NOT_EXIST):
        if vals:
            errs.append(_invalid_list(
                "values", vals, "values set must be empty for exists and does not exist"))
    elif operator in (GREATER_THAN, LESS_THAN):
        if len(vals) != 1:
            errs.append(_invalid_list(
                "values", vals, "for 'Gt', 'Lt' operators, exactly one value is required"))
        for i, v in enumerate(vals):
            if _parse_int64(v) is None:
                errs.append(_invalid(
                    f"values[{i}]", v, "for 'Gt', 'Lt' operators, the value must be an integer"))
    else:
        supported = ", ".join(_go_quote(o) for o in [*_BINARY_OPERATORS, EXISTS, DOES_NOT_EXIST])
        errs.append(f"operator: Unsupported value: {_go_quote(operator)}: "
                    f"supported values: {supported}")
    for i, v in enumerate(vals):
        if value_errs := _label_value_errors(v):
            errs.append(_invalid(f"values[{i}][{key}]", v, "; ".join(value_errs)))
    if errs:
        raise bad_request(_aggregate(errs))
    return Requirement(key, operator, tuple(vals))


def _parse_int64(text: str) -> int | None:
    if not _INT64.fullmatch(text):
        return None
    value = int(text)
    return value if -(2**63) <= value < 2**63 else None


def _compile(req: Requirement) -> _Matcher:
    key, op, values = req
    if op in (IN, EQUALS, DOUBLE_EQUALS):
        if len(values) == 1:
            only = values[0]
            return lambda labels: labels.get(key) == only
        allowed = frozenset(values)
        return lambda labels: labels.get(key, _MISSING) in allowed
    if op in (NOT_IN, NOT_EQUALS):
        if len(values) == 1:
            only = values[0]
            return lambda labels: labels.get(key, _MISSING) != only
        denied = frozenset(values)
        return lambda labels: labels.get(key, _MISSING) not in denied
    if op == EXISTS:
        return lambda labels: key in labels
    if op == DOES_NOT_EXIST:
        return lambda labels: key not in labels
    if op in (GREATER_THAN, LESS_THAN) and len(values) == 1:
        bound = _parse_int64(values[0])
        greater = op == GREATER_THAN

        def compare(labels: Labels) -> bool:
            raw = labels.get(key)
            number = _parse_int64(raw) if raw is not None else None
            if number is None or bound is None:
                return False
            return number > bound if greater else number < bound

        return compare
    return lambda labels: False


class LabelSelector:
    """An immutable label selector: the AND of its requirements (or NOTHING)."""

    __slots__ = ("_matchers", "_nothing", "_requirements")

    def __init__(self, requirements: Iterable[Requirement] = (), *, nothing: bool = False) -> None:
        reqs = tuple(sorted(requirements, key=lambda r: r.key))
        self._requirements = reqs
        self._nothing = nothing
        self._matchers = tuple(_compile(r) for r in reqs)

    @property
    def requirements(self) -> tuple[Requirement, ...]:
        return self._requirements

    @property
    def empty(self) -> bool:
        """True when the selector does not restrict (EVERYTHING); NOTHING is not empty."""
        return not self._nothing and not self._requirements

    @property
    def matches_nothing(self) -> bool:
        return self._nothing

    def matches(self, labels: Labels | None) -> bool:
        if self._nothing:
            return False
        if labels is None:
            labels = {}
        for matcher in self._matchers:
            if not matcher(labels):
                return False
        return True

    def requires_exact_match(self, key: str) -> str | None:
        """The single value `key` must have (=, ==, or in with one value), else None."""
        for req in self._requirements:
            if req.key == key:
                if req.operator in (EQUALS, DOUBLE_EQUALS, IN) and len(req.values) == 1:
                    return req.values[0]
                return None
        return None

    def __str__(self) -> str:
        return ",".join(str(r) for r in self._requirements)

    def __repr__(self) -> str:
        if self._nothing:
            return "LabelSelector(NOTHING)"
        return f"LabelSelector({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LabelSelector):
            return NotImplemented
        return (self._nothing, self._requirements) == (other._nothing, other._requirements)

    def __hash__(self) -> int:
        return hash((self._nothing, self._requirements))


EVERYTHING = LabelSelector()
NOTHING = LabelSelector(nothing=True)


def label_selector_from_dict(selector: Mapping[str, Any] | None) -> LabelSelector:
    """metav1.LabelSelectorAsSelector: None -> NOTHING, no terms -> EVERYTHING.

    `selector` is a `metav1.LabelSelector` ({matchLabels, matchExpressions}).
    Invalid keys, values or operators raise 400 with upstream's message.
    """
    if selector is None:
        return NOTHING
    match_labels = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []
    if not match_labels and not expressions:
        return EVERYTHING
    reqs = [new_requirement(k, EQUALS, [v]) for k, v in sorted(match_labels.items())]
    operators = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST}
    for expr in expressions:
        op = operators.get(expr.get("operator"))
        if op is None:
            name = str(expr.get("operator") or "")
            raise bad_request(f"{_go_quote(name)} is not a valid label selector operator")
        reqs.append(new_requirement(expr.get("key") or "", op, expr.get("values") or []))
    return LabelSelector(reqs)


def label_selector_from_set(labels: Mapping[str, str] | None) -> LabelSelector:
    """labels.SelectorFromSet: equality on every pair; None and {} are EVERYTHING.

    No validation, as upstream: the server rejects bad sets elsewhere.
    """
    if not labels:
        return EVERYTHING
    return LabelSelector(Requirement(k, EQUALS, (v,)) for k, v in labels.items())


# --- label selector parser ----------------------------------------------------------------------

_SPECIAL = frozenset("=!(),><")
_WHITESPACE = frozenset(" \t\r\n")
_ID = "identifier"
_END = "end"
_SYMBOLS = {")", ",", "!", "==", "=", ">", "<", "!=", "("}
_KEYWORDS = {"in", "notin"}


def _lex(text: str) -> list[tuple[str, str]]:
    """Tokens as (kind, literal); kind is the literal itself for operators and keywords."""
    out: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in _WHITESPACE:
            i += 1
        if i >= n:
            out.append((_END, ""))
            return out
        if text[i] in _SPECIAL:
            # Longest operator made of special characters, as scanSpecialSymbol.
            j, last = i, ""
            while j < n and text[j] in _SPECIAL:
                if text[i:j + 1] in _SYMBOLS:
                    last = text[i:j + 1]
                elif last:
                    break
                j += 1
            out.append((last, last))
            i += len(last)
            continue
        j = i
        while j < n and text[j] not in _SPECIAL and text[j] not in _WHITESPACE:
            j += 1
        word = text[i:j]
        out.append((word if word in _KEYWORDS else _ID, word))
        i = j


class _Parser:
    def __init__(self, text: str) -> None:
        self.items = _lex(text)
        self.pos = 0

    def lookahead(self, values: bool = True) -> tuple[str, str]:
        kind, lit = self.items[self.pos]
        return (_ID if values and kind in _KEYWORDS else kind), lit

    def consume(self, values: bool = True) -> tuple[str, str]:
        tok = self.lookahead(values)
        self.pos += 1
        return tok

    def parse(self) -> list[Requirement]:
        reqs: list[Requirement] = []
        while True:
            kind, lit = self.lookahead()
            if kind == _END:
                return reqs
            if kind not in (_ID, "!"):
                raise _ParseError(f"found '{lit}', expected: !, identifier, or 'end of string'")
            try:
                reqs.append(self.requirement())
            except _ParseError as exc:
                raise _ParseError(f"unable to parse requirement: {exc}") from None
            kind, lit = self.consume()
            if kind == _END:
                return reqs
            if kind != ",":
                raise _ParseError(f"found '{lit}', expected: ',' or 'end of string'")
            kind2, lit2 = self.lookahead()
            if kind2 not in (_ID, "!"):
                raise _ParseError(f"found '{lit2}', expected: identifier after ','")

    def requirement(self) -> Requirement:
        negated = False
        kind, key = self.consume()
        if kind == "!":
            negated = True
            kind, key = self.consume()
        if kind != _ID:
            raise _ParseError(f"found '{key}', expected: identifier")
        if (err := _key_error(key, "<nil>")) is not None:
            raise _ParseError(err)
        if negated or self.lookahead()[0] in (_END, ","):
            return self.build(key, DOES_NOT_EXIST if negated else EXISTS, [])
        op = self.operator()
        values = self.value_set() if op in (IN, NOT_IN) else self.exact_value()
        return self.build(key, op, sorted(values))

    @staticmethod
    def build(key: str, op: str, values: list[str]) -> Requirement:
        try:
            return new_requirement(key, op, values)
        except StatusError as exc:
            raise _ParseError(exc.message) from None

    def operator(self) -> str:
        kind, lit = self.consume(values=False)
        ops = {"in": IN, "=": EQUALS, "==": DOUBLE_EQUALS, ">": GREATER_THAN, "<": LESS_THAN,
               "notin": NOT_IN, "!=": NOT_EQUALS}
        if kind not in ops:
            raise _ParseError(f"found '{lit}', expected: {', '.join(_BINARY_OPERATORS)}")
        return ops[kind]

    def value_set(self) -> set[str]:
        kind, lit = self.consume()
        if kind != "(":
            raise _ParseError(f"found '{lit}' expected: '('")
        kind, lit = self.lookahead()
        if kind == ")":
            self.consume()
            return {""}
        if kind not in (_ID, ","):
            raise _ParseError(f"found '{lit}', expected: ',', ')' or identifier")
        values = self.identifiers()
        if self.consume()[0] != ")":
            raise _ParseError(f"found '{lit}', expected: ')'")
        return values

    def identifiers(self) -> set[str]:
        values: set[str] = set()
        while True:
            kind, lit = self.consume()
            if kind == _ID:
                values.add(lit)
                kind2, lit2 = self.lookahead()
                if kind2 == ",":
                    continue
                if kind2 == ")":
                    return values
                raise _ParseError(f"found '{lit2}', expected: ',' or ')'")
            if kind == ",":
                if not values:
                    values.add("")
                kind2, _ = self.lookahead()
                if kind2 == ")":
                    values.add("")
                    return values
                if kind2 == ",":
                    self.consume()
                    values.add("")
                continue
            raise _ParseError(f"found '{lit}', expected: ',', or identifier")

    def exact_value(self) -> set[str]:
        kind, _ = self.lookahead()
        if kind in (_END, ","):
            return {""}
        kind, lit = self.consume()
        if kind == _ID:
            return {lit}
        raise _ParseError(f"found '{lit}', expected: identifier")


class _ParseError(Exception):
    pass


def parse_label_selector(text: str) -> LabelSelector:
    """labels.Parse: "" (or only whitespace) is EVERYTHING; errors raise 400 BadRequest."""
    if not text or not text.strip():
        return EVERYTHING
    try:
        return LabelSelector(_Parser(text).parse())
    except _ParseError as exc:
        raise bad_request(str(exc)) from None


# --- field selectors ------------------------------------------------------------------------------


class FieldRequirement(NamedTuple):
    field: str
    operator: str  # "=" or "!="
    value: str


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


class FieldSelector:
    """An immutable field selector: the AND of `field=value` / `field!=value` terms."""

    __slots__ = ("_checks", "_requirements")

    def __init__(self, requirements: Iterable[FieldRequirement] = ()) -> None:
        self._requirements = list(requirements)
        self._checks = tuple(
            (r.field, r.value, r.operator == EQUALS) for r in self._requirements
        )

    @property
    def requirements(self) -> list[FieldRequirement]:
        return list(self._requirements)

    @property
    def empty(self) -> bool:
        return not self._requirements

    def matches(self, fields: Mapping[str, str]) -> bool:
        for name, value, equal in self._checks:
            if (fields.get(name, "") == value) is not equal:
                return False
        return True

    def requires_exact_match(self, field: str) -> str | None:
        for r in self._requirements:
            if r.field == field and r.operator == EQUALS:
                return r.value
        return None

    def __str__(self) -> str:
        return ",".join(f"{r.field}{r.operator}{_escape(r.value)}" for r in self._requirements)

    def __repr__(self) -> str:
        return f"FieldSelector({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FieldSelector):
            return NotImplemented
        return self._requirements == other._requirements

    def __hash__(self) -> int:
        return hash(tuple(self._requirements))


def _split_terms(text: str) -> list[str]:
    terms, start, escaped = [], 0, False
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ",":
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return terms


def _split_term(term: str) -> tuple[str, str, str] | None:
    for i in range(len(term)):
        for op in ("!=", "==", "="):
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op):]
    return None


def _unescape(value: str) -> str:
    if not any(c in value for c in "\\,="):
        return value
    out: list[str] = []
    escaped = False
    for ch in value:
        if escaped:
            if ch not in "\\,=":
                raise bad_request(
                    f"invalid field selector: invalid escape sequence: \\{ch}")
            out.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in ",=":
            raise bad_request(f"invalid field selector: unescaped character in value: {ch}")
        else:
            out.append(ch)
    if escaped:
        raise bad_request("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def parse_field_selector(text: str) -> FieldSelector:
    """fields.ParseSelector; terms are sorted by their text, as upstream does."""
    reqs = []
    for part in sorted(_split_terms(text)) if text else []:
        if not part:
            continue
        split = _split_term(part)
        if split is None:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        lhs, op, rhs = split
        reqs.append(FieldRequirement(lhs, NOT_EQUALS if op == "!=" else EQUALS, _unescape(rhs)))
    return FieldSelector(reqs)


# --- field labels per kind ------------------------------------------------------------------------

_META = ("metadata.name", "metadata.namespace")
_EVENT_FIELDS = (
    "involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
    "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
    "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type",
)


def _same(*labels: str) -> dict[str, str]:
    return {label: label for label in labels}


# (group, kind) -> accepted label -> label matched against object_fields; from the
# AddFieldLabelConversionFunc calls in pkg/apis/*/v*/conversion.go. Kinds not listed
# accept only metadata.name and metadata.namespace (DefaultMetaV1FieldSelectorConversion).
_FIELD_LABELS: dict[tuple[str, str], dict[str, str]] = {
    ("", "Pod"): {
        **_same(*_META, "spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                "spec.serviceAccountName", "spec.hostNetwork", "status.phase", "status.podIP",
                "status.podIPs", "status.nominatedNodeName"),
        "spec.host": "spec.nodeName",  # old v1 clients
    },
    ("", "Node"): _same("metadata.name", "spec.unschedulable"),
    ("", "ReplicationController"): _same(*_META, "status.replicas"),
    ("", "Event"): _same(*_META, *_EVENT_FIELDS),
    ("", "Namespace"): _same("metadata.name", "status.phase"),
    ("", "Secret"): _same(*_META, "type"),
    ("", "Service"): _same(*_META, "spec.clusterIP", "spec.type"),
    ("apps", "ReplicaSet"): _same(*_META, "status.replicas"),
    ("batch", "Job"): _same(*_META, "status.successful"),
    ("certificates.k8s.io", "CertificateSigningRequest"): _same("metadata.name", "spec.signerName"),
    ("resource.k8s.io", "ResourceSlice"): _same("metadata.name", "spec.nodeName", "spec.driver"),
    ("events.k8s.io", "Event"): {
        **_same(*_META, "reason", "type"),
        "regarding.kind": "involvedObject.kind",
        "regarding.namespace": "involvedObject.namespace",
        "regarding.name": "involvedObject.name",
        "regarding.uid": "involvedObject.uid",
        "regarding.apiVersion": "involvedObject.apiVersion",
        "regarding.resourceVersion": "involvedObject.resourceVersion",
        "regarding.fieldPath": "involvedObject.fieldPath",
        "reportingController": "reportingComponent",
    },
}


def convert_field_selector(group: str, kind: str, selector: FieldSelector) -> FieldSelector:
    """Map a selector's labels to the names `object_fields` uses; 400 for unknown labels.

    Messages are upstream's: `field label not supported: <label>` for kinds with
    their own conversion function, else `"<label>" is not a known field
    selector: only "metadata.name", "metadata.namespace"`.
    """
    table = _FIELD_LABELS.get((group, kind))
    converted = []
    for req in selector.requirements:
        if table is None:
            if req.field not in _META:
                raise bad_request(
                    f'{_go_quote(req.field)} is not a known field selector: '
                    'only "metadata.name", "metadata.namespace"'
                )
            converted.append(req)
            continue
        target = table.get(req.field)
        if target is None:
            raise bad_request(f"field label not supported: {req.field}")
        converted.append(req._replace(field=target))
    return FieldSelector(converted)


def check_field_selector(group: str, kind: str, selector: FieldSelector) -> None:
    """Raise 400 BadRequest if `selector` uses a label the kind does not support."""
    convert_field_selector(group, kind, selector)


# --- selectable fields of objects --------------------------------------------------------------


def _get(obj: Mapping[str, Any], *path: str) -> Any:
    cur: Any = obj
    for part in path:
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(part)
    return cur


def _str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _int(value: Any) -> str:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else "0"


def _pod_fields(pod: Mapping[str, Any]) -> dict[str, str]:
    ips = _get(pod, "status", "podIPs") or []
    first_ip = ips[0].get("ip", "") if ips and isinstance(ips[0], Mapping) else ""
    return {
        "spec.nodeName": _str(_get(pod, "spec", "nodeName")),
        "spec.restartPolicy": _str(_get(pod, "spec", "restartPolicy")),
        "spec.schedulerName": _str(_get(pod, "spec", "schedulerName")),
        "spec.serviceAccountName": _str(_get(pod, "spec", "serviceAccountName")),
        "spec.hostNetwork": "true" if _get(pod, "spec", "hostNetwork") is True else "false",
        "status.phase": _str(_get(pod, "status", "phase")),
        "status.podIP": _str(first_ip),
        "status.nominatedNodeName": _str(_get(pod, "status", "nominatedNodeName")),
    }


def _core_event_fields(event: Mapping[str, Any]) -> dict[str, str]:
    source = _str(_get(event, "source", "component")) or _str(event.get("reportingComponent"))
    out = {f"involvedObject.{k}": _str(_get(event, "involvedObject", k))
           for k in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion",
                     "fieldPath")}
    out.update(reason=_str(event.get("reason")),
               reportingComponent=_str(event.get("reportingComponent")),
               source=source, type=_str(event.get("type")))
    return out


def _events_v1_fields(event: Mapping[str, Any]) -> dict[str, str]:
    """events.k8s.io/v1 shape, exposed under the core names the selector converts to."""
    controller = _str(event.get("reportingController"))
    source = _str(_get(event, "deprecatedSource", "component")) or controller
    out = {f"involvedObject.{k}": _str(_get(event, "regarding", k))
           for k in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion",
                     "fieldPath")}
    out.update(reason=_str(event.get("reason")), reportingComponent=controller,
               source=source, type=_str(event.get("type")))
    return out


_KIND_FIELDS: dict[tuple[str, str], Callable[[Mapping[str, Any]], dict[str, str]]] = {
    ("", "Pod"): _pod_fields,
    ("", "Node"): lambda o: {
        "spec.unschedulable": "true" if _get(o, "spec", "unschedulable") is True else "false"},
    ("", "Namespace"): lambda o: {
        "status.phase": _str(_get(o, "status", "phase")),
        "name": _str(_get(o, "metadata", "name")),  # legacy label kept upstream
    },
    ("", "Secret"): lambda o: {"type": _str(o.get("type"))},
    ("", "Service"): lambda o: {
        "spec.clusterIP": _str(_get(o, "spec", "clusterIP")),
        "spec.type": _str(_get(o, "spec", "type")),
    },
    ("", "ReplicationController"): lambda o: {
        "status.replicas": _int(_get(o, "status", "replicas"))},
    ("", "Event"): _core_event_fields,
    ("events.k8s.io", "Event"): _events_v1_fields,
    ("apps", "ReplicaSet"): lambda o: {"status.replicas": _int(_get(o, "status", "replicas"))},
    ("batch", "Job"): lambda o: {"status.successful": _int(_get(o, "status", "succeeded"))},
    ("certificates.k8s.io", "CertificateSigningRequest"): lambda o: {
        "spec.signerName": _str(_get(o, "spec", "signerName"))},
    ("resource.k8s.io", "ResourceSlice"): lambda o: {
        "spec.nodeName": _str(_get(o, "spec", "nodeName")),
        "spec.driver": _str(_get(o, "spec", "driver")),
    },
}

_CLUSTER_SCOPED_WITH_FIELDS = frozenset({
    ("", "Node"), ("", "Namespace"), ("certificates.k8s.io", "CertificateSigningRequest"),
    ("resource.k8s.io", "ResourceSlice"),
})


def object_fields(
    group: str, kind: str, obj: Mapping[str, Any], *, namespaced: bool | None = None
) -> dict[str, str]:
    """The selectable fields of `obj`, as the kind's registry `GetAttrs` exposes them.

    Always `metadata.name`; `metadata.namespace` for namespaced kinds. When
    `namespaced` is None it is inferred: known cluster-scoped kinds are not,
    otherwise an object with `metadata.namespace` set is.
    """
    meta = obj.get("metadata") or {}
    out = {"metadata.name": _str(meta.get("name"))}
    if namespaced is None:
        namespaced = (group, kind) not in _CLUSTER_SCOPED_WITH_FIELDS and "namespace" in meta
    if namespaced:
        out["metadata.namespace"] = _str(meta.get("namespace"))
    extra = _KIND_FIELDS.get((group, kind))
    if extra is not None:
        out.update(extra(obj))
    return out
