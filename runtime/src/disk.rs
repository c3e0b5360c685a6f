//! What wbox's state takes on disk, as `docker system df` reports it:
//! images (a layer shared by several counted once), containers (their own
//! writable files), volumes and the build cache.

use std::collections::BTreeMap;
use std::path::Path;

use crate::Result;
use crate::build::CachedStep;
use crate::container::{self, Container, Containers};
use crate::filters::Filters;
use crate::image::{self, Summary};
use crate::store::{Descriptor, Digest, Store};
use crate::volume::{Volume, Volumes};

pub struct DiskUsage {
    pub images: Vec<ImageUsage>,
    /// What the images' layers take, each layer once.
    pub layers_size: u64,
    pub containers: Vec<(Container, u64)>,
    /// Each volume, its size, and how many containers use it.
    pub volumes: Vec<(Volume, u64, usize)>,
    /// Cached build steps, what each one's layer takes, and whether an
    /// image holds that layer too (removing the step would not free it).
    pub build_cache: Vec<(CachedStep, u64, bool)>,
}

impl ImageUsage {
    /// What its layers no other image holds take.
    pub fn unique(&self) -> u64 {
        self.size.saturating_sub(self.shared)
    }
}

pub struct ImageUsage {
    pub summary: Summary,
    pub size: u64,
    /// What its layers that other images share take.
    pub shared: u64,
    /// How many containers were made of it.
    pub containers: usize,
}

impl DiskUsage {
    pub fn of(root: &Path) -> Result<DiskUsage> {
        let store = Store::open(root)?;
        let containers = Containers::open(root)?.list()?;
        let summaries = image::summaries(&store, &Filters::default())?;
        // Each layer's size, and how many images hold it.
        let size_of = |l: &Descriptor| store.content_size(l).unwrap_or(l.size);
        let mut holders: BTreeMap<Digest, (u64, usize)> = BTreeMap::new();
        for summary in &summaries {
            // A layer an image lists twice is still one image's.
            let mut counted = std::collections::HashSet::new();
            for layer in summary.image.manifest.layers.iter().filter(|l| counted.insert(&l.digest)) {
                holders.entry(layer.digest.clone()).or_insert((size_of(layer), 0)).1 += 1;
            }
        }
        let layers_size = holders.values().map(|(size, _)| size).sum();
        let images = summaries
            .into_iter()
            .map(|summary| {
                let layers = &summary.image.manifest.layers;
                let shared =
                    layers.iter().map(|l| holders[&l.digest]).filter(|(_, n)| *n > 1).map(|(s, _)| s).sum();
                let made_of = |c: &&Container| c.config.spec.image_id == summary.image.manifest_digest;
                ImageUsage {
                    size: summary.image.size(&store),
                    shared,
                    containers: containers.iter().filter(made_of).count(),
                    summary,
                }
            })
            .collect();
        let volumes_dir = Volumes::open(root)?;
        let users = container::volume_users(root)?;
        let volumes = volumes_dir
            .list()?
            .into_iter()
            .map(|v| {
                let size = crate::root::disk_usage(&v.mountpoint);
                let links = users.get(&v.name).map_or(0, Vec::len);
                (v, size, links)
            })
            .collect();
        let containers = containers
            .into_iter()
            .map(|c| {
                let size = c.writable_size();
                (c, size)
            })
            .collect();
        let build_cache = crate::build::cache_entries(root, &store)
            .into_iter()
            .map(|step| {
                let size = size_of(&step.layer);
                let shared = holders.contains_key(&step.layer.digest);
                (step, size, shared)
            })
            .collect();
        Ok(DiskUsage { images, layers_size, containers, volumes, build_cache })
    }

    /// What the build cache's layers take, and what of it no image holds.
    pub fn build_cache_size(&self) -> (u64, u64) {
        let total = self.build_cache.iter().map(|(_, size, _)| size).sum();
        let own = self.build_cache.iter().filter(|(_, _, shared)| !shared).map(|(_, size, _)| size).sum();
        (total, own)
    }

    /// What removing the images no container uses would free: all but the
    /// layers only images in use hold.
    pub fn images_reclaimable(&self) -> u64 {
        let in_use: u64 = self.images.iter().filter(|i| i.containers > 0).map(ImageUsage::unique).sum();
        self.layers_size.saturating_sub(in_use)
    }
}
