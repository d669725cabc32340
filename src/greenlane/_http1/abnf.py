"""HTTP/1.1 grammar as named regular-expression fragments (RFC 9110, RFC 9112, RFC 3986).

Each fragment sits under the ABNF it encodes. Fragments are composed by string formatting and
compiled once. Request heads are decoded as latin-1 before matching (one decode per head, and
match groups come out as ``str`` directly), so head patterns are ``str`` patterns in which
``\\x80-\\xff`` stands for obs-text; chunk-size lines are matched in place on the receive
buffer, so the chunk patterns are ``bytes`` patterns.

Deviations from the RFC grammar, all on the strict side unless noted:

* request-target characters are checked as VCHAR (visible ASCII), not against the exact
  pchar / query sets of RFC 3986: browsers send ``|``, ``^``, `` ` ``, ``{``, ``}``, ``[``,
  ``]`` unescaped in paths and queries (the WHATWG URL percent-encode sets leave them alone),
  and a percent-escape is not checked for two hex digits (``PATH_INFO`` decoding leaves a
  broken one as it is). Raw non-ASCII bytes, whitespace and control characters are rejected:
  they must be percent-encoded. The form rules (origin-form starts with ``/``, asterisk-form
  only for OPTIONS, authority-form only for CONNECT, absolute-form only for ``http``/``https``
  and without userinfo) are applied by ``headers.check_request_target``.
* HTTP-version is matched as ``HTTP/1.<digit>``; other majors are diagnosed as 505 separately.
* chunk-size is capped at 16 hex digits (the size then fits in 64 bits, as in gevent and Go),
  Content-Length at 19 decimal digits.
* Patterns are written so that no input can make them backtrack more than linearly: every
  repetition is delimited by a character the repeated part cannot contain.
"""

from __future__ import annotations

import re

__all__ = [
    "ABSOLUTE_FORM",
    "AUTHORITY_FORM",
    "CHUNK_LINE",
    "CONTENT_LENGTH_MAX_DIGITS",
    "CTL_AND_CR",
    "FIELD_LINE",
    "FIELD_LINE_STRICT",
    "FIELD_VALUE",
    "HOST",
    "HTTP_VERSION",
    "REQUEST_LINE",
    "REQUEST_TARGET",
    "TCHAR_BYTES",
    "TOKEN",
]

# RFC 9110 §5.6.1: OWS = *( SP / HTAB )   (BWS has the same syntax)
OWS = r"[ \t]*"

# RFC 9110 §5.6.2:
#   token = 1*tchar
#   tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
#         / DIGIT / ALPHA
_TCHAR = r"[-!#$%&'*+.^_`|~0-9A-Za-z]"
_TOKEN = _TCHAR + "+"

