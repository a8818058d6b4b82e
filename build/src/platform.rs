//! Builds for another platform (`build --platform linux/arm64`): whether the host can run
//! the platform's programs (natively, or through a qemu user emulator registered in
//! binfmt_misc with the fix-binary flag), and the platform written into an image config.
//!
//! The platform itself is `berth_registry::platform::Platform` (the one parser of
//! `os/arch[/variant]`, the one choice from a manifest list); a build targets
//! `BuildOptions::pull_options.platform`, so FROM pulls the same instance the build makes.
//! RUN needs nothing of its own: the kernel hands a foreign ELF to the registered emulator,
//! which the F flag opened at registration, so it runs inside any container's mount
//! namespace.

use std::path::Path;

use berth_registry::platform::Platform;
use oci_spec::image::{Arch, ImageConfiguration, Os};

/// Where the kernel lists binfmt_misc registrations.
pub const BINFMT_DIR: &str = "/proc/sys/fs/binfmt_misc";

/// An ELF machine as binfmt_misc's magic matches it: class (1 = 32-bit, 2 = 64-bit), data
/// (1 = little endian, 2 = big endian) and `e_machine`; with qemu's name for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Elf {
    class: u8,
    data: u8,
    machine: u16,
    qemu: &'static str,
}

/// The ELF machine of a Go architecture name (the names image configs use).
fn elf_of(arch: &str) -> Option<Elf> {
    let (class, data, machine, qemu) = match arch {
        "amd64" => (2, 1, 62, "x86_64"),
        "386" => (1, 1, 3, "i386"),
        "arm64" => (2, 1, 183, "aarch64"),
        "arm" => (1, 1, 40, "arm"),
        "ppc64le" => (2, 1, 21, "ppc64le"),
        "s390x" => (2, 2, 22, "s390x"),
        "riscv64" => (2, 1, 243, "riscv64"),
        "mips64le" => (2, 1, 8, "mips64el"),
        _ => return None,
    };
    Some(Elf {
        class,
        data,
        machine,
        qemu,
    })
}

/// Whether the host can run `platform`'s programs: its own architecture, or an enabled
/// binfmt_misc registration (in `binfmt_dir`) for the platform's ELF machine with the
/// fix-binary flag. Else one line naming what to install.
pub fn check_runnable(platform: &Platform, binfmt_dir: impl AsRef<Path>) -> Result<(), String> {
    let name = describe(platform);
    if platform.os != "linux" {
        return Err(format!(
            "platform {name}: only linux images can be built (the OS must be linux)"
        ));
    }
    let host = Platform::host();
    if platform.arch == host.arch {
        return Ok(());
    }
    let Some(elf) = elf_of(&platform.arch) else {
        return Err(format!(
            "platform {name}: unknown architecture {:?} (known: amd64, 386, arm64, arm, \
             ppc64le, s390x, riscv64, mips64le)",
            platform.arch
        ));
    };
    let install = format!(
        "install qemu-{q}-static from Debian's qemu-user-static and register it in \
         binfmt_misc with the F flag (scripts/deps.sh does for aarch64 and arm)",
        q = elf.qemu
    );
    let binfmt_dir = binfmt_dir.as_ref();
    match registration(binfmt_dir, elf) {
        Some(Registration { fix_binary: true }) => Ok(()),
        Some(Registration { fix_binary: false }) => Err(format!(
            "platform {name}: the binfmt_misc emulator for {} is registered without the \
             fix-binary flag F, so containers cannot reach it: {install}",
            platform.arch
        )),
        None => Err(format!(
            "platform {name}: no emulator for {} is registered in binfmt_misc \
             ({}): {install}",
            platform.arch,
            binfmt_dir.display()
        )),
    }
}

/// [`check_runnable`] where this process stands. Inside berth's rootless user namespace its
/// own /proc hides the host's binfmt_misc mount (the kernel still uses the host's
/// registrations to run foreign programs): there the front end checks before entering
/// (`check_runnable` on [`BINFMT_DIR`]) and this passes.
pub fn check_here(platform: &Platform) -> Result<(), String> {
    let hidden = !Path::new(BINFMT_DIR).join("status").exists();
    if hidden && berth_run::rootless::in_user_namespace() {
        return Ok(());
    }
    check_runnable(platform, BINFMT_DIR)
}

