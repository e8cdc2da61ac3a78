# timers clients (tests/clients/timers/): libevent and libev programs that use timerfd and
# signalfd through the libraries' own epoll backends. They link the system's libevent/libev
# only, never anypoll: under `anypoll run --nosys` the drop-in serves them.
TIMERS_DIR     = $(BUILD)/clients/timers
TIMERS_CLIENTS = $(TIMERS_DIR)/levent_precise $(TIMERS_DIR)/libev_periodic \
                 $(TIMERS_DIR)/libev_signalfd $(TIMERS_DIR)/nosys_probe
TIMERS_CFLAGS  = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -g $(EXTRA_CFLAGS)

.PHONY: timers-clients
timers-clients: $(TIMERS_CLIENTS)

$(TIMERS_DIR)/levent_precise: tests/clients/timers/levent_precise.c tests/clients/timers/common.h
	@mkdir -p $(dir $@)
	$(CC) $(TIMERS_CFLAGS) -o $@ $< -levent $(EXTRA_LDFLAGS)

$(TIMERS_DIR)/libev_%: tests/clients/timers/libev_%.c tests/clients/timers/common.h
	@mkdir -p $(dir $@)
	$(CC) $(TIMERS_CFLAGS) -o $@ $< -lev -lm $(EXTRA_LDFLAGS)

$(TIMERS_DIR)/nosys_probe: tests/clients/timers/nosys_probe.c
	@mkdir -p $(dir $@)
	$(CC) $(TIMERS_CFLAGS) -o $@ $< $(EXTRA_LDFLAGS)
