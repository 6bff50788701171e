"""Journal URLs (``postgresql://user:password@host:port/db?key=value``), parsed once, here.

The password is found by parsing, not by a pattern: the userinfo runs from after ``://`` to the
last ``@`` (so a password may hold ``@ / ? # [ :`` and spaces, encoded or not), the user is what
comes before its first ``:``. The same parse gives

- ``safe_url``: the URL for messages, with the password as ``***`` and no query;
- ``register_url_password``: ``vidgate.redact`` hides the password (as written, decoded, and
  in each form a driver may quote) from every later message;
- ``connect_params``: the URL as libpq keywords, so the driver never parses the URL itself (a
  password with an unencoded ``/``, ``?`` or ``#`` would be cut at it, and the pieces end up in
  its error messages as a host, port or option).

An ``@`` in the host, path or query must be percent-encoded (it would be taken as the end of
the password).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote

__all__ = ["ParsedURL", "connect_params", "parse", "register_url_password", "safe_url"]

_SCHEME = re.compile(r"(?s)\s*(?P<scheme>[A-Za-z][A-Za-z0-9+.-]{0,30})://(?P<rest>.*?)\s*")


@dataclass(frozen=True)
class ParsedURL:
    scheme: str
    user: str | None  # as written (percent-encoded)
    password: str | None  # as written (percent-encoded, or not)
    netloc: str  # host[:port][,host[:port]…]
    path: str
    query: str
    params: dict[str, str] = field(default_factory=dict)


def parse(url: str) -> ParsedURL | None:
    """The parts of a URL, or None for a text that is not one (libpq's ``host=… password=…``)."""
    found = _SCHEME.fullmatch(url)
    if found is None:
        return None
    userinfo, at, after = found["rest"].rpartition("@")
    if not at:
        userinfo, after = "", found["rest"]
    user = password = None
    if at:
        user, colon, secret = userinfo.partition(":")
        password = secret if colon else None
    where = re.split(r"[?#]", after, maxsplit=1)[0]
    query = after[len(where) :]
    netloc, slash, path = where.partition("/")
    params = dict(parse_qsl(query[1:].split("#", 1)[0], keep_blank_values=True))
    return ParsedURL(found["scheme"], user, password, netloc, slash + path, query, params)


def safe_url(url: str) -> str:
    """A journal URL for messages: no password, no query (and nothing of a text that is not a
    URL at all)."""
    parsed = parse(url)
    if parsed is None:
        return "(not a URL)"
    login = ""
    if parsed.user is not None:
        login = f"{parsed.user}{':***' if parsed.password is not None else ''}@"
    return f"{parsed.scheme}://{login}{parsed.netloc}{parsed.path}"


def register_url_password(url: str) -> None:
    """Have ``redact`` hide a journal URL's password from every later message: as written,
    decoded, and the pieces a driver would quote if it split the URL at an unencoded
    ``@ / ? # [`` or a space (4 characters or more: shorter ones would hide ordinary words;
    ``connect_params`` keeps the driver from ever splitting it)."""
    from vidgate.redact import register_secret

    parsed = parse(url)
    if parsed is None or not parsed.password:
        return
    secret = parsed.password
    pieces = [p for p in re.split(r"[@/?#\[\]\s:]", secret) if len(p) >= 4]
    for piece in {secret, unquote(secret), *pieces}:
        register_secret(piece)


def connect_params(url: str) -> dict[str, str]:
    """The URL as libpq keywords (host, port, user, password, dbname and the query's own
    keywords), each decoded."""
    parsed = parse(url)
    if parsed is None:
        raise ValueError("not a URL")
    params = {key: value for key, value in parsed.params.items()}
    hosts, ports = [], []
    for item in parsed.netloc.split(","):
        if item.startswith("["):  # [IPv6]:port
            host, _, rest = item[1:].partition("]")
            port = rest[1:] if rest.startswith(":") else ""
        else:
            host, _, port = item.rpartition(":") if ":" in item else (item, "", "")
        hosts.append(unquote(host))
        ports.append(port)
    if any(hosts):
        params["host"] = ",".join(hosts)
    if any(ports):
        params["port"] = ",".join(ports)
    if parsed.user:
        params["user"] = unquote(parsed.user)
    if parsed.password is not None:
        params["password"] = unquote(parsed.password)
    if parsed.path.strip("/"):
        params["dbname"] = unquote(parsed.path[1:])
    return params
