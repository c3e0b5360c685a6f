//! A WASI 0.3 command: greets `$GREETING` (or "Hello") with its arguments on
//! stdout through a 0.3 stream, and exits 1 when its first argument is
//! `fail`.

wit_bindgen::generate!({
    inline: r"
        package wbox:tests;

        world greet-p3 {
            include wasi:cli/command@0.3.0;
        }
    ",
    path: "../../wasi-testsuite/rust-wasip3/wit",
    generate_all
});

use exports::wasi::cli::run::Guest;
use wasi::cli::{environment, stdout};

struct Command;
export!(Command);

impl Guest for Command {
    async fn run() -> Result<(), ()> {
        let args = environment::get_arguments();
        let greeting = environment::get_environment()
            .into_iter()
            .find(|(key, _)| key == "GREETING")
            .map_or("Hello".to_string(), |(_, value)| value);
        let text = format!("{greeting} from WASI 0.3! args: {}\n", args[1..].join(" "));
        let (mut tx, rx) = wit_stream::new();
        wit_bindgen::spawn_local(async move {
            tx.write_all(text.into_bytes()).await;
        });
        stdout::write_via_stream(rx).await.map_err(drop)?;
        if args.get(1).is_some_and(|a| a == "fail") { Err(()) } else { Ok(()) }
    }
}

fn main() {
    unreachable!("a component's run is its entry point");
}
