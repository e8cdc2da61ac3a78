// tokio-http: tests/clients/tokio/src/bin/tokio-http.rs, unmodified (build.rs copies it), with anypoll's
// drop-in linked in by naming the crate (docs/dropin.md, "Rust").
use anypoll_link as _;
include!(concat!(env!("OUT_DIR"), "/tokio-http.rs"));
