// Lists anypoll-link in Cargo.toml, never names it (no `use anypoll_link as _;`): rustc does
// not link it, so this program would run on libc's epoll. Its static link must fail.
fn main() {
    let fd = unsafe { libc_epoll_create1(0) };
    println!("epoll_create1: {}", fd);
}

extern "C" {
    #[link_name = "epoll_create1"]
    fn libc_epoll_create1(flags: i32) -> i32;
}
