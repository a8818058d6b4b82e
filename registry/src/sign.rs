//! `berth image sign`: sign an image already in a registry. The manifest is fetched from the
//! endpoint registries.conf gives for a push of the name, and signed with
//! [`crate::signatures::sign_image`] (sigstore attachment and/or GPG lookaside), as a push
//! signs what it wrote.

use crate::config::RegistriesConf;
use crate::connect::ConnectOptions;
use crate::error::Result;
use crate::remote::Progress;
use crate::signatures::{sign_image, SignOptions};

/// Sign `reference` (`REGISTRY/NAME[:TAG|@DIGEST]`, no transport) with every key in `opts`.
/// Returns the digest of the manifest signed.
pub fn sign_pushed(
    reference: &str,
    connect: &ConnectOptions,
    conf: &RegistriesConf,
    opts: &SignOptions,
    progress: Progress<'_>,
) -> Result<berth_layers::Digest> {
    let reference = crate::reference::parse_docker(reference)?;
    let endpoint = conf.push_endpoint(&reference)?;
    let target = endpoint.reference;
    let client = connect.connect(target.registry(), &target.name(), endpoint.insecure)?;
    let manifest = client.get_manifest(target.repository(), &target.api_reference())?;
    sign_image(
        &client,
        target.repository(),
        &reference,
        &manifest.digest,
        opts,
        progress,
    )?;
    Ok(manifest.digest)
}