/// An enabled binfmt_misc entry for an ELF machine.
struct Registration {
    fix_binary: bool,
}

/// The enabled entry in `dir` whose magic matches `elf` (at offset 0), if any.
fn registration(dir: &Path, elf: Elf) -> Option<Registration> {
    let entries = std::fs::read_dir(dir).ok()?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name == "register" || name == "status" {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        if let Some(r) = parse_entry(&text, elf) {
            return Some(r);
        }
    }
    None
}

/// One binfmt_misc entry's text (`enabled`, `interpreter …`, `flags: F`, `offset 0`,
/// `magic 7f454c46…`) matched against `elf`.
fn parse_entry(text: &str, elf: Elf) -> Option<Registration> {
    let mut enabled = false;
    let mut flags = "";
    let mut offset = 0;
    let mut magic = None;
    for line in text.lines() {
        if line == "enabled" {
            enabled = true;
        } else if let Some(f) = line.strip_prefix("flags:") {
            flags = f.trim();
        } else if let Some(o) = line.strip_prefix("offset ") {
            offset = o.trim().parse().ok()?;
        } else if let Some(m) = line.strip_prefix("magic ") {
            magic = Some(hex(m.trim())?);
        }
    }
    let magic = magic?;
    if !enabled || offset != 0 || magic.len() < 20 || magic[..4] != *b"\x7fELF" {
        return None;
    }
    let machine = match magic[5] {
        2 => u16::from_be_bytes([magic[18], magic[19]]),
        _ => u16::from_le_bytes([magic[18], magic[19]]),
    };
    (magic[4] == elf.class && magic[5] == elf.data && machine == elf.machine).then(|| {
        Registration {
            fix_binary: flags.contains('F'),
        }
    })
}

fn hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Whether `target` is another platform than the host's (a build for it checks, stamps and
/// picks by platform; a native build keeps its base image's config as it is).
pub fn is_foreign(target: &Platform) -> bool {
    let host = Platform::host();
    target.os != host.os || target.arch != host.arch
}

/// `FROM --platform=P`: the build's own platform, or (for a native build) the native one.
pub fn check_from_flag(flag: &str, target: &Platform) -> Result<(), String> {
    if !is_foreign(target) {
        return check_platform(flag);
    }
    let p = Platform::choose(Some(flag), None, None, None).map_err(|e| e.to_string())?;
    if same(&p, target) {
        return Ok(());
    }
    Err(format!(
        "FROM --platform {flag:?} differs from the build's platform {}: one platform per build",
        describe(target)
    ))
}

/// Whether an image of platform `have` serves a build for `want`: same OS and architecture,
/// and the same variant where both name one.
pub fn same(have: &Platform, want: &Platform) -> bool {
    have.os == want.os
        && have.arch == want.arch
        && (have.variant.is_none() || want.variant.is_none() || have.variant == want.variant)
}

/// A platform where only the native one is served (the API's `/build`, FROM --platform in a
/// native build), in any spelling (`linux/x86_64`, upper case); a malformed one in Buildah's
/// words, others refused clearly. Empty: the native one.
pub fn check_platform(platform: &str) -> std::result::Result<(), String> {
    if platform.trim().is_empty() {
        return Ok(());
    }
    let host = Platform::host();
    for one in platform.split(',').map(str::trim) {
        // `choose` refuses an empty value or part, as Buildah's words below say.
        let p =
            Platform::choose(Some(one.trim_end_matches('/')), None, None, None).map_err(|_| {
                format!("invalid platform syntax for {one:?} (use OS/ARCH[/VARIANT][,...])")
            })?;
        if p.os != host.os || p.arch != host.arch {
            return Err(format!(
                "platform {one:?}: only the native platform {} can be built for now",
                describe(&host)
            ));
        }
    }
    Ok(())
}

