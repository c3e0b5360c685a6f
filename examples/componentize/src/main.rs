//! `componentize IN.wasm OUT.wasm [WIT_DIR WORLD_FILE]`: wraps a WASI
//! preview-1 command module in a WASI 0.2 command component, with the
//! preview-1 adapter that wasmtime ships. This is what `wasm-tools component
//! new --adapt` does, kept here so the examples build from source with nothing
//! but cargo and clang.
//!
//! A module that also imports WASI 0.2 interfaces directly names them in
//! WORLD_FILE, a WIT world over the WASI packages found in WIT_DIR.

use anyhow::Context;
use wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER;
use wit_component::StringEncoding;
use wit_parser::Resolve;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (input, output, world) = match args.as_slice() {
        [_, input, output] => (input, output, None),
        [_, input, output, wit_dir, world_file] => (input, output, Some((wit_dir, world_file))),
        _ => anyhow::bail!("usage: componentize IN.wasm OUT.wasm [WIT_DIR WORLD_FILE]"),
    };
    let mut module = std::fs::read(input).with_context(|| format!("reading {input}"))?;
    if let Some((wit_dir, world_file)) = world {
        let mut resolve = Resolve::default();
        resolve.push_dir(wit_dir).with_context(|| format!("reading WIT in {wit_dir}"))?;
        let package = resolve.push_file(world_file)?;
        let world = resolve.select_world(&[package], None)?;
        wit_component::embed_component_metadata(&mut module, &resolve, world, StringEncoding::UTF8)?;
    }
    let component = wit_component::ComponentEncoder::default()
        .module(&module)?
        .adapter("wasi_snapshot_preview1", WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER)?
        .validate(true)
        .encode()
        .with_context(|| format!("turning {input} into a component"))?;
    std::fs::write(output, component).with_context(|| format!("writing {output}"))?;
    Ok(())
}
