//! A wasm program ready to run: a compiled core module or component.

use std::path::Path;

use wasmtime::Module;
use wasmtime::component::Component;

use super::cache::{CompileCache, KnownFile, WasmDigest, digest_of};
use super::engine::{engine, service_engine};
use crate::{Error, Result};

/// Which WASI a program speaks, told from its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgramKind {
    /// A core module: WASI preview 1.
    Module,
    /// A component: WASI 0.2 (`wasi:cli/command`).
    Component,
}

impl ProgramKind {
    /// Tells a core module from a component by the header, or refuses bytes
    /// that are neither.
    pub fn detect(name: &str, bytes: &[u8]) -> Result<Self> {
        if wasmparser::Parser::is_component(bytes) {
            Ok(ProgramKind::Component)
        } else if wasmparser::Parser::is_core_wasm(bytes) {
            Ok(ProgramKind::Module)
        } else if bytes.starts_with(b"\0asm") {
            Err(Error::NotRunnable(format!(
                "{name}: unsupported WebAssembly version or layer in its header; rebuild it for WASI preview 1 or 0.2"
            )))
        } else {
            let head: String = bytes.iter().take(8).map(|b| format!("{b:02x} ")).collect();
            Err(Error::NotRunnable(format!(
                "{name} is not a WebAssembly module or component: it starts with {}instead of the wasm magic 00 61 73 6d; \
                 give a .wasm file built for WASI",
                if bytes.is_empty() { "nothing ".to_string() } else { head }
            )))
        }
    }
}

pub(crate) enum Compiled {
    Module(Module),
    Component(Component),
}

/// A program loaded and compiled (or taken from the compile cache).
pub struct Program {
    pub(crate) name: String,
    pub(crate) compiled: Compiled,
    /// A `wasi:http/proxy` component, served rather than run once.
    http_service: bool,
}

impl Program {
    /// Loads a program from a file, compiling it unless the cache already
    /// holds its compiled code. A file the cache knows by its identity is
    /// not read at all.
    pub fn load_file(path: &Path, cache: &CompileCache) -> Result<Program> {
        let name = path.display().to_string();
        let unreadable = |e: std::io::Error| match e.kind() {
            std::io::ErrorKind::NotFound => Error::NotFound { path: path.to_owned() },
            std::io::ErrorKind::IsADirectory => {
                Error::NotRunnable(format!("{name} is a directory, not a .wasm file"))
            }
            std::io::ErrorKind::PermissionDenied => {
                Error::NotRunnable(format!("{name}: permission denied; check its permissions"))
            }
            _ => Error::Internal(anyhow::anyhow!("reading {name}: {e}")),
        };
        let file = std::fs::File::open(path).map_err(unreadable)?;
        if file.metadata().is_ok_and(|meta| meta.is_dir()) {
            return Err(unreadable(std::io::ErrorKind::IsADirectory.into()));
        }
        Program::load_open(name, file, None, cache)
    }

    /// `load_file` of a file opened already. What is read must have the
    /// `expected` digest (`sha256:…`), if one is given.
    pub fn load_open(
        name: String,
        mut file: std::fs::File,
        expected: Option<&str>,
        cache: &CompileCache,
    ) -> Result<Program> {
        let unreadable = |e: std::io::Error| Error::NotRunnable(format!("{name} cannot be read: {e}"));
        let meta = file.metadata().map_err(unreadable)?;
        if let Some(program) = cache.known_file(&meta).and_then(|known| Program::known(&name, &known, cache))
        {
            return Ok(program);
        }
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        std::io::Read::read_to_end(&mut file, &mut bytes).map_err(unreadable)?;
        let digest = digest_of(&bytes);
        let wasm = hex::encode(digest);
        if let Some(expected) =
            expected.filter(|expected| expected.strip_prefix("sha256:") != Some(wasm.as_str()))
        {
            return Err(Error::damaged_blob(expected));
        }
        let program = Program::load_digested(name, &bytes, &digest, cache)?;
        let known = KnownFile {
            wasm,
            component: program.kind() == ProgramKind::Component,
            http_service: program.http_service,
        };
        cache.remember_file(&meta, &known);
        Ok(program)
    }

    pub fn load_bytes(name: String, bytes: &[u8], cache: &CompileCache) -> Result<Program> {
        Program::load_digested(name, bytes, &digest_of(bytes), cache)
    }

