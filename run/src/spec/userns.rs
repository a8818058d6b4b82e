//! A user namespace of the container's own (`--userns keep-id`, `--uidmap`/`--gidmap`): the
//! spec's `user` namespace and id mappings, `/sys` bound from the host (the container's user
//! namespace does not own the network namespace berth made or shares), and for keep-id the
//! process run as the user.
//!
//! keep-id, rootless: berth's own namespace maps its 0 to the user and 1…65536 to the
//! subordinate range; the container's maps its uid U (the user's host uid) to berth's 0, its
//! 0…U-1 to berth's 1…U, and the ids above U to themselves, as Podman does. Files of the
//! user's on a bind mount are U's inside. Berth does not re-own the image's files for the
//! mapping (Podman copies the layers chowned): root's files of the image show as U's.

use oci_spec::runtime::{
    LinuxIdMapping, LinuxIdMappingBuilder, LinuxNamespaceBuilder, LinuxNamespaceType, Spec,
};

use crate::error::Result;
use crate::options::userns::{IdMap, UserNs};
use crate::options::RunOptions;
use crate::rootless::MAPPED_IDS;

/// The keep-id map of `id` in berth's namespace of ids `0..=MAPPED_IDS`.
pub fn keep_id_map(id: u32) -> Vec<IdMap> {
    let last = MAPPED_IDS as u32; // the highest id of berth's namespace
    let mut out = vec![IdMap {
        container: 0,
        host: 1,
        size: id.min(last),
    }];
    out.push(IdMap {
        container: id,
        host: 0,
        size: 1,
    });
    if id < last {
        out.push(IdMap {
            container: id + 1,
            host: id + 1,
            size: last - id,
        });
    }
    out.retain(|m| m.size > 0);
    out
}

fn mappings(maps: &[IdMap]) -> Result<Vec<LinuxIdMapping>> {
    maps.iter()
        .map(|m| {
            Ok(LinuxIdMappingBuilder::default()
                .container_id(m.container)
                .host_id(m.host)
                .size(m.size)
                .build()?)
        })
        .collect()
}

/// Give `spec` the user namespace `opts.userns` asks for (nothing when none).
pub fn apply(opts: &RunOptions, spec: &mut Spec) -> Result<()> {
    let Some(userns) = &opts.userns else {
        return Ok(());
    };
    let (uids, gids) = match userns {
        UserNs::KeepId => {
            let (uid, gid) = (crate::rootless::host_uid(), crate::rootless::host_gid());
            if opts.user.is_none() {
                if let Some(p) = spec.process_mut() {
                    let mut user = p.user().clone();
                    user.set_uid(uid);
                    user.set_gid(gid);
                    p.set_user(user);
                }
            }
            (keep_id_map(uid), keep_id_map(gid))
        }
        UserNs::Maps { uids, gids } => (uids.clone(), gids.clone()),
    };
    if let Some(mut linux) = spec.linux().clone() {
        let mut namespaces = linux.namespaces().clone().unwrap_or_default();
        namespaces.push(
            LinuxNamespaceBuilder::default()
                .typ(LinuxNamespaceType::User)
                .build()?,
        );
        linux.set_namespaces(Some(namespaces));
        linux.set_uid_mappings(Some(mappings(&uids)?));
        linux.set_gid_mappings(Some(mappings(&gids)?));
        spec.set_linux(Some(linux));
    }
    super::rootless::bind_host_sys(spec);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_id_maps_the_user_to_itself() {
        let m = |c, h, s| IdMap {
            container: c,
            host: h,
            size: s,
        };
        assert_eq!(
            keep_id_map(1000),
            [m(0, 1, 1000), m(1000, 0, 1), m(1001, 1001, 64536)]
        );
        assert_eq!(keep_id_map(70000), [m(0, 1, 65536), m(70000, 0, 1)]);
    }
}
