# mk/fuzz.mk — the reliability programs of issue 4 (docs/reliability.md):
#   make fuzz-build   the differential fuzzer, the stress test, the fault injector (with $(CC))
#                     and, when clang is present, the libFuzzer harness $(BUILD)/fuzz/api_fuzz
#   make soak         long runs of all of them (tests/fuzz/soak.sh); figures on stdout
FUZZ_COMMON = tests/fuzz/common.c tests/helpers.c tests/target_kernel.c tests/target_anypoll.c
FUZZ_DEPS = $(FUZZ_COMMON) $(wildcard tests/*.h) $(BUILD)/libanypoll.a
FUZZ_CC ?= clang

.PHONY: fuzz-build fuzz-tools soak
fuzz-tools: $(BUILD)/fuzz/diff $(BUILD)/fuzz/stress $(BUILD)/fuzz/faults
fuzz-build: fuzz-tools
	@if command -v $(FUZZ_CC) >/dev/null; then $(MAKE) --no-print-directory $(BUILD)/fuzz/api_fuzz; \
	 else echo "fuzz-build: $(FUZZ_CC) not found, api_fuzz not built"; fi

$(BUILD)/fuzz/diff: tests/fuzz/diff.c $(FUZZ_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests -o $@ tests/fuzz/diff.c $(FUZZ_COMMON) $(BUILD)/libanypoll.a $(LDFLAGS_ALL)

$(BUILD)/fuzz/stress: tests/stress/stress.c $(FUZZ_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests -o $@ tests/stress/stress.c $(FUZZ_COMMON) $(BUILD)/libanypoll.a $(LDFLAGS_ALL)

$(BUILD)/fuzz/faults: tests/faults/faults.c $(FUZZ_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests -o $@ tests/faults/faults.c $(FUZZ_COMMON) $(BUILD)/libanypoll.a $(LDFLAGS_ALL)

# libFuzzer needs clang; the library is compiled again with the same instrumentation
# (coverage for the engine's branches, ASan+UBSan for its memory).
API_FUZZ_FLAGS = -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
$(BUILD)/fuzz/api_fuzz: tests/fuzz/api_fuzz.c $(FUZZ_COMMON) $(LIB_SRC) $(LIB_HDR) include/anypoll.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE $(WARN) -O1 -g -pthread -Iinclude -Isrc -Itests $(API_FUZZ_FLAGS) \
	    -o $@ tests/fuzz/api_fuzz.c $(FUZZ_COMMON) $(LIB_SRC)

soak: lib fuzz-build
	bash tests/fuzz/soak.sh $(BUILD)
