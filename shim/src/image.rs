//! The image a container was made from, read through containerd's gRPC
//! API. The shim needs it only for a wasm OCI artifact, whose module is a
//! layer containerd does not unpack into the root filesystem.

use containerd_client::services::v1::containers_client::ContainersClient;
use containerd_client::services::v1::content_client::ContentClient;
use containerd_client::services::v1::images_client::ImagesClient;
use containerd_client::services::v1::{GetContainerRequest, GetImageRequest, ReadContentRequest};
use containerd_client::tonic::{self, Request, transport::Channel};
use wbox_runtime::bundle::ImageSource;
use wbox_runtime::store::{Descriptor, Digest};
use wbox_runtime::{Error, Result};

/// The most of one blob the shim reads: a module far larger than any
/// wasm program is a damaged or hostile store.
const MAX_BLOB: usize = 1 << 30;

/// Container `id`'s image in containerd at `address`, namespace `namespace`.
pub struct ContainerImage<'a> {
    pub address: &'a str,
    pub namespace: &'a str,
    pub id: &'a str,
    connection: Option<(tokio::runtime::Runtime, Channel)>,
}

impl<'a> ContainerImage<'a> {
    pub fn new(address: &'a str, namespace: &'a str, id: &'a str) -> Self {
        ContainerImage { address, namespace, id, connection: None }
    }

    /// Connects on first use: a container whose program is in its root
    /// filesystem never asks.
    fn connection(&mut self) -> Result<&(tokio::runtime::Runtime, Channel)> {
        if self.connection.is_none() {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| Error::Internal(e.into()))?;
            let channel = runtime
                .block_on(containerd_client::connect(self.address))
                .map_err(|e| unreachable_containerd(self.address, e))?;
            self.connection = Some((runtime, channel));
        }
        Ok(self.connection.as_ref().expect("connected above"))
    }

    fn request<T>(&self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        if let Ok(namespace) = self.namespace.parse() {
            request.metadata_mut().insert("containerd-namespace", namespace);
        }
        request
    }
}

impl ImageSource for ContainerImage<'_> {
    fn target(&mut self) -> Result<Option<Descriptor>> {
        let container = self.request(GetContainerRequest { id: self.id.to_owned() });
        let (runtime, channel) = self.connection()?;
        let container = runtime
            .block_on(ContainersClient::new(channel.clone()).get(container))
            .map_err(|e| api_error("the container", e))?
            .into_inner()
            .container
            .unwrap_or_default();
        if container.image.is_empty() {
            return Ok(None);
        }
        let image = self.request(GetImageRequest { name: container.image.clone() });
        let (runtime, channel) = self.connection()?;
        let image = runtime
            .block_on(ImagesClient::new(channel.clone()).get(image))
            .map_err(|e| api_error(&format!("image {}", container.image), e))?
            .into_inner();
        let Some(target) = image.image.and_then(|i| i.target) else { return Ok(None) };
        Ok(Some(Descriptor {
            media_type: target.media_type,
            digest: Digest::parse(&target.digest)?,
            size: target.size.max(0) as u64,
            platform: None,
            annotations: Some(target.annotations.into_iter().collect()),
        }))
    }

    fn read(&mut self, digest: &Digest) -> Result<Vec<u8>> {
        let request = self.request(ReadContentRequest { digest: digest.to_string(), offset: 0, size: 0 });
        let (runtime, channel) = self.connection()?;
        runtime.block_on(async {
            let mut stream = ContentClient::new(channel.clone())
                .read(request)
                .await
                .map_err(|e| api_error(&format!("blob {digest}"), e))?
                .into_inner();
            let mut bytes = Vec::new();
            while let Some(chunk) =
                stream.message().await.map_err(|e| api_error(&format!("blob {digest}"), e))?
            {
                bytes.extend_from_slice(&chunk.data);
                if bytes.len() > MAX_BLOB {
                    return Err(Error::image(format!("blob {digest} is larger than {MAX_BLOB} bytes")));
                }
            }
            Ok(bytes)
        })
    }
}

fn unreachable_containerd(address: &str, e: impl std::fmt::Display) -> Error {
    Error::Internal(anyhow::anyhow!(
        "cannot reach containerd at {address} to read the container's image: {e}"
    ))
}

fn api_error(what: &str, status: tonic::Status) -> Error {
    Error::image(format!("containerd cannot give {what}: {}", status.message()))
}