    fn load_digested(
        name: String,
        bytes: &[u8],
        digest: &WasmDigest,
        cache: &CompileCache,
    ) -> Result<Program> {
        let kind = ProgramKind::detect(&name, bytes)?;
        let http_service = kind == ProgramKind::Component && exports_http_handler(bytes);
        let engine = if http_service { service_engine() } else { engine() };
        let compiled = cache.load_or_compile(engine, &name, kind, bytes, digest)?;
        Ok(Program { name, compiled, http_service })
    }

    /// The program of a file the cache knows, from the cache alone; none
    /// if its entry is gone.
    fn known(name: &str, known: &KnownFile, cache: &CompileCache) -> Option<Program> {
        let digest: WasmDigest = hex::decode(&known.wasm).ok()?.try_into().ok()?;
        let kind = if known.component { ProgramKind::Component } else { ProgramKind::Module };
        let engine = if known.http_service { service_engine() } else { engine() };
        let compiled = cache.load(engine, name, kind, &digest)?;
        tracing::debug!("{name} known to the compile cache by the file's identity: not read");
        Some(Program { name: name.to_owned(), compiled, http_service: known.http_service })
    }

    pub fn kind(&self) -> ProgramKind {
        match self.compiled {
            Compiled::Module(_) => ProgramKind::Module,
            Compiled::Component(_) => ProgramKind::Component,
        }
    }

    /// Whether it is a `wasi:http/proxy` component, which wbox serves on its
    /// published ports rather than runs once.
    pub fn is_http_service(&self) -> bool {
        self.http_service
    }

    pub(crate) fn engine(&self) -> &wasmtime::Engine {
        match &self.compiled {
            Compiled::Module(module) => module.engine(),
            Compiled::Component(component) => component.engine(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Whether a component exports wasi:http's incoming handler, told from its
/// bytes before it is compiled (to compile it for the service engine). Only
/// the outer component's sections are read; nested modules and components,
/// nearly all of the bytes, are skipped, which keeps this off the start-up
/// path's profile.
fn exports_http_handler(mut bytes: &[u8]) -> bool {
    use wasmparser::{Chunk, Parser, Payload};
    let mut parser = Parser::new(0);
    loop {
        let payload = match parser.parse(bytes, true) {
            Ok(Chunk::Parsed { consumed, payload }) => {
                bytes = &bytes[consumed..];
                payload
            }
            // Compiling it will say what is wrong.
            Ok(Chunk::NeedMoreData(_)) | Err(_) => return false,
        };
        match payload {
            Payload::ModuleSection { unchecked_range: nested, .. }
            | Payload::ComponentSection { unchecked_range: nested, .. } => {
                let Some(rest) = bytes.get(nested.len()..) else { return false };
                bytes = rest;
            }
            Payload::ComponentExportSection(exports)
                if exports
                    .clone()
                    .into_iter()
                    .flatten()
                    .any(|e| HTTP_HANDLERS.iter().any(|handler| e.name.name.starts_with(handler))) =>
            {
                return true;
            }
            Payload::End(_) => return false,
            _ => {}
        }
    }
}

/// The handlers of WASI 0.2's `wasi:http/proxy` and 0.3's `wasi:http/service`.
const HTTP_HANDLERS: [&str; 2] = ["wasi:http/incoming-handler@0.2", HTTP_HANDLER_0_3];
const HTTP_HANDLER_0_3: &str = "wasi:http/handler@0.3";

/// Whether a compiled component serves WASI 0.3's `wasi:http/service`.
pub(crate) fn serves_wasi_http_0_3(component: &Component) -> bool {
    component.component_type().exports(component.engine()).any(|(name, _)| name.starts_with(HTTP_HANDLER_0_3))
}

#[cfg(test)]
mod tests {
    /// On the components examples/build.sh and build-python.sh build.
    #[test]
    fn tells_an_http_service_by_its_exports() {
        let read = |name: &str| {
            let path = format!("{}/../examples/out/{name}", env!("CARGO_MANIFEST_DIR"));
            std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}; build the examples first"))
        };
        assert!(super::exports_http_handler(&read("hello-http/app.wasm")));
        assert!(!super::exports_http_handler(&read("hello.component.wasm")));
        assert!(!super::exports_http_handler(b"\0asm not really"));
    }
}
