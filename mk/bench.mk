# mk/bench.mk — the benchmarks (issue 5): `make bench` writes docs/performance.md and
# docs/perf/*.png; `make bench-quick` is a spot check of the same pipeline (about 2 minutes);
# `make bench-programs` only builds build/bench/*. Linux only: the contenders include glibc's
# epoll, libevent and libev (installed by `scripts/deps.sh bench`).
#   BENCH_ARGS=...   extra options for scripts/bench-report (e.g. --runs 7, --only idle)

BENCH_SRC   = $(filter-out bench/harness%,$(wildcard bench/*.c))
BENCH_PROGS = $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
# libevent is linked statically: libev's shared library also exports libevent's event_*
# compatibility names, and the executable's own definitions must be the ones that win.
BENCH_LIBS  = -Wl,-Bstatic -levent_core -levent_pthreads -Wl,-Bdynamic -lev -lm

.PHONY: bench bench-quick bench-programs
# libanypoll.so: `anypoll run` (workloads 6 and 7) preloads it from beside the anypoll command
bench-programs: $(BENCH_PROGS) $(BUILD)/anypoll $(BUILD)/libanypoll.so

# Linked with libanypoll-prefixed.a (no drop-in): with libanypoll.a the drop-in's epoll_wait,
# read and write would take the place of glibc's, and the `epoll` contender would measure
# anypoll's native engine instead of glibc (the anypoll contenders call anypoll_* by name).
$(BUILD)/bench/%: bench/%.c $(wildcard bench/harness*) $(BUILD)/libanypoll-prefixed.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Ibench -o $@ $< $(filter bench/harness%.c,$(wildcard bench/*.c)) $(BUILD)/libanypoll-prefixed.a $(BENCH_LIBS) $(LDFLAGS_ALL)

# The tools are installed first, then the programs are built in a second make (see `check`).
bench:
	@bash scripts/deps.sh bench
	@$(MAKE) --no-print-directory bench-programs
	/usr/bin/python3 scripts/bench-report --build $(BUILD) $(BENCH_ARGS)

bench-quick:
	@bash scripts/deps.sh bench
	@$(MAKE) --no-print-directory bench-programs
	/usr/bin/python3 scripts/bench-report --quick --build $(BUILD) $(BENCH_ARGS)
