"""A wasi:http/proxy component that misbehaves on request, for wbox's tests.

GET /            200 "ok"
GET /crash       the handler raises, so the component traps
GET /spin        loops forever
GET /alloc?mb=N  allocates N MiB, then 200 "allocated N"
GET /env?name=V  the value of the environment variable V, 404 if unset
GET /count       how many requests this instance has answered, this one included
"""

import os
from urllib.parse import parse_qs, urlsplit

from componentize_py_types import Ok
from wit_world import exports
from wit_world.imports.types import (
    Fields,
    IncomingRequest,
    OutgoingBody,
    OutgoingResponse,
    ResponseOutparam,
)


answered = 0


def route(path_with_query):
    global answered
    answered += 1
    url = urlsplit(path_with_query)
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    if url.path == "/":
        return 200, "ok\n"
    if url.path == "/crash":
        raise RuntimeError("crash requested")
    if url.path == "/spin":
        while True:
            pass
    if url.path == "/alloc":
        mb = int(query.get("mb", "0"))
        block = bytearray(mb << 20)
        # Fresh pages cost the host nothing until written: touch each one.
        for i in range(0, len(block), 4096):
            block[i] = 1
        return 200, f"allocated {mb}\n"
    if url.path == "/count":
        return 200, f"{answered}\n"
    if url.path == "/env":
        value = os.environ.get(query.get("name", ""))
        if value is not None:
            return 200, value + "\n"
    return 404, "not found\n"


class IncomingHandler(exports.IncomingHandler):
    def handle(self, request: IncomingRequest, response_out: ResponseOutparam) -> None:
        status, text = route(request.path_with_query() or "/")
        data = text.encode()
        headers = [("content-type", b"text/plain"), ("content-length", str(len(data)).encode())]
        response = OutgoingResponse(Fields.from_list(headers))
        response.set_status_code(status)
        body = response.body()
        ResponseOutparam.set(response_out, Ok(response))
        with body.write() as stream:
            for start in range(0, len(data), 4096):
                stream.blocking_write_and_flush(data[start : start + 4096])
        OutgoingBody.finish(body, None)
