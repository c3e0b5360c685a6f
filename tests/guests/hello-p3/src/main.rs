//! A WASI 0.3 HTTP service: `GET /` greets; `GET /count` answers how many
//! requests this instance has seen (1 when every request gets a fresh
//! instance); `GET /grow?mb=N` takes N MiB of memory; `GET /spin` never
//! answers; anything else is a 404.

wit_bindgen::generate!({
    inline: r"
        package wbox:tests;

        world hello-p3 {
            include wasi:http/service@0.3.0;
        }
    ",
    path: "../../wasi-testsuite/rust-wasip3/wit",
    generate_all
});

use std::sync::atomic::{AtomicU32, Ordering};

use exports::wasi::http::handler::Guest;
use wasi::http::types::{ErrorCode, Fields, Method, Request, Response};

static SEEN: AtomicU32 = AtomicU32::new(0);

struct Service;
export!(Service);

impl Guest for Service {
    async fn handle(request: Request) -> Result<Response, ErrorCode> {
        let seen = SEEN.fetch_add(1, Ordering::Relaxed) + 1;
        let path = request.get_path_with_query().unwrap_or_default();
        let (status, body) = match (request.get_method(), path.as_str()) {
            (Method::Get, "/") => (200, "Hello from a WASI 0.3 service!\n".to_string()),
            (Method::Get, "/count") => (200, format!("{seen}\n")),
            (Method::Get, grow) if grow.starts_with("/grow?mb=") => {
                let mb: usize = grow["/grow?mb=".len()..].parse().unwrap_or(0);
                let taken = vec![1u8; mb << 20];
                (200, format!("took {} MiB\n", std::hint::black_box(&taken).len() >> 20))
            }
            (Method::Get, "/spin") => loop {
                std::hint::spin_loop();
            },
            _ => (404, "not found\n".to_string()),
        };
        let headers = Fields::new();
        headers.append("content-type", b"text/plain").unwrap();
        headers.append("content-length", body.len().to_string().as_bytes()).unwrap();
        let (mut body_tx, body_rx) = wit_stream::new();
        wit_bindgen::spawn_local(async move {
            body_tx.write_all(body.into_bytes()).await;
        });
        let (trailers_tx, trailers_rx) = wit_future::new(|| Ok(None));
        drop(trailers_tx);
        let (response, _sent) = Response::new(headers, Some(body_rx), trailers_rx);
        response.set_status_code(status).unwrap();
        Ok(response)
    }
}

fn main() {
    unreachable!("a service has no main");
}
