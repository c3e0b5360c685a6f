"""A wasi:http/proxy component that makes outgoing HTTP requests, built with
componentize-py.

GET /?url=URL   fetches URL (http or https) with a GET through
                wasi:http/outgoing-handler, then answers
                  200 "fetched URL: STATUS\\n" followed by the fetched body, or
                  502 "refused URL: ERROR\\n" when the request failed, ERROR
                      being the wasi:http error-code case as the WIT spells
                      it, e.g. connection-refused or HTTP-request-denied
                400 without a url
"""

import re
from urllib.parse import parse_qs, urlsplit

from componentize_py_types import Err, Ok
from wit_world import exports
from wit_world.imports import outgoing_handler
from wit_world.imports.streams import StreamError_Closed
from wit_world.imports.types import (
    ErrorCode_HttpResponseIncomplete,
    Fields,
    IncomingRequest,
    OutgoingBody,
    OutgoingRequest,
    OutgoingResponse,
    ResponseOutparam,
    Scheme_Http,
    Scheme_Https,
    http_error_code,
)

SCHEMES = {"http": Scheme_Http(), "https": Scheme_Https()}


def error_name(code):
    """The WIT name of an error-code case: componentize-py turns
    HTTP-request-URI-invalid into the class ErrorCode_HttpRequestUriInvalid."""
    words = re.findall(r"[A-Z][a-z]*", type(code).__name__.removeprefix("ErrorCode_"))
    acronyms = {"Dns", "Ip", "Tls", "Http", "Uri"}
    return "-".join(w.upper() if w in acronyms else w.lower() for w in words)


def fetch(url):
    """GETs url; returns (status, body) or raises Err(error-code)."""
    parts = urlsplit(url)
    request = OutgoingRequest(Fields())
    request.set_scheme(SCHEMES[parts.scheme])
    request.set_authority(parts.netloc)
    request.set_path_with_query((parts.path or "/") + (f"?{parts.query}" if parts.query else ""))

    # handle() raises Err(error-code) if the host refuses the request outright;
    # otherwise the response, or the error, arrives later through the future.
    future = outgoing_handler.handle(request, None)
    with future, future.subscribe() as ready:
        ready.block()
        result = future.get()  # Ok(Ok(response)) or Ok(Err(error-code))
    if isinstance(result.value, Err):
        raise result.value

    with result.value.value as response, response.consume() as body:
        data = bytearray()
        with body.stream() as stream:
            while True:
                try:
                    data += stream.blocking_read(65536)
                except Err as e:
                    if isinstance(e.value, StreamError_Closed):
                        break
                    # The body broke off: report that as an error-code too.
                    raise Err(http_error_code(e.value.value) or ErrorCode_HttpResponseIncomplete())
        return response.status(), bytes(data)


def route(path_with_query):
    url = parse_qs(urlsplit(path_with_query).query).get("url", [""])[0]
    if urlsplit(url).scheme not in SCHEMES:
        return 400, b"usage: GET /?url=http://HOST/PATH (http or https)\n"
    try:
        status, body = fetch(url)
    except Err as e:
        return 502, f"refused {url}: {error_name(e.value)}\n".encode()
    return 200, f"fetched {url}: {status}\n".encode() + body


class IncomingHandler(exports.IncomingHandler):
    """componentize-py exports the class with this name from the app module."""

    def handle(self, request: IncomingRequest, response_out: ResponseOutparam) -> None:
        status, data = route(request.path_with_query() or "/")
        headers = [("content-type", b"text/plain"), ("content-length", str(len(data)).encode())]
        response = OutgoingResponse(Fields.from_list(headers))
        response.set_status_code(status)
        body = response.body()
        ResponseOutparam.set(response_out, Ok(response))
        with body.write() as stream:
            # A single write may carry at most 4096 bytes.
            for start in range(0, len(data), 4096):
                stream.blocking_write_and_flush(data[start : start + 4096])
        OutgoingBody.finish(body, None)
