# mk/static.mk — fully static programs with the drop-in linked in, one per libc (room: the
# drop-in); `make static-tests` (tests/check.d/33-static.sh builds and runs them; not in `all`).
#   $(BUILD)/static/glibc/conformance   the suite, gcc -static, glibc's libc.a, libanypoll.a
#   $(BUILD)/static/musl/conformance    the suite, musl-gcc -static, musl's libc.a,
#                                       $(BUILD)/musl/libanypoll.a (the library built by musl-gcc)
#   $(BUILD)/static/{glibc,musl}/echo   examples/echo.c written with the standard names
#                                       (tests/clients/glibc/anypoll.h), so only the drop-in
#                                       can bring anypoll to it
#   $(BUILD)/static/{glibc,musl}/syscall  tests/dropin/syscall.c: syscall() by number
# Each is linked by STATIC_LINK, the link line docs/dropin.md documents for its libc: the whole
# archive before libc, and a --defsym that refers to the marker the drop-in defines for the libc it
# was compiled for (anypoll_dropin_glibc / anypoll_dropin_musl), so that a link without the
# drop-in, or with the other libc's archive, fails instead of producing a program that runs on
# libc's epoll and the kernel's ENOSYS.

MUSL_CC     ?= musl-gcc
STATIC_DIR   = $(BUILD)/static
MUSL_BUILD   = $(BUILD)/musl
# musl-gcc searches only musl's headers; the library's Linux files also need the kernel's
# (asm/unistd.h, linux/*): Debian's linux-libc-dev ones, which depend on no libc.
MUSL_KINC    = $(MUSL_BUILD)/kernel-headers
MULTIARCH    = $(shell gcc -print-multiarch 2>/dev/null)

# STATIC_LINK CC ARCHIVE MARKER INPUTS... — the documented static link line
STATIC_LINK  = $(1) -static -o $@ $(4) -Wl,--whole-archive $(2) -Wl,--no-whole-archive \
               -Wl,--defsym=anypoll_guard=$(3) -pthread
STATIC_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) -O2 -g -pthread $(EXTRA_CFLAGS)

.PHONY: static-tests static-glibc static-musl clients-static
static-tests: static-glibc static-musl
# the static programs of `make demo`'s scoreboard (tests/demo.sh): the echo per libc, with the
# drop-in and (the controls of the "no anypoll" column) without it, and the Rust clients with and
# without anypoll-link
clients-static: $(STATIC_DIR)/glibc/echo $(STATIC_DIR)/musl/echo \
                $(STATIC_DIR)/glibc/echo-bare $(STATIC_DIR)/musl/echo-bare \
                clients-rust-static clients-rust-static-bare
static-glibc: $(STATIC_DIR)/glibc/conformance $(STATIC_DIR)/glibc/echo $(STATIC_DIR)/glibc/syscall
static-musl: $(STATIC_DIR)/musl/conformance $(STATIC_DIR)/musl/echo $(STATIC_DIR)/musl/syscall

$(MUSL_KINC):
	@$(call not_installed,musl-tools,command -v $(MUSL_CC))
	@mkdir -p $@
	ln -sfn /usr/include/linux $@/linux
	ln -sfn /usr/include/asm-generic $@/asm-generic
	ln -sfn /usr/include/$(MULTIARCH)/asm $@/asm

# The library as musl-gcc compiles it, by the main rules in its own build directory (a second
# make decides which objects are out of date there).
$(MUSL_BUILD)/libanypoll.a: $(LIB_SRC) $(LIB_HDR) include/anypoll.h | $(MUSL_KINC)
	@$(MAKE) --no-print-directory BUILD=$(MUSL_BUILD) CC=$(MUSL_CC) \
		EXTRA_CFLAGS="-isystem $(abspath $(MUSL_KINC))" $@