/// The build's ARG scope: `--build-arg`s, and the `TARGET*` ARGs of a foreign platform.
pub(crate) fn scope(build_args: &[(String, String)], p: &Platform) -> crate::scope::Scope {
    let scope = crate::scope::Scope::new(build_args.to_vec());
    if !is_foreign(p) {
        return scope;
    }
    scope.with_target(&p.os, &p.arch, p.variant.as_deref())
}

/// `os/arch[/variant]`.
pub fn describe(p: &Platform) -> String {
    match &p.variant {
        Some(v) => format!("{}/{}/{v}", p.os, p.arch),
        None => format!("{}/{}", p.os, p.arch),
    }
}

/// Write `platform` into an image config (its `os`, `architecture`, `variant`), as Buildah
/// does for every image of a `--platform` build.
pub fn stamp(config: &mut ImageConfiguration, platform: &Platform) {
    config.set_os(Os::from(platform.os.as_str()));
    config.set_architecture(Arch::from(platform.arch.as_str()));
    config.set_variant(platform.variant.clone());
}

/// The platform an image config declares.
pub fn of_config(config: &ImageConfiguration) -> Platform {
    Platform {
        os: config.os().to_string(),
        arch: config.architecture().to_string(),
        variant: config.variant().clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AARCH64_F: &str = "enabled\ninterpreter /usr/local/lib/berth/qemu-aarch64-static\n\
        flags: F\noffset 0\nmagic 7f454c460201010000000000000000000200b700\n\
        mask ffffffffffffff00fffffffffffffffffeffffff\n";

    fn arm64() -> Platform {
        Platform::choose(Some("linux/arm64"), None, None, None).unwrap()
    }

    #[test]
    fn only_the_native_platform() {
        let native = format!("linux/{}", berth_image_store::import::host_arch());
        assert!(check_platform(&native).is_ok());
        assert!(check_platform(&format!("{native}/v8")).is_ok());
        let err = check_platform("linux/s390x").unwrap_err();
        assert!(err.contains("only the native platform"), "{err}");
        assert!(check_platform("windows/amd64").is_err());
    }

    #[test]
    fn an_f_registration_for_the_machine_serves() {
        let elf = elf_of("arm64").unwrap();
        assert!(parse_entry(AARCH64_F, elf).unwrap().fix_binary);
        assert!(parse_entry(AARCH64_F, elf_of("arm").unwrap()).is_none());
        let no_f = AARCH64_F.replace("flags: F", "flags: OC");
        assert!(!parse_entry(&no_f, elf).unwrap().fix_binary);
        let disabled = AARCH64_F.replace("enabled", "disabled");
        assert!(parse_entry(&disabled, elf).is_none());
    }

    #[test]
    fn a_big_endian_machine_is_read_big_endian() {
        let s390x = "enabled\nflags: F\noffset 0\n\
            magic 7f454c4602020100000000000000000000020016\n";
        assert!(parse_entry(s390x, elf_of("s390x").unwrap()).is_some());
    }

    #[test]
    fn without_an_emulator_one_line_names_what_to_install() {
        let empty = tempfile::tempdir().unwrap();
        let foreign = if Platform::host().arch == "arm64" {
            Platform::choose(Some("linux/amd64"), None, None, None).unwrap()
        } else {
            arm64()
        };
        let err = check_runnable(&foreign, empty.path()).unwrap_err();
        assert!(
            err.contains("qemu-user-static") && !err.contains('\n'),
            "{err}"
        );
        std::fs::write(empty.path().join("qemu-x"), AARCH64_F).unwrap();
        if foreign.arch == "arm64" {
            assert!(check_runnable(&foreign, empty.path()).is_ok());
        }
        assert!(check_runnable(&Platform::host(), empty.path()).is_ok());
        let windows = Platform::choose(Some("windows/amd64"), None, None, None).unwrap();
        assert!(check_runnable(&windows, empty.path()).is_err());
        let odd = Platform::choose(Some("linux/vax"), None, None, None).unwrap();
        assert!(check_runnable(&odd, empty.path())
            .unwrap_err()
            .contains("unknown architecture"));
    }
}
