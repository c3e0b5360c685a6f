//! A WASI context built from a plan's grants: exactly what was granted,
//! enforced by wasmtime-wasi and cap-std, and nothing else.

use std::sync::Arc;

use wasmtime_wasi::cli::{AsyncStdinStream, IsTerminal, OutputFile, StdinStream, StdoutStream};
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

use super::network;
use crate::plan::{DirGrant, Grants, Network, StdioFiles};
use crate::{Error, Result};

impl Grants {
    /// A WASI context builder holding exactly these grants (and the
    /// caller's stdio), and nothing else. The grants must have passed
    /// `check` (`from_flags` does it), and their network be `resolved`.
    pub(crate) fn wasi_builder(&self) -> Result<WasiCtxBuilder> {
        let mut builder = WasiCtxBuilder::new();
        if self.network != Network::None || !self.ports.is_empty() {
            let (network, ports, own) = (self.network.clone(), self.ports.clone(), self.own_network);
            builder.socket_addr_check(move |address, usage| {
                let allowed = network::check(&network, &ports, own, address, usage);
                Box::pin(async move { allowed })
            });
            builder.allow_tcp(true).allow_udp(true);
            builder.allow_ip_name_lookup(self.network.allows_lookup());
        }
        let terminal = |host: bool| self.tty.unwrap_or(host);
        if let Some(files) = &self.stdio {
            files.give_to(&mut builder, terminal(false))?;
        } else {
            if self.stdin {
                let terminal = terminal(std::io::IsTerminal::is_terminal(&std::io::stdin()));
                builder.stdin(Reported { stream: wasmtime_wasi::cli::stdin(), terminal });
            }
            let terminal = terminal(std::io::IsTerminal::is_terminal(&std::io::stdout()));
            builder.stdout(Reported { stream: wasmtime_wasi::cli::stdout(), terminal });
            builder.stderr(Reported { stream: wasmtime_wasi::cli::stderr(), terminal });
        }
        builder.args(&self.args);
        for (key, value) in self.effective_env() {
            builder.env(key, value);
        }
        for dir in &self.dirs {
            builder
                .preopened_dir(&dir.host, &dir.guest, dir.perms())
                .map_err(|e| Error::usage(format!("cannot grant {}: {e}", dir.host.display())))?;
        }
        if let Some(workdir) = &self.workdir {
            self.check_workdir(workdir)?;
            // The working directory is only that: where the guest starts
            // (wasi:cli's initial-cwd). It is never made a preopen of its
            // own: wasi-libc resolves "x" and "/x" alike from its own cwd,
            // which starts at "/", so a preopen "." would take the place of
            // "/" for every absolute path (issue 26).
            builder.initial_cwd(workdir);
        }
        Ok(builder)
    }

    /// Refuses a working directory that a grant holds but that is not a
    /// directory there, looked up as the guest would reach it: through
    /// cap-std, so a symlink inside the grant (perhaps one a guest made)
    /// cannot lead outside it.
    fn check_workdir(&self, workdir: &str) -> Result<()> {
        let Some((grant, rest)) = self.grant_holding(workdir) else { return Ok(()) };
        let root = cap_std::fs::Dir::open_ambient_dir(&grant.host, cap_std::ambient_authority());
        let opened =
            root.and_then(|root| if rest.as_os_str().is_empty() { Ok(root) } else { root.open_dir(rest) });
        opened.map(drop).map_err(|e| {
            Error::usage(format!(
                "working directory {workdir} cannot be opened in the grant of {}: {e}",
                grant.host.display()
            ))
        })
    }
}

/// Tells the guest's stderr, as a runtime would: the file given for it (a
/// shim's FIFO), else this process's own.
pub(crate) fn report(stdio: Option<&StdioFiles>, message: &str) {
    use std::io::Write;
    match stdio.and_then(|s| s.stderr.as_deref()) {
        Some(mut file) => {
            let _ = writeln!(file, "wbox: {message}");
        }
        None => {
            let _ = writeln!(std::io::stderr(), "wbox: {message}");
        }
    }
}

impl StdioFiles {
    fn give_to(&self, builder: &mut WasiCtxBuilder, terminal: bool) -> Result<()> {
        let own = |file: &Arc<std::fs::File>| {
            file.try_clone()
                .map_err(|e| Error::Internal(anyhow::anyhow!("cannot hand on the guest's stdio: {e}")))
        };
        if let Some(stdin) = &self.stdin {
            // Read on a task of its own, so that a guest waiting for input
            // can still be stopped.
            let stream = AsyncStdinStream::new(tokio::fs::File::from_std(own(stdin)?));
            builder.stdin(Reported { stream, terminal });
        }
        if let Some(stdout) = &self.stdout {
            builder.stdout(Reported { stream: OutputFile::new(own(stdout)?), terminal });
        }
        if let Some(stderr) = &self.stderr {
            builder.stderr(Reported { stream: OutputFile::new(own(stderr)?), terminal });
        }
        Ok(())
    }
}

/// One of wbox's stdio streams, with what the guest is told about it being
/// a terminal (the wasi terminal interfaces, preview 1's fdstat).
struct Reported<T> {
    stream: T,
    terminal: bool,
}

impl<T> IsTerminal for Reported<T> {
    fn is_terminal(&self) -> bool {
        self.terminal
    }
}

impl<T: StdinStream> StdinStream for Reported<T> {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncRead + Send + Sync> {
        self.stream.async_stream()
    }

    fn p2_stream(&self) -> Box<dyn wasmtime_wasi::p2::InputStream> {
        self.stream.p2_stream()
    }
}

impl<T: StdoutStream> StdoutStream for Reported<T> {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        self.stream.async_stream()
    }

    fn p2_stream(&self) -> Box<dyn wasmtime_wasi::p2::OutputStream> {
        self.stream.p2_stream()
    }
}

impl DirGrant {
    fn perms(&self) -> FsPerms {
        if self.read_only { FsPerms::ReadOnly } else { FsPerms::ReadWrite }
    }
}