$(STATIC_DIR)/glibc/conformance: $(TEST_SRC) $(wildcard tests/*.h) $(BUILD)/libanypoll.a
	@mkdir -p $(dir $@)
	$(call STATIC_LINK,$(CC),$(BUILD)/libanypoll.a,anypoll_dropin_glibc,$(STATIC_CFLAGS) -Iinclude -Isrc -Itests $(TEST_SRC))

$(STATIC_DIR)/musl/conformance: $(TEST_SRC) $(wildcard tests/*.h) $(MUSL_BUILD)/libanypoll.a
	@mkdir -p $(dir $@)
	$(call STATIC_LINK,$(MUSL_CC),$(MUSL_BUILD)/libanypoll.a,anypoll_dropin_musl,$(STATIC_CFLAGS) -Iinclude -Isrc -Itests $(TEST_SRC))

$(STATIC_DIR)/glibc/echo: examples/echo.c tests/clients/glibc/anypoll.h $(BUILD)/libanypoll.a
	@mkdir -p $(dir $@)
	$(call STATIC_LINK,$(CC),$(BUILD)/libanypoll.a,anypoll_dropin_glibc,$(STATIC_CFLAGS) -Itests/clients/glibc $<)

$(STATIC_DIR)/musl/echo: examples/echo.c tests/clients/glibc/anypoll.h $(MUSL_BUILD)/libanypoll.a
	@mkdir -p $(dir $@)
	$(call STATIC_LINK,$(MUSL_CC),$(MUSL_BUILD)/libanypoll.a,anypoll_dropin_musl,$(STATIC_CFLAGS) -Itests/clients/glibc $<)

# the controls: the same echo linked static with no anypoll at all (libc's epoll, the kernel's
# ENOSYS under `anypoll nosys`): what the guard above prevents, built on purpose
$(STATIC_DIR)/glibc/echo-bare: examples/echo.c tests/clients/glibc/anypoll.h
	@mkdir -p $(dir $@)
	$(CC) -static -o $@ $(STATIC_CFLAGS) -Itests/clients/glibc $< -pthread

$(STATIC_DIR)/musl/echo-bare: examples/echo.c tests/clients/glibc/anypoll.h
	@$(call not_installed,musl-tools,command -v $(MUSL_CC))
	@mkdir -p $(dir $@)
	$(MUSL_CC) -static -o $@ $(STATIC_CFLAGS) -Itests/clients/glibc $< -pthread

$(STATIC_DIR)/glibc/syscall: tests/dropin/syscall.c $(BUILD)/libanypoll.a
	@mkdir -p $(dir $@)
	$(call STATIC_LINK,$(CC),$(BUILD)/libanypoll.a,anypoll_dropin_glibc,$(STATIC_CFLAGS) $<)

$(STATIC_DIR)/musl/syscall: tests/dropin/syscall.c $(MUSL_BUILD)/libanypoll.a
	@mkdir -p $(dir $@)
	$(call STATIC_LINK,$(MUSL_CC),$(MUSL_BUILD)/libanypoll.a,anypoll_dropin_musl,$(STATIC_CFLAGS) $<)

# Rust: the tokio + hyper clients of tests/clients/tokio and a reqwest client, linked with
# bindings/rust/anypoll-link and built +crt-static (tests/clients/rust-static; offline, Debian's
# crates). --target keeps +crt-static off build scripts and proc-macros; relocation-model=static
# makes a static executable rather than a static PIE; --defsym is the guard, as in C:
# a binary that does not name the crate (so rustc leaves it out) fails to link.
# tests/clients/rust-static/guard is such a binary: `make rust-static-guard` must fail.
RUST_TARGET      = $(shell uname -m)-unknown-linux-gnu
RUST_STATIC_BASE = -C target-feature=+crt-static -C relocation-model=static
RUST_STATIC_FLAGS = $(RUST_STATIC_BASE) -C link-arg=-Wl,--defsym=anypoll_guard=anypoll_dropin_glibc
# RUST_STATIC_BUILD DIR — cargo, offline and static, in DIR, into $(CLIENTS_DIR)/rust-static
RUST_STATIC_BUILD = cd $(1) && CARGO_TARGET_DIR=$(abspath $(CLIENTS_DIR))/rust-static \
                   RUSTFLAGS="$(RUST_STATIC_FLAGS)" \
                   "$(CARGO)" build --release --offline --locked --target $(RUST_TARGET)
RUST_STATIC_DIR  = $(CLIENTS_DIR)/rust-static/$(RUST_TARGET)/release
RUST_STATIC_SRC  = $(wildcard tests/clients/rust-static/src/bin/*.rs bindings/rust/anypoll-link/src/*.rs) \
                   tests/clients/rust-static/Cargo.toml tests/clients/rust-static/Cargo.lock \
                   tests/clients/rust-static/build.rs tests/clients/rust-static/.cargo/config.toml \
                   $(MAKEFILE_LIST) \
                   bindings/rust/anypoll-link/Cargo.toml bindings/rust/anypoll-link/build.rs \
                   $(TOKIO_SRC) $(LIB_SRC) $(LIB_HDR) include/anypoll.h

.PHONY: clients-rust-static
clients-rust-static: $(RUST_STATIC_DIR)/tokio-http

$(RUST_STATIC_DIR)/tokio-http: $(RUST_STATIC_SRC)
	@$(call not_installed,cargo,test -x "$(CARGO)")
	@$(call not_installed,librust-reqwest-dev,ls -d /usr/share/cargo/registry/reqwest-0.11.*)
	@$(call not_installed,librust-cc-dev,ls -d /usr/share/cargo/registry/cc-1.*)
	$(call RUST_STATIC_BUILD,tests/clients/rust-static)
	@touch $@

# The control: tests/clients/tokio (no anypoll-link) built +crt-static without the guard, into
# $(CLIENTS_DIR)/rust-static-bare: a static tokio program on libc's epoll alone (the scoreboard's
# "no anypoll" column; what the guard prevents, built on purpose).
RUST_STATIC_BARE_DIR = $(CLIENTS_DIR)/rust-static-bare/$(RUST_TARGET)/release
.PHONY: clients-rust-static-bare
clients-rust-static-bare: $(RUST_STATIC_BARE_DIR)/tokio-http

$(RUST_STATIC_BARE_DIR)/tokio-http: $(TOKIO_SRC)
	@$(call not_installed,cargo,test -x "$(CARGO)")
	cd tests/clients/tokio && CARGO_TARGET_DIR=$(abspath $(CLIENTS_DIR))/rust-static-bare \
		RUSTFLAGS="$(RUST_STATIC_BASE)" \
		"$(CARGO)" build --release --offline --locked --target $(RUST_TARGET)
	@touch $@

.PHONY: rust-static-guard
rust-static-guard:
	$(call RUST_STATIC_BUILD,tests/clients/rust-static/guard)
