//! hello-p3's `GET /` as a WASI 0.2 `wasi:http/proxy` component, for
//! bench/http.sh to serve the same greeting both ways. Its WIT is
//! wasmtime-wasi-http's, which bench/http.sh copies to target/wasi-http-0.2-wit
//! (hence not built by examples/build.sh).

wit_bindgen::generate!({
    inline: r"
        package wbox:tests;

        world hello-p2 {
            include wasi:http/proxy@0.2.12;
        }
    ",
    path: "../../../target/wasi-http-0.2-wit",
    generate_all
});

use exports::wasi::http::incoming_handler::Guest;
use wasi::http::types::{Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam};

struct Service;
export!(Service);

impl Guest for Service {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let (status, body): (u16, &[u8]) = match request.path_with_query().as_deref() {
            Some("/") => (200, b"Hello from a WASI 0.3 service!\n"),
            _ => (404, b"not found\n"),
        };
        let headers = Fields::new();
        headers.append("content-type", b"text/plain").unwrap();
        headers.append("content-length", body.len().to_string().as_bytes()).unwrap();
        let response = OutgoingResponse::new(headers);
        response.set_status_code(status).unwrap();
        let outgoing = response.body().unwrap();
        ResponseOutparam::set(out, Ok(response));
        let stream = outgoing.write().unwrap();
        stream.blocking_write_and_flush(body).unwrap();
        drop(stream);
        OutgoingBody::finish(outgoing, None).unwrap();
    }
}

fn main() {
    unreachable!("a service has no main");
}
