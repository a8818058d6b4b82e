//! `system df`: what images, containers and volumes take, as Podman counts it. Images by
//! their uncompressed size (`Store::image_summary`, the number `images` and the API's
//! `system/df` show), split into what layers shared with another image take and what only
//! this one's take; containers by their writable layer (the snapshot's upper dir); volumes by
//! their files. Active: images some container uses, running containers, volumes some
//! container mounts.

use std::collections::HashMap;

use berth_image_store::summary::ImageSummary;
use berth_image_store::{tree_size, ImageRecord};

use crate::container::{Container, State};
use crate::engine::Engine;
use crate::error::Result;
use crate::volumes::{Volume, Volumes};

/// One image's use.
#[derive(Debug, Clone)]
pub struct ImageUsage {
    pub image: ImageRecord,
    /// Its `images` record (size uncompressed, labels, containers using it).
    pub summary: ImageSummary,
    /// Bytes of its layers that another image has too.
    pub shared_size: u64,
    /// Bytes of its layers no other image has.
    pub unique_size: u64,
}

/// One container's use.
#[derive(Debug, Clone)]
pub struct ContainerUsage {
    pub container: Container,
    /// Its writable layer's bytes.
    pub size: u64,
    /// Named volumes it mounts.
    pub volumes: usize,
}

/// One volume's use.
#[derive(Debug, Clone)]
pub struct VolumeUsage {
    pub volume: Volume,
    /// Containers mounting it.
    pub links: usize,
    pub size: u64,
}

/// Everything `system df` reports.
#[derive(Debug, Clone, Default)]
pub struct DiskUsage {
    pub images: Vec<ImageUsage>,
    pub containers: Vec<ContainerUsage>,
    pub volumes: Vec<VolumeUsage>,
}

/// A kind's line of `system df`: how many, how many active, bytes, bytes reclaimable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageTotals {
    pub total: usize,
    pub active: usize,
    pub size: u64,
    pub reclaimable: u64,
}

impl DiskUsage {
    /// Images: reclaimable is what no container's image takes.
    pub fn image_totals(&self) -> UsageTotals {
        totals(
            self.images
                .iter()
                .map(|i| (i.summary.containers > 0, i.summary.size)),
        )
    }

    /// Containers: reclaimable is what the stopped ones take.
    pub fn container_totals(&self) -> UsageTotals {
        totals(
            self.containers
                .iter()
                .map(|c| (c.container.state == State::Running, c.size)),
        )
    }

    /// Volumes: reclaimable is what no container mounts.
    pub fn volume_totals(&self) -> UsageTotals {
        totals(self.volumes.iter().map(|v| (v.links > 0, v.size)))
    }
}

fn totals(items: impl Iterator<Item = (bool, u64)>) -> UsageTotals {
    let mut t = UsageTotals {
        total: 0,
        active: 0,
        size: 0,
        reclaimable: 0,
    };
    for (active, size) in items {
        t.total += 1;
        t.size += size;
        if active {
            t.active += 1;
        } else {
            t.reclaimable += size;
        }
    }
    t
}

/// A container's sizes as `ps --size` shows them (Podman's `Size`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ContainerSize {
    /// Its writable layer.
    #[serde(rename = "rwSize")]
    pub rw: u64,
    /// Its whole root file system: the image, uncompressed, and the writable layer.
    #[serde(rename = "rootFsSize")]
    pub root_fs: u64,
}

impl Engine<'_> {
    /// The bytes of `c`'s writable layer (its snapshot's upper dir; 0 when it has none).
    pub fn container_rw_size(&self, c: &Container) -> u64 {
        self.container_snapshot(c)
            .map_or(0, |snap| tree_size(&snap.upper))
    }

    /// `c`'s sizes for `ps --size`.
    pub fn container_size(&self, c: &Container) -> Result<ContainerSize> {
        let rw = self.container_rw_size(c);
        let image = match &c.image_id {
            Some(id) => match self.store().lookup_image(id.as_ref()) {
                Ok(img) => self.store().uncompressed_size(&img)?,
                Err(_) => 0,
            },
            None => 0,
        };
        Ok(ContainerSize {
            rw,
            root_fs: image + rw,
        })
    }

    /// `system df`'s numbers for this store.
    pub fn disk_usage(&self) -> Result<DiskUsage> {
        let store = self.store();
        let containers = self.list()?;
        let mut per_image: HashMap<String, usize> = HashMap::new();
        for c in &containers {
            if let Some(id) = &c.image_id {
                *per_image.entry(id.to_string()).or_default() += 1;
            }
        }
        let images = store.list_images()?;
        let mut layers = Vec::new();
        let mut holders: HashMap<String, usize> = HashMap::new();
        for img in &images {
            let l = store.layer_sizes_by_chain(img)?;
            for (chain, _) in &l {
                *holders.entry(chain.to_string()).or_default() += 1;
            }
            layers.push(l);
        }
        let mut out = DiskUsage::default();
        for (img, l) in images.into_iter().zip(layers) {
            let count = per_image.get(&img.id.to_string()).copied().unwrap_or(0);
            let summary = store.image_summary(&img, count, true)?;
            let (mut shared, mut unique) = (0, 0);
            for (chain, size) in &l {
                if holders.get(&chain.to_string()).copied().unwrap_or(0) > 1 {
                    shared += size;
                } else {
                    unique += size;
                }
            }
            out.images.push(ImageUsage {
                unique_size: unique,
                shared_size: shared,
                image: img,
                summary,
            });
        }
        let mut links: HashMap<&str, usize> = HashMap::new();
        for c in &containers {
            for n in &c.options.named_volumes {
                *links.entry(n.as_str()).or_default() += 1;
            }
        }
        for v in Volumes::open(store.root())?.list()? {
            out.volumes.push(VolumeUsage {
                links: links.get(v.name.as_str()).copied().unwrap_or(0),
                size: tree_size(&v.mountpoint),
                volume: v,
            });
        }
        for c in &containers {
            let size = self.container_rw_size(c);
            out.containers.push(ContainerUsage {
                volumes: c.options.named_volumes.len(),
                size,
                container: c.clone(),
            });
        }
        Ok(out)
    }
}
