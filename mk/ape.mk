# ape.mk — one Actually Portable Executable per program, built with a Cosmopolitan toolchain the
# user brings (room: packaging). From the single-file amalgamation (mk/amalgamation.mk):
#
#   make ape COSMO=DIR     an amalgamation-style toolchain (Cosmopolitan 2.x `make toolchain`):
#                          DIR/cosmopolitan.a, ape.lds, crt.o, ape-no-modify-self.o and its
#                          header tree as DIR/include, compiled with the system's gcc (APE_CC)
#                          and GNU ld
#   make ape COSMOCC=DIR   a cosmocc toolchain (DIR/bin/cosmocc, Cosmopolitan 3 and later)
#
# builds $(BUILD)/ape/anypoll.com, echo.com and conformance.com: each one file that runs on Linux
# (engine native), on Linux without epoll (engine poll) and on Windows (engine poll; see
# docs/windows.md, "Inside a Cosmopolitan APE"). No Cosmopolitan is in this repository, nor a
# recipe that builds it: CI has none, and README.md says what was run by hand and what it printed.
APE       = $(BUILD)/ape
APE_PROGS = $(APE)/anypoll.com $(APE)/echo.com $(APE)/conformance.com
APE_CC   ?= gcc
APE_OBJCOPY ?= objcopy
# -DANYPOLL_NO_DROPIN: the program is linked statically with Cosmopolitan's libc, whose read(),
# close()... the drop-in must not replace (the suite's kernel target needs them too).
APE_DEFS  = -std=gnu11 -D_GNU_SOURCE -DANYPOLL_NO_DROPIN $(WARN) -O2 -g
APE_SRC_anypoll     = $(TOOL_SRC)
APE_SRC_echo        = examples/echo.c
APE_SRC_conformance = $(TEST_SRC)
APE_INC_anypoll     = -Itools
APE_INC_conformance = -Itests

.PHONY: ape
ifneq ($(COSMO),)
# Cosmopolitan 2.x's toolchain files, and its header tree as DIR/include (the source tree's
# libc/, net/, third_party/: libc/isystem holds the standard names). Its single cosmopolitan.h
# is not used: it declares everything at once, its own epoll emulation's EPOLLIN and struct
# epoll_event among them, which anypoll.h defines itself.
APE_COSMO_FILES = cosmopolitan.a ape.lds crt.o ape-no-modify-self.o include/libc/isystem/stdio.h \
	include/libc/integral/normalize.inc
APE_MISSING = $(strip $(foreach f,$(APE_COSMO_FILES),$(if $(wildcard $(COSMO)/$(f)),,$(f))))
APE_CFLAGS = $(APE_DEFS) -static -nostdlib -nostdinc -fno-pie -no-pie -mno-red-zone \
	-fno-omit-frame-pointer -pg -mnop-mcount -mno-tls-direct-seg-refs -gdwarf-4 \
	-iquote $(COSMO)/include -isystem $(COSMO)/include -isystem $(COSMO)/include/libc/isystem \
	-include $(COSMO)/include/libc/integral/normalize.inc
APE_LINK = -fuse-ld=bfd -Wl,-T,$(COSMO)/ape.lds -Wl,--gc-sections -Wl,--build-id=none \
	$(COSMO)/crt.o $(COSMO)/ape-no-modify-self.o $(COSMO)/cosmopolitan.a

ape: ape-toolchain $(APE_PROGS)

.PHONY: ape-toolchain
ape-toolchain:
	@$(if $(APE_MISSING),echo "make ape: COSMO=$(COSMO) lacks $(APE_MISSING) (an amalgamation-style Cosmopolitan 2.x toolchain: cosmopolitan.a, ape.lds, crt.o, ape-no-modify-self.o, and its header tree as include/)" >&2; exit 2,true)

$(APE)/anypoll.com.dbg: $(APE_SRC_anypoll) $(wildcard tools/*.h)
$(APE)/echo.com.dbg: $(APE_SRC_echo)
$(APE)/conformance.com.dbg: $(APE_SRC_conformance) $(wildcard tests/*.h)
$(APE)/%.com.dbg: $(AMALGAMATION)/anypoll.c $(AMALGAMATION)/anypoll.h | ape-toolchain
	@mkdir -p $(APE)
	$(APE_CC) $(APE_CFLAGS) $(APE_INC_$*) -I$(AMALGAMATION) -o $@ $(APE_SRC_$*) $(AMALGAMATION)/anypoll.c $(APE_LINK)

$(APE)/%.com: $(APE)/%.com.dbg
	$(APE_OBJCOPY) -S -O binary $< $@
else ifneq ($(COSMOCC),)
ape: $(APE_PROGS)

$(APE)/anypoll.com: $(APE_SRC_anypoll) $(wildcard tools/*.h)
$(APE)/echo.com: $(APE_SRC_echo)
$(APE)/conformance.com: $(APE_SRC_conformance) $(wildcard tests/*.h)
$(APE)/%.com: $(AMALGAMATION)/anypoll.c $(AMALGAMATION)/anypoll.h
	@test -x $(COSMOCC)/bin/cosmocc || { echo "make ape: $(COSMOCC)/bin/cosmocc not found (COSMOCC=DIR: a cosmocc toolchain)" >&2; exit 2; }
	@mkdir -p $(APE)
	$(COSMOCC)/bin/cosmocc $(APE_DEFS) -pthread $(APE_INC_$*) -I$(AMALGAMATION) -o $@ $(APE_SRC_$*) $(AMALGAMATION)/anypoll.c
else
ape:
	@echo "make ape: no Cosmopolitan toolchain given. Use one of:" >&2
	@echo "  make ape COSMO=DIR     DIR holds cosmopolitan.a, ape.lds, crt.o, ape-no-modify-self.o, include/ (Cosmopolitan 2.x's headers)" >&2
	@echo "  make ape COSMOCC=DIR   DIR/bin/cosmocc (a cosmocc toolchain)" >&2
	@exit 2
endif
