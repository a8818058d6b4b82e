//! Link the `berth` binary with packed relative relocations (DT_RELR, glibc 2.36 and binutils
//! 2.38 or later): the position-independent binary's 70,000 relative relocations take 14 KiB
//! instead of 1 MiB, which the loader otherwise reads at every start (peak RSS of
//! `run --rm` −1.1 MiB, measured here). The binary stays position-independent (ASLR).

fn main() {
    println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
}
