# amalgamation.mk — the library as one file (room: packaging; scripts/amalgamate.py):
#   make amalgamation   build/amalgamation/anypoll.c and anypoll.h, for a foreign build system
#                       (the cc crate, zig cc, cosmocc) that compiles one file
#   $(BUILD)/amalgamation/conformance   the suite built from that file alone (no -Isrc, no
#                       library archive; -DANYPOLL_NO_DROPIN, as the suite's kernel target must
#                       reach libc): `make check` step amalgamation-* runs it on every target
AMALGAMATION = $(BUILD)/amalgamation
AMALG_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) -O2 -g -pthread $(EXTRA_CFLAGS)

.PHONY: amalgamation
amalgamation: $(AMALGAMATION)/anypoll.c $(AMALGAMATION)/anypoll.h

$(AMALGAMATION)/anypoll.c: scripts/amalgamate.py $(LIB_SRC) $(LIB_HDR)
	@mkdir -p $(dir $@)
	python3 scripts/amalgamate.py $@

$(AMALGAMATION)/anypoll.h: include/anypoll.h
	@mkdir -p $(dir $@)
	cp $< $@

$(AMALGAMATION)/conformance: $(AMALGAMATION)/anypoll.c $(AMALGAMATION)/anypoll.h $(TEST_SRC) $(wildcard tests/*.h)
	$(CC) $(AMALG_CFLAGS) -DANYPOLL_NO_DROPIN -I$(AMALGAMATION) -Itests -o $@ $(TEST_SRC) $(AMALGAMATION)/anypoll.c $(LDFLAGS_ALL)
