//! Compiles anypoll as one file — the amalgamation of the repository this crate lives in
//! (scripts/amalgamate.py, `make amalgamation`: every src/**/*.c, each under the condition it is
//! built with) — into libanypoll.a in OUT_DIR and links it whole (+whole-archive: the drop-in's
//! names are in even where nothing in the program's own objects names them yet), unbundled
//! (-bundle: the archive goes on the final link line itself, after this crate and before libc).
//! It needs python3 to write that file. ANYPOLL_SRC=DIR uses another copy of the repository.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = match env::var_os("ANYPOLL_SRC") {
        Some(dir) => PathBuf::from(dir),
        None => manifest.join("../../.."), // bindings/rust/anypoll-link -> the repository
    };
    let src = root.join("src");
    let target_os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if target_os != "linux" || !(arch == "x86_64" || arch == "aarch64") {
        // elsewhere the library makes no direct system calls and has no drop-in (sys.h)
        panic!("anypoll-link: the drop-in exists on Linux x86_64 and aarch64 only, not {arch}-{target_os}");
    }

    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let unit = out.join("anypoll.c");
    let python = env::var_os("PYTHON").unwrap_or_else(|| "python3".into());
    let status = Command::new(&python)
        .arg(root.join("scripts/amalgamate.py"))
        .arg(&unit)
        .status()
        .unwrap_or_else(|e| panic!("anypoll-link: cannot run {python:?} (needed to write the amalgamation): {e}"));
    if !status.success() {
        panic!("anypoll-link: scripts/amalgamate.py failed ({status})");
    }

    let mut build = cc::Build::new();
    build
        .file(&unit)
        .include(root.join("include"))
        .define("_GNU_SOURCE", None)
        .flag("-std=c11")
        .flag("-pthread")
        .flag("-fvisibility=hidden") // as the Makefile: only the drop-in's EXPORT names leave
        .warnings(false)
        .cargo_metadata(false); // linked below, with modifiers the cc crate does not give
    build.compile("anypoll");

    println!("cargo:rustc-link-search=native={}", out.display());
    println!("cargo:rustc-link-lib=static:+whole-archive,-bundle=anypoll");
    println!("cargo:rerun-if-changed={}", src.display());
    println!("cargo:rerun-if-changed={}", root.join("include").display());
    println!("cargo:rerun-if-changed={}", root.join("scripts/amalgamate.py").display());
    println!("cargo:rerun-if-env-changed=ANYPOLL_SRC");
}