# The tchar set as bytes, for the "is this plausibly the start of a request?" check that runs
# before a whole line has arrived (a TLS ClientHello starts with 0x16).
TCHAR_BYTES = frozenset(
    b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

# RFC 9110 §5.5:
#   field-value   = *field-content
#   field-content = field-vchar [ 1*( SP / HTAB / field-vchar ) field-vchar ]
#   field-vchar   = VCHAR / obs-text
#   obs-text      = %x80-FF
# Written so that OWS around the value falls outside the group: the value can neither start nor
# end with SP or HTAB.
_FIELD_VCHAR = r"[\x21-\x7e\x80-\xff]"
_FIELD_CONTENT = rf"{_FIELD_VCHAR}(?:[ \t\x21-\x7e\x80-\xff]*{_FIELD_VCHAR})?"
_FIELD_VALUE = rf"(?:{_FIELD_CONTENT})?"

# RFC 9112 §5:
#   field-line = field-name ":" OWS field-value OWS
#   field-name = token
# No whitespace is allowed between the name and the colon (§5.1), and obs-fold (a line starting
# with SP or HTAB) is not accepted (§5.2 allows rejecting it with 400).
#
# FIELD_LINE_STRICT is the rule itself, for one line without its CRLF. FIELD_LINE is the fast
# form used with findall() over a whole header section, starting at the LF that ends the
# request line. Each match runs from the LF before a line to the CR ending it, so consecutive
# lines chain and "matches == field lines" proves that every line matched in full. Character
# classes are slow in the regex engine and "." is fast, so FIELD_LINE lets "." accept any
# character but LF; readers.parse_head then checks the head's control characters in one
# bytes.translate() (only HTAB allowed, and exactly one CR per line). Lines with trailing OWS
# do not match FIELD_LINE (rare in practice) and are parsed by FIELD_LINE_STRICT instead.
FIELD_LINE = re.compile(rf"\n({_TOKEN}):{OWS}(.*)(?<![ \t])\r(?=\n)")
FIELD_LINE_STRICT = re.compile(rf"({_TOKEN}):{OWS}({_FIELD_VALUE}){OWS}")

# Bytes that may not appear in a head besides the line endings: CTL except HTAB (RFC 9110 §5.5
# field-vchar; the request line excludes them too), plus CR, which is counted separately.
CTL_AND_CR = bytes(range(0x00, 0x09)) + bytes(range(0x0A, 0x20)).replace(b"\n", b"") + b"\x7f"

TOKEN = re.compile(_TOKEN)
FIELD_VALUE = re.compile(_FIELD_VALUE)

# RFC 9112 §3:
#   request-line = method SP request-target SP HTTP-version
#   method       = token
# RFC 9112 §2.3:
#   HTTP-version = HTTP-name "/" DIGIT "." DIGIT ;  HTTP-name = %s"HTTP"
# The fast pattern accepts HTTP/1.x only; any 1.x with x >= 1 is handled as 1.1 (RFC 9110 §2.5:
# a recipient of a higher minor version treats it as the highest minor version it implements).
# RFC 9112 §3.2: request-target = origin-form / absolute-form / authority-form / asterisk-form
# Here only its alphabet (VCHAR, see the module docstring); the forms are further below.
_REQUEST_TARGET = r"[\x21-\x7e]+"
REQUEST_LINE = re.compile(rf"({_TOKEN}) ({_REQUEST_TARGET}) HTTP/1\.([0-9])\r\n")
REQUEST_TARGET = re.compile(_REQUEST_TARGET)
HTTP_VERSION = re.compile(r"HTTP/([0-9])\.([0-9])")

# RFC 9110 §8.6: Content-Length = 1*DIGIT   (capped at 19 digits: always fits in 63 bits)
# Applied by headers.parse_content_length with str methods rather than a regex (several times
# faster on PyPy, where it runs once per request and once per response): a str that is
# isascii() and isdigit() holds only "0"-"9", which is [0-9]+ exactly.
CONTENT_LENGTH_MAX_DIGITS = 19

# RFC 9110 §7.2: Host = uri-host [ ":" port ]; RFC 3986 §3.2.2:
#   host        = IP-literal / IPv4address / reg-name
#   IP-literal  = "[" ( IPv6address / IPvFuture ) "]"
#   IPvFuture   = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )
#   reg-name    = *( unreserved / pct-encoded / sub-delims )     (IPv4address is a reg-name)
#   port        = *DIGIT
# IPv6address is checked for its alphabet only; the full grammar would add nothing against
# smuggling. An empty Host is valid (RFC 9110 §7.2).
# Written as "unrolled loops" (x*(?:%hh x*)*) because a repeated group is much slower than a
# repeated character class.
_UNRESERVED_SUBDELIMS = r"-A-Za-z0-9._~!$&'()*+,;="
_IP_LITERAL = rf"\[(?:[0-9A-Fa-f:.]+|[vV][0-9A-Fa-f]+\.[{_UNRESERVED_SUBDELIMS}:]+)\]"
_REG_NAME = rf"[{_UNRESERVED_SUBDELIMS}]*(?:%[0-9A-Fa-f]{{2}}[{_UNRESERVED_SUBDELIMS}]*)*"
HOST = re.compile(rf"(?:{_IP_LITERAL}|{_REG_NAME})(?::[0-9]*)?")

# The non-empty host of a target URI: RFC 9110 §4.2.1 "A recipient that processes such a URI
# reference [with an empty host identifier] MUST reject it as invalid". The lookahead makes the
# reg-name non-empty without a second copy of its grammar.
_NON_EMPTY_HOST = rf"(?:{_IP_LITERAL}|(?=[{_UNRESERVED_SUBDELIMS}%]){_REG_NAME})"

# RFC 9112 §3.2.2: absolute-form = absolute-URI; RFC 3986 §3 and §4.3:
#   absolute-URI = scheme ":" hier-part [ "?" query ]
#   hier-part    = "//" authority path-abempty / ...
#   authority    = [ userinfo "@" ] host [ ":" port ]
# Only the http and https schemes (RFC 9110 §4.2; scheme names are case-insensitive, RFC 3986
# §3.1), which always have "//" authority, and without userinfo: RFC 9110 §4.2.4 lets a
# recipient treat userinfo in an http(s) target URI as an error, and "@" is not in the host
# alphabet. Group 1 is the authority, which replaces the Host field (RFC 9112 §3.2.2); the
# path-abempty and query that follow are checked as VCHAR like origin-form. The authority ends
# at the first "/" or "?", neither of which its alphabet contains, so matching is linear.
ABSOLUTE_FORM = re.compile(rf"[Hh][Tt][Tt][Pp][Ss]?://({_NON_EMPTY_HOST}(?::[0-9]*)?)"
                           r"(?:[/?][\x21-\x7e]*)?")

# RFC 9112 §3.2.3: authority-form = uri-host ":" port; the port is required (RFC 9110 §9.3.6:
# "There is no default port; a client MUST send the port number").
AUTHORITY_FORM = re.compile(rf"{_NON_EMPTY_HOST}:[0-9]+")

# RFC 9112 §7.1:
#   chunk      = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
#   chunk-size = 1*HEXDIG
#   last-chunk = 1*("0") [ chunk-ext ] CRLF
#   chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
#   chunk-ext-name = token
#   chunk-ext-val  = token / quoted-string
# RFC 9110 §5.6.4:
#   quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE
#   qdtext        = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
#   quoted-pair   = "\" ( HTAB / SP / VCHAR / obs-text )
# Whitespace is allowed only where BWS is (so "5 \r\n" and " 5\r\n" are rejected).
_B_TOKEN = _TOKEN.encode("ascii")
_B_QUOTED_STRING = rb'"(?:[\t !#-\[\]-~\x80-\xff]|\\[\t -~\x80-\xff])*"'
_B_CHUNK_EXT = (
    rb"(?:[ \t]*;[ \t]*" + _B_TOKEN + rb"(?:[ \t]*=[ \t]*(?:" + _B_TOKEN + rb"|"
    + _B_QUOTED_STRING + rb"))?)*"
)
CHUNK_LINE = re.compile(rb"([0-9A-Fa-f]{1,16})" + _B_CHUNK_EXT + rb"\r\n")
