# mk/dropin.mk — programs that test the drop-in build (room: the drop-in); `make dropin-tests`
# (tests/check.d/29-dropin.sh builds them; not part of `all`, so sanitizer builds never link
# the drop-in over their own interceptors).
#   $(BUILD)/dropin/conformance-static  the conformance suite linked with libanypoll.a FIRST, so
#       that its kernel target's glibc names (read, close, epoll_ctl...) are the drop-in's: the
#       suite run with --target kernel then measures the statically linked drop-in.
#   $(BUILD)/dropin/rwloop              a read/write loop on a pipe through glibc's names, bare
#   $(BUILD)/dropin/rwloop-static       the same loop linked with libanypoll.a first
.PHONY: dropin-tests
dropin-tests: $(BUILD)/dropin/conformance-static $(BUILD)/dropin/rwloop $(BUILD)/dropin/rwloop-static

$(BUILD)/dropin/conformance-static: $(TEST_SRC) $(wildcard tests/*.h) $(BUILD)/libanypoll.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests -o $@ $(TEST_SRC) $(BUILD)/libanypoll.a $(LDFLAGS_ALL)

$(BUILD)/dropin/rwloop: tests/dropin/rwloop.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LDFLAGS_ALL)

$(BUILD)/dropin/rwloop-static: tests/dropin/rwloop.c $(BUILD)/libanypoll.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(BUILD)/libanypoll.a $(LDFLAGS_ALL)
