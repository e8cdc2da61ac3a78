//! Compiles anypoll's C sources (every src/**/*.c of the repository this crate lives in; files
//! of another host compile to nothing) into libanypoll.a in OUT_DIR and links it whole
//! (+whole-archive: the drop-in's names are in even where nothing in the program's own objects
//! names them yet), unbundled (-bundle: the archive goes on the final link line itself, after
//! this crate and before libc). The file list is globbed, never listed, so the crate follows
//! the library's layout. ANYPOLL_SRC=DIR compiles another copy of the sources.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

fn c_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("anypoll-link: cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            c_files(&p, out);
        } else if p.extension().map_or(false, |x| x == "c") {
            out.push(p);
        }
    }
}

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = match env::var_os("ANYPOLL_SRC") {
        Some(dir) => PathBuf::from(dir),
        None => manifest.join("../../.."), // bindings/rust/anypoll-link -> the repository
    };
    let src = root.join("src");
    let mut files = Vec::new();
    c_files(&src, &mut files);
    if files.is_empty() {
        panic!("anypoll-link: no C sources under {}", src.display());
    }
    let target_os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if target_os != "linux" || !(arch == "x86_64" || arch == "aarch64") {
        // elsewhere the library makes no direct system calls and has no drop-in (sys.h)
        panic!("anypoll-link: the drop-in exists on Linux x86_64 and aarch64 only, not {arch}-{target_os}");
    }

    // The cc crate names an object after its source's file name alone when the source lies
    // outside the crate (src/engines/poll/engine.c and src/engines/win/engine.c would both be
    // engine.o): compile one wrapper per source, named after its path, that includes it.
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let wrappers = out.join("src");
    fs::create_dir_all(&wrappers).unwrap();
    let mut units = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap().to_string_lossy().replace('/', "__");
        let unit = wrappers.join(rel);
        let text = format!("#include \"{}\"\n", f.canonicalize().unwrap().display());
        if fs::read_to_string(&unit).ok().as_deref() != Some(text.as_str()) {
            fs::write(&unit, text).unwrap();
        }
        units.push(unit);
    }

    let mut build = cc::Build::new();
    build
        .files(&units)
        .include(root.join("include"))
        .include(&src)
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
    println!("cargo:rerun-if-env-changed=ANYPOLL_SRC");
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }
}
