"""Name and key formats, with upstream's exact messages.

Each `is_*` function returns a list of problems (empty when the value is
valid), worded as apimachinery's `k8s.io/apimachinery/pkg/util/validation`
and `.../api/validation/path` word them, so that a cause built from them reads
exactly as a real apiserver's does.

`NAME_RULES` says which rule validates `metadata.name` of which kind; any kind
not listed (including custom resources) uses the DNS-1123 subdomain rule.
`validate_name(kind, name, prefix=...)` applies it; `prefix=True` checks a
`generateName` (a trailing "-" is allowed there, as upstream's
`maskTrailingDash`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253
DNS1035_LABEL_MAX = 63
LABEL_VALUE_MAX = 63
LABEL_KEY_NAME_MAX = 63

_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + "(\\." + _DNS1123_LABEL_FMT + ")*"
_DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_LABEL_KEY_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE_FMT = "(" + _LABEL_KEY_FMT + ")?"
_CONFIG_KEY_FMT = "[-._a-zA-Z0-9]+"
_ENV_NAME_FMT = "[-._a-zA-Z][-._a-zA-Z0-9]*"

_DNS1123_LABEL_RE = re.compile(f"^{_DNS1123_LABEL_FMT}$")
_DNS1123_SUBDOMAIN_RE = re.compile(f"^{_DNS1123_SUBDOMAIN_FMT}$")
_DNS1035_LABEL_RE = re.compile(f"^{_DNS1035_LABEL_FMT}$")
_LABEL_KEY_RE = re.compile(f"^{_LABEL_KEY_FMT}$")
_LABEL_VALUE_RE = re.compile(f"^{_LABEL_VALUE_FMT}$")
_CONFIG_KEY_RE = re.compile(f"^{_CONFIG_KEY_FMT}$")
_ENV_NAME_RE = re.compile(f"^{_ENV_NAME_FMT}$")
_PORT_NAME_CHARS_RE = re.compile("^[-a-z0-9]+$")
_PERCENT_RE = re.compile("^[0-9]+%$")


def regex_error(msg: str, fmt: str, *examples: str) -> str:
    """Upstream's `RegexError`: the message, examples, and the regex."""
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{msg} (e.g. {shown}regex used for validation is '{fmt}')"


def max_len_error(length: int) -> str:
    return f"must be no more than {length} characters"


def inclusive_range_error(lo: int, hi: int) -> str:
    return f"must be between {lo} and {hi}, inclusive"


EMPTY_ERROR = "must be non-empty"

DNS1123_LABEL_ERROR = regex_error(
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character",
    _DNS1123_LABEL_FMT, "my-name", "123-abc",
)
DNS1123_SUBDOMAIN_ERROR = regex_error(
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character",
    _DNS1123_SUBDOMAIN_FMT, "example.com",
)
DNS1035_LABEL_ERROR = regex_error(
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "
    "an alphabetic character, and end with an alphanumeric character",
    _DNS1035_LABEL_FMT, "my-name", "abc-123",
)
_LABEL_KEY_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
    "an alphanumeric character"
)
LABEL_KEY_NAME_ERROR = regex_error(_LABEL_KEY_MSG, _LABEL_KEY_FMT, "MyName", "my.name", "123-abc")
LABEL_VALUE_ERROR = regex_error(
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
    "or '.', and must start and end with an alphanumeric character",
    _LABEL_VALUE_FMT, "MyValue", "my_value", "12345",
)
CONFIG_KEY_ERROR = regex_error(
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
    _CONFIG_KEY_FMT, "key.name", "KEY_NAME", "key-name",
)
ENV_NAME_ERROR = regex_error(
    "a valid environment variable name must consist of alphabetic characters, digits, '_', "
    "'-', or '.', and must not start with a digit",
    _ENV_NAME_FMT, "my.env-name", "MY_ENV.NAME", "MyEnvName1",
)
PERCENT_ERROR = regex_error(
    "a valid percent string must be a numeric string followed by an ending '%'",
    "[0-9]+%", "1%", "93%",
)


def is_dns1123_label(value: str) -> list[str]:
    errs = []
    if len(value) > DNS1123_LABEL_MAX:
        errs.append(max_len_error(DNS1123_LABEL_MAX))
    if not _DNS1123_LABEL_RE.match(value):
        if _DNS1123_SUBDOMAIN_RE.match(value):
            # A valid subdomain but not a label: length was checked, so it is dots.
            errs.append("must not contain dots")
        else:
            errs.append(DNS1123_LABEL_ERROR)
    return errs


def is_dns1123_subdomain(value: str) -> list[str]:
    errs = []
    if len(value) > DNS1123_SUBDOMAIN_MAX:
        errs.append(max_len_error(DNS1123_SUBDOMAIN_MAX))
    if not _DNS1123_SUBDOMAIN_RE.match(value):
        errs.append(DNS1123_SUBDOMAIN_ERROR)
    return errs


def is_dns1035_label(value: str) -> list[str]:
    errs = []
    if len(value) > DNS1035_LABEL_MAX:
        errs.append(max_len_error(DNS1035_LABEL_MAX))
    if not _DNS1035_LABEL_RE.match(value):
        errs.append(DNS1035_LABEL_ERROR)
    return errs


