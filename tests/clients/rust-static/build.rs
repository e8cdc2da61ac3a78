//! The tokio clients of tests/clients/tokio, unmodified, in this package: each file is copied
//! into OUT_DIR with its inner doc comments (`//!`, which `include!` cannot take) made plain
//! comments, for src/bin/tokio-*.rs to include after naming anypoll_link.

use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    for name in ["tokio-http", "tokio-echo"] {
        let src = format!("../tokio/src/bin/{name}.rs");
        println!("cargo:rerun-if-changed={src}");
        let text = fs::read_to_string(&src).unwrap_or_else(|e| panic!("{src}: {e}"));
        let plain: String = text
            .lines()
            .map(|l| l.strip_prefix("//!").map_or(l.to_string(), |rest| format!("//{rest}")))
            .collect::<Vec<_>>()
            .join("\n");
        fs::write(out.join(format!("{name}.rs")), plain).unwrap();
    }
}
