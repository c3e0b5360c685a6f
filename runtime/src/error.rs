//! The errors a user can meet, each tied to the exit code Docker would give.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The program to run does not exist (exit 127, like a shell).
    #[error("{}: no such file; check the path", path.display())]
    NotFound { path: PathBuf },

    /// A native container's command is not in its filesystem (exit 127).
    #[error("{0}")]
    CommandNotFound(String),

    /// The program exists but cannot be invoked: not wasm, malformed, or
    /// asking for imports wbox does not provide (exit 126).
    #[error("{0}")]
    NotRunnable(String),

    /// The user asked for something wbox cannot do as given: a bad flag
    /// value, a grant that names a missing directory (exit 125).
    #[error("{0}")]
    Usage(String),

    /// An image could not be pulled, stored or read: an unreachable
    /// registry, refused credentials, a blob that does not verify, a hostile
    /// layer (exit 125). The message says what to do.
    #[error("{0}")]
    Image(String),

    /// The store holds no image of this name or id (exit 125).
    #[error("no such image: {0}; `wbox images` lists what the store holds")]
    NoSuchImage(String),

    /// No container has this name or id, or id prefix (exit 125).
    #[error("No such container: {0}")]
    NoSuchContainer(String),

    /// No volume has this name (exit 125).
    #[error("get {0}: no such volume")]
    NoSuchVolume(String),

    /// No network has this name or id (exit 125).
    #[error("network {0} not found")]
    NoSuchNetwork(String),

    /// A container holds nothing at the path a copy names (exit 125; the
    /// Engine API's 404).
    #[error("No such container:path: {0}")]
    NoSuchPath(String),

    /// What was asked clashes with what is there: a name taken, a volume in
    /// use (exit 125; the Engine API's 409).
    #[error("{0}")]
    Conflict(String),

    /// What may not be done to that object at all, or not while it is in
    /// use: a pre-defined network, a network with members (exit 125; the
    /// Engine API's 403).
    #[error("{0}")]
    Forbidden(String),

    /// An id prefix that fits several of them (exit 125).
    #[error("{count} {what} have an id starting with {prefix}; give more of the id")]
    Ambiguous { prefix: String, count: usize, what: &'static str },

    /// What was there was removed meanwhile, by another wbox (exit 125).
    #[error("{} is gone", path.display())]
    Gone { path: PathBuf },

    /// An error another wbox process met and passed on (a supervisor that
    /// could not start its guest), with that error's exit code.
    #[error("{message}")]
    Relayed { code: i32, message: String },

    /// wbox itself failed (exit 125).
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::NotFound { .. } | Error::CommandNotFound(_) => 127,
            Error::NotRunnable(_) => 126,
            Error::Relayed { code, .. } => *code,
            Error::Usage(_)
            | Error::Image(_)
            | Error::Internal(_)
            | Error::NoSuchImage(_)
            | Error::NoSuchContainer(_)
            | Error::NoSuchVolume(_)
            | Error::NoSuchNetwork(_)
            | Error::NoSuchPath(_)
            | Error::Conflict(_)
            | Error::Forbidden(_)
            | Error::Ambiguous { .. }
            | Error::Gone { .. } => 125,
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Error::Usage(message.into())
    }

    pub fn image(message: impl Into<String>) -> Self {
        Error::Image(message.into())
    }

    /// A blob of the image store (`sha256:…`) whose content no longer
    /// matches its digest.
    pub fn damaged_blob(digest: &str) -> Self {
        Error::image(format!(
            "blob {digest} in the image store is damaged (its content no longer matches its digest); \
             remove the image and pull it again"
        ))
    }
}
