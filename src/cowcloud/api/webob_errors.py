"""Glance's error bodies, chosen by the request's Accept header as webob chooses them.

Glance raises webob exceptions, and webob renders each one as text/html, application/json or
text/plain, whichever of (text/html, application/json) the Accept header ranks first (RFC 7231
matching; on a tie the order of that pair, so `*/*` gets HTML), and text/plain when neither is
acceptable, which includes a missing or empty Accept header. Clients depend on it:
python-glanceclient sends `Accept: */*` and parses the HTML (its JSON parser expects a nested
object and breaks on Glance's flat one), openstacksdk asks for JSON, and sends an empty Accept
header on uploads and PATCHes, where it falls back to the HTTP reason.
"""

from __future__ import annotations

import html
import json
import re

HTML, JSON, PLAIN = "text/html", "application/json", "text/plain"
OFFERS = (HTML, JSON)

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_Q = re.compile(r"(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)")


class _Invalid(ValueError):
    pass


def _parse(accept: str) -> list[tuple[str, str, float, bool]]:
    """(type, subtype, q, has media type parameters) for each element of a valid header."""
    ranges = []
    for element in accept.split(","):
        if not element.strip():
            continue  # RFC 7230's #list allows empty elements
        media, *params = (p.strip() for p in element.split(";"))
        rtype, slash, rsub = media.partition("/")
        if not (slash and _TOKEN.fullmatch(rtype) and _TOKEN.fullmatch(rsub)):
            raise _Invalid(element)
        q, media_params, after_q = 1.0, False, False
        for param in params:
            name, eq, value = (x.strip() for x in param.partition("="))
            if not _TOKEN.fullmatch(name) or (not eq and not after_q):
                raise _Invalid(element)
            if name.lower() == "q" and not after_q:
                if not _Q.fullmatch(value):
                    raise _Invalid(element)
                q, after_q = float(value), True  # what follows q are extension parameters
            elif not after_q:
                media_params = True
        ranges.append((rtype.lower(), rsub.lower(), q, media_params))
    return ranges


def choose(accept: str | None) -> str:
    """The content type webob renders an error in for this Accept header value."""
    try:
        ranges = _parse(accept or "")
    except _Invalid:
        return HTML  # webob treats an invalid header as none: everything is acceptable
    best: dict[str, tuple[int, float]] = {}  # offer -> (specificity, q) of its closest range
    for offer in OFFERS:
        otype, osub = offer.split("/")
        for rtype, rsub, q, params in ranges:
            if (rtype, rsub) == (otype, osub):
                if params:
                    continue  # `text/html;level=1` does not match a bare text/html
                specificity = 3
            elif rsub == "*" and rtype == otype:
                specificity = 2
            elif (rtype, rsub) == ("*", "*"):
                specificity = 1
            else:
                continue
            if offer not in best or specificity > best[offer][0]:
                best[offer] = (specificity, q)
    ranked = sorted((o for o in OFFERS if o in best and best[o][1] > 0),
                    key=lambda o: -best[o][1])  # stable: a tie keeps OFFERS' order
    return ranked[0] if ranked else PLAIN


def _strip_tags(text: str) -> str:
    text = text.replace("\n", " ").replace("\r", "")
    text = re.sub(r"<br.*?>", "\n", text, flags=re.I | re.S)
    text = re.sub(r"<!--|-->", "", text)
    return re.sub(r"<.*?>", "", text, flags=re.S)


def render(content_type: str, status: int, title: str, message: str) -> tuple[bytes, str]:
    """(body, Content-Type header) of a webob error whose explanation is `message`."""
    status_line = f"{status} {title}"
    if content_type == JSON:
        # webob would put its template's "<br /><br />\n\n\n" after the message; clients show the
        # message as it is, so it stays clean
        body = {"message": message, "code": status_line, "title": title}
        return json.dumps(body).encode(), JSON
    if content_type == HTML:
        text = (f"<html>\n <head>\n  <title>{status_line}</title>\n </head>\n <body>\n"
                f"  <h1>{status_line}</h1>\n  {html.escape(message)}<br /><br />\n\n\n\n"
                f" </body>\n</html>")
        return text.encode(), "text/html; charset=UTF-8"
    text = f"{status_line}\n\n{_strip_tags(message + '<br /><br />' + chr(10) * 3)}"
    return text.encode(), "text/plain; charset=UTF-8"