def is_path_segment_name(value: str) -> list[str]:
    """Safe as one URL path segment (REST path, storage key)."""
    if value in (".", ".."):
        return [f"may not be '{value}'"]
    return is_path_segment_prefix(value)


def is_path_segment_prefix(value: str) -> list[str]:
    return [f"may not contain '{bad}'" for bad in ("/", "%") if bad in value]


def is_qualified_name(value: str) -> list[str]:
    """A label key, annotation key or finalizer: `[prefix/]name`."""
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part " + EMPTY_ERROR)
        else:
            errs.extend("prefix part " + m for m in is_dns1123_subdomain(prefix))
    else:
        return [
            "a valid label key " + LABEL_KEY_NAME_ERROR
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errs.append("name part " + EMPTY_ERROR)
    elif len(name) > LABEL_KEY_NAME_MAX:
        errs.append("name part " + max_len_error(LABEL_KEY_NAME_MAX))
    if not _LABEL_KEY_RE.match(name):
        errs.append("name part " + LABEL_KEY_NAME_ERROR)
    return errs


def is_label_value(value: str) -> list[str]:
    errs = []
    if len(value) > LABEL_VALUE_MAX:
        errs.append(max_len_error(LABEL_VALUE_MAX))
    if not _LABEL_VALUE_RE.match(value):
        errs.append(LABEL_VALUE_ERROR)
    return errs


def _chdir_prefix(value: str) -> list[str]:
    if value == ".":
        return ["must not be '.'"]
    if value == "..":
        return ["must not be '..'"]
    if value.startswith(".."):
        return ["must not start with '..'"]
    return []


def is_config_map_key(value: str) -> list[str]:
    """A ConfigMap or Secret data key."""
    errs = []
    if len(value) > DNS1123_SUBDOMAIN_MAX:
        errs.append(max_len_error(DNS1123_SUBDOMAIN_MAX))
    if not _CONFIG_KEY_RE.match(value):
        errs.append(CONFIG_KEY_ERROR)
    return errs + _chdir_prefix(value)


def is_env_var_name(value: str) -> list[str]:
    errs = [] if _ENV_NAME_RE.match(value) else [ENV_NAME_ERROR]
    return errs + _chdir_prefix(value)


def is_port_name(value: str) -> list[str]:
    """An IANA_SVC_NAME: at most 15 of [-a-z0-9], at least one letter."""
    errs = []
    if len(value) > 15:
        errs.append(max_len_error(15))
    if not _PORT_NAME_CHARS_RE.match(value):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search("[a-z]", value):
        errs.append("must contain at least one letter (a-z)")
    if "--" in value:
        errs.append("must not contain consecutive hyphens")
    if value and (value[0] == "-" or value[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def is_port_num(port: int) -> list[str]:
    return [] if 1 <= port <= 65535 else [inclusive_range_error(1, 65535)]


def is_percent(value: str) -> list[str]:
    return [] if _PERCENT_RE.match(value) else [PERCENT_ERROR]


# --- metadata.name rules per kind -------------------------------------------------

NameRule = Callable[[str], list[str]]


def _masked(rule: NameRule) -> Callable[[str, bool], list[str]]:
    def check(name: str, prefix: bool) -> list[str]:
        # Upstream's maskTrailingDash: "foo-" is a fine generateName prefix.
        if prefix and len(name) > 1 and name.endswith("-"):
            name = name[:-1] + "a"
        return rule(name)
    return check


def _path_segment(name: str, prefix: bool) -> list[str]:
    return is_path_segment_prefix(name) if prefix else is_path_segment_name(name)


SUBDOMAIN = _masked(is_dns1123_subdomain)
DNS1123_LABEL = _masked(is_dns1123_label)
DNS1035_LABEL = _masked(is_dns1035_label)
PATH_SEGMENT = _path_segment

# (group, kind) -> name rule; the default is SUBDOMAIN.
NAME_RULES: dict[tuple[str, str], Callable[[str, bool], list[str]]] = {
    ("", "Namespace"): DNS1123_LABEL,
    ("", "Service"): DNS1035_LABEL,
    ("rbac.authorization.k8s.io", "Role"): PATH_SEGMENT,
    ("rbac.authorization.k8s.io", "ClusterRole"): PATH_SEGMENT,
    ("rbac.authorization.k8s.io", "RoleBinding"): PATH_SEGMENT,
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): PATH_SEGMENT,
    ("autoscaling", "HorizontalPodAutoscaler"): PATH_SEGMENT,
    ("certificates.k8s.io", "CertificateSigningRequest"): PATH_SEGMENT,
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"): PATH_SEGMENT,
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"): PATH_SEGMENT,
}


def name_rule(group: str, kind: str) -> Callable[[str, bool], list[str]]:
    return NAME_RULES.get((group, kind), SUBDOMAIN)


def validate_name(group: str, kind: str, name: str, *, prefix: bool = False) -> list[str]:
    """Problems with `name` (or a `generateName` when prefix) for this kind."""
    return name_rule(group, kind)(name, prefix)


def validate_namespace_name(name: str, *, prefix: bool = False) -> list[str]:
    return DNS1123_LABEL(name, prefix)
