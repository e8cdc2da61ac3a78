# anypoll — build, test, demo, install.
#   make              library (static + shared), the `anypoll` command, tests and examples
#   make check        every test (tests/check.sh): conformance suite on each target, natively,
#                     under nosys, ASan+UBSan, TSan, valgrind, and on aarch64 under qemu-user
#   make demo         build, then show the probe and the echo example with and without epoll
#   make install PREFIX=/usr/local
#   make deps         install what `make check` needs (Debian; `make check`/`demo` do it first)
# Build variants live in their own directories: BUILD=build/asan, build/aarch64, ...

CC      ?= cc
AR      ?= ar
BUILD   ?= build
PREFIX  ?= /usr/local
EXTRA_CFLAGS ?=
EXTRA_LDFLAGS ?=

WARN    = -Wall -Wextra -Werror
CFLAGS_ALL = -std=c11 -D_GNU_SOURCE $(WARN) -O2 -g -fPIC -pthread -Iinclude -Isrc $(EXTRA_CFLAGS)
LDFLAGS_ALL = -pthread $(EXTRA_LDFLAGS)

# src/<room>/*.c and src/engines/<engine>/*.c (src/README.md: which room is which). Files of
# another host family are wrapped in their own #ifdef and compile to nothing here.
LIB_SRC   = $(wildcard src/*/*.c src/*/*/*.c)
LIB_HDR   = $(wildcard src/*/*.h src/*/*/*.h)
LIB_OBJ   = $(LIB_SRC:src/%.c=$(BUILD)/obj/lib/%.o)
# The drop-in (src/dropin/: read, close, epoll_ctl... under their standard names) is in
# libanypoll.a/.so; libanypoll-prefixed.a leaves it out for what must keep reaching libc by
# those names: the suite's kernel target, the sanitizers' interceptors, the anypoll command.
PREFIXED_OBJ = $(filter-out $(BUILD)/obj/lib/dropin/%,$(LIB_OBJ))
TOOL_SRC  = $(wildcard tools/*.c)
TEST_SRC  = $(wildcard tests/*.c)
EX_SRC    = $(wildcard examples/*.c)
EXAMPLES  = $(EX_SRC:examples/%.c=$(BUILD)/examples/%)

.PHONY: all lib check demo deps install clean external
all: lib $(BUILD)/anypoll $(BUILD)/conformance $(EXAMPLES)
lib: $(BUILD)/libanypoll.a $(BUILD)/libanypoll.so $(BUILD)/libanypoll-prefixed.a

$(BUILD)/obj/lib/%.o: src/%.c $(LIB_HDR) include/anypoll.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -fvisibility=hidden -c $< -o $@

$(BUILD)/libanypoll.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/libanypoll-prefixed.a: $(PREFIXED_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

# soname libanypoll.so.0 (SOVERSION, with the install rules below); build/libanypoll.so is the
# library itself (what LD_PRELOAD names), build/libanypoll.so.0 the name programs linked to it load.
SONAME_FLAGS ?= -Wl,-soname,libanypoll.so.$(SOVERSION) # mk/macos.mk: Mach-O's install name
$(BUILD)/libanypoll.so: $(LIB_OBJ)
	$(CC) -shared $(SONAME_FLAGS) -o $@ $^ $(LDFLAGS_ALL)
	ln -sf libanypoll.so $(BUILD)/libanypoll.so.$(SOVERSION)

$(BUILD)/anypoll: $(TOOL_SRC) $(BUILD)/libanypoll-prefixed.a $(wildcard tools/*.h)
	$(CC) $(CFLAGS_ALL) -Itools -o $@ $(TOOL_SRC) $(BUILD)/libanypoll-prefixed.a $(LDFLAGS_ALL)

$(BUILD)/conformance: $(TEST_SRC) $(wildcard tests/*.h) $(BUILD)/libanypoll-prefixed.a
	$(CC) $(CFLAGS_ALL) -Itests -o $@ $(TEST_SRC) $(BUILD)/libanypoll-prefixed.a $(LDFLAGS_ALL)

$(BUILD)/examples/%: examples/%.c $(BUILD)/libanypoll-prefixed.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(BUILD)/libanypoll-prefixed.a $(LDFLAGS_ALL)

# check and demo first install their tools (scripts/deps.sh is quick when all are present),
# so they build in a second make: on a fresh machine the compiler may not exist yet.
check: deps
	bash tests/check.sh

demo:
	@bash scripts/deps.sh demo
	@$(MAKE) --no-print-directory all
	bash tests/demo.sh

deps:
	@bash scripts/deps.sh check

# other projects' own suites against the drop-in (scripts/external-suites.sh; not in check:
# it fetches Debian's sources of libuv and libevent and builds them)
external:
	@bash scripts/deps.sh external
	@$(MAKE) --no-print-directory all
	bash scripts/external-suites.sh

# make install [PREFIX=/usr/local] [DESTDIR=] [LIBDIR=$(PREFIX)/lib] ...: the libraries (the shared
# one as libanypoll.so.VERSION with its soname link libanypoll.so.0 and the link libanypoll.so
# that -lanypoll finds), anypoll.h, the anypoll command, the manual pages anypoll(1), anypoll(3)
# (with a link per function: man anypoll_epoll_ctl) and anypoll(7), and the pkg-config file and
# CMake package (find_package(anypoll): target anypoll::anypoll), both with these paths.
VERSION    = 0.1.0
SOVERSION  = 0
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR     ?= $(PREFIX)/share/man
MAN_FUNCS   = $(shell sed -n 's/^\.Nm \(anypoll_[a-z0-9_]*\).*/\1/p' man/anypoll.3)
INSTALL_SUBST = sed -e 's|@PREFIX@|$(PREFIX)|g; s|@LIBDIR@|$(LIBDIR)|g; s|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
                    -e 's|@VERSION@|$(VERSION)|g; s|@SOVERSION@|$(SOVERSION)|g' \
                    -e 's|@CMAKE_INCLUDE_REL@|$(shell realpath -m --relative-to=$(LIBDIR)/cmake/anypoll $(INCLUDEDIR))|g'

install: lib $(BUILD)/anypoll
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(LIBDIR)/cmake/anypoll $(DESTDIR)$(INCLUDEDIR) \
	    $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man7
	install -m 644 $(BUILD)/libanypoll.a $(BUILD)/libanypoll-prefixed.a $(DESTDIR)$(LIBDIR)/
	install -m 644 $(BUILD)/libanypoll.so $(DESTDIR)$(LIBDIR)/libanypoll.so.$(VERSION)
	ln -sf libanypoll.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libanypoll.so.$(SOVERSION)
	ln -sf libanypoll.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libanypoll.so
	install -m 644 include/anypoll.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 755 $(BUILD)/anypoll $(DESTDIR)$(BINDIR)/
	install -m 644 man/anypoll.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 man/anypoll.3 $(DESTDIR)$(MANDIR)/man3/
	install -m 644 man/anypoll.7 $(DESTDIR)$(MANDIR)/man7/
	for f in $(MAN_FUNCS); do ln -sf anypoll.3 $(DESTDIR)$(MANDIR)/man3/$$f.3; done
	$(INSTALL_SUBST) anypoll.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/anypoll.pc
	$(INSTALL_SUBST) cmake/anypollConfig.cmake.in > $(DESTDIR)$(LIBDIR)/cmake/anypoll/anypollConfig.cmake
	$(INSTALL_SUBST) cmake/anypollConfigVersion.cmake.in > \
	    $(DESTDIR)$(LIBDIR)/cmake/anypoll/anypollConfigVersion.cmake

clean:
	rm -rf build

# A feature with its own programs (benchmarks, fuzzers, client tests, cross builds) keeps its
# rules beside the main ones: mk/<feature>.mk.
include $(sort $(wildcard mk/*.mk))
