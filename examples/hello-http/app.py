"""A web app as a wasi:http/proxy component, built with componentize-py.

GET /               a greeting: "$GREETING from wbox!" (GREETING defaults to Hello)
GET /env?name=VAR   the value of the environment variable VAR, 404 if unset
"""

import os
from urllib.parse import parse_qs, urlsplit

from componentize_py_types import Ok
from wit_world import exports
from wit_world.imports.types import (
    Fields,
    IncomingRequest,
    Method_Get,
    OutgoingBody,
    OutgoingResponse,
    ResponseOutparam,
)


def route(method, path_with_query):
    url = urlsplit(path_with_query)
    if isinstance(method, Method_Get) and url.path == "/":
        return 200, f"{os.environ.get('GREETING', 'Hello')} from wbox!\n"
    if isinstance(method, Method_Get) and url.path == "/env":
        value = os.environ.get(parse_qs(url.query).get("name", [""])[0])
        if value is not None:
            return 200, value + "\n"
    return 404, "not found\n"


class IncomingHandler(exports.IncomingHandler):
    """componentize-py exports the class with this name from the app module."""

    def handle(self, request: IncomingRequest, response_out: ResponseOutparam) -> None:
        status, text = route(request.method(), request.path_with_query() or "/")
        data = text.encode()
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
