//! `componentize IN.wasm OUT.wasm`: wraps a WASI preview-1 command module in a
//! WASI 0.2 command component, with the preview-1 adapter that wasmtime ships.
//! This is what `wasm-tools component new --adapt` does, kept here so the
//! examples build from source with nothing but cargo and clang.

use anyhow::Context;
use wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, input, output] = args.as_slice() else {
        anyhow::bail!("usage: componentize IN.wasm OUT.wasm");
    };
    let module = std::fs::read(input).with_context(|| format!("reading {input}"))?;
    let component = wit_component::ComponentEncoder::default()
        .module(&module)?
        .adapter("wasi_snapshot_preview1", WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER)?
        .validate(true)
        .encode()
        .with_context(|| format!("turning {input} into a component"))?;
    std::fs::write(output, component).with_context(|| format!("writing {output}"))?;
    Ok(())
}
