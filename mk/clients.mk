# mk/clients.mk — `make clients`: the real programs of tests/clients/ (the clients room), built
# into $(BUILD)/clients/. They use only their own libraries' APIs and glibc — never anypoll's —
# so that the drop-in (preloaded) is what carries them on a host without epoll.
#   uv_client     libuv (pkg-config libuv)            event_client  libevent (+ pthreads)
#   ev_client     libev (Debian ships no .pc: -lev)   kprobe        epoll + eventfd via glibc
#   echo-glibc    examples/echo.c on glibc alone (tests/clients/glibc/anypoll.h)
#   tokio/release/tokio-http, tokio-echo   cargo, offline, Debian's crates (tests/clients/tokio)
# Node.js needs no build. A missing library or toolchain stops the build with "not installed: X";
# tests/check.d/31-clients.sh and scripts/scoreboard.sh report each client on its own.

CLIENTS_DIR   = $(BUILD)/clients
CLIENT_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) -O2 -g -pthread $(EXTRA_CFLAGS)
CARGO        ?= $(shell command -v cargo 2>/dev/null || echo $(HOME)/.cargo/bin/cargo)
TOKIO_SRC     = $(wildcard tests/clients/tokio/src/bin/*.rs) tests/clients/tokio/Cargo.toml \
                tests/clients/tokio/Cargo.lock tests/clients/tokio/.cargo/config.toml

.PHONY: clients clients-c clients-tokio
clients: clients-c clients-tokio
clients-c: $(CLIENTS_DIR)/uv_client $(CLIENTS_DIR)/event_client $(CLIENTS_DIR)/ev_client \
           $(CLIENTS_DIR)/kprobe $(CLIENTS_DIR)/echo-glibc
clients-tokio: $(CLIENTS_DIR)/tokio/release/tokio-http

# not_installed WHAT TEST — stops the recipe with "not installed: WHAT" when TEST fails
not_installed = { $(2); } >/dev/null 2>&1 || { echo "not installed: $(1) (scripts/deps.sh check installs it)" >&2; exit 1; }

$(CLIENTS_DIR)/uv_client: tests/clients/libuv/uv_client.c
	@mkdir -p $(dir $@)
	@$(call not_installed,libuv1-dev,pkg-config --exists libuv)
	$(CC) $(CLIENT_CFLAGS) -o $@ $< $$(pkg-config --cflags --libs libuv) $(LDFLAGS_ALL)

$(CLIENTS_DIR)/event_client: tests/clients/libevent/event_client.c
	@mkdir -p $(dir $@)
	@$(call not_installed,libevent-dev,pkg-config --exists libevent libevent_pthreads)
	$(CC) $(CLIENT_CFLAGS) -o $@ $< $$(pkg-config --cflags --libs libevent libevent_pthreads) $(LDFLAGS_ALL)

$(CLIENTS_DIR)/ev_client: tests/clients/libev/ev_client.c
	@mkdir -p $(dir $@)
	@$(call not_installed,libev-dev,echo '#include <ev.h>' | $(CC) -E -x c - )
	$(CC) $(CLIENT_CFLAGS) -o $@ $< -lev $(LDFLAGS_ALL)

$(CLIENTS_DIR)/kprobe: tests/clients/glibc/kprobe.c
	@mkdir -p $(dir $@)
	$(CC) $(CLIENT_CFLAGS) -o $@ $< $(LDFLAGS_ALL)

$(CLIENTS_DIR)/echo-glibc: examples/echo.c tests/clients/glibc/anypoll.h
	@mkdir -p $(dir $@)
	$(CC) $(CLIENT_CFLAGS) -Itests/clients/glibc -o $@ $< $(LDFLAGS_ALL)

# cargo reads tests/clients/tokio/.cargo/config.toml (the Debian directory source) only when
# run from there; the build goes to $(BUILD)/clients/tokio, nothing into the source tree.
$(CLIENTS_DIR)/tokio/release/tokio-http: $(TOKIO_SRC)
	@$(call not_installed,cargo,test -x "$(CARGO)")
	@$(call not_installed,librust-tokio-dev,test -d /usr/share/cargo/registry/tokio-1.24.2 || ls -d /usr/share/cargo/registry/tokio-1.*)
	@$(call not_installed,librust-hyper-dev,ls -d /usr/share/cargo/registry/hyper-0.14.*)
	cd tests/clients/tokio && CARGO_TARGET_DIR=$(abspath $(CLIENTS_DIR))/tokio \
		"$(CARGO)" build --release --offline --locked
	@touch $@
