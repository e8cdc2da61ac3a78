// tokio-echo: tests/clients/tokio/src/bin/tokio-echo.rs, unmodified (build.rs copies it), with anypoll's
// drop-in linked in by naming the crate (docs/dropin.md, "Rust").
use anypoll_link as _;
include!(concat!(env!("OUT_DIR"), "/tokio-echo.rs"));
