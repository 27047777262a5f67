# make bench / bench-quick: natterd, Prosody, ejabberd and natterd on lwIP side by side under
# build/bench (tools/bench/bench.py), in a network namespace of their own
# (tools/lwip-netns.sh). Installs the bench packages first (tools/deps.sh bench). Not part
# of make test. BENCH_ARGS passes more options, e.g. BENCH_ARGS=--servers=natterd,prosody.
BENCH_ARGS ?=

bench-deps:
	$(Q)bash tools/deps.sh bench

bench: bench-deps
	$(Q)$(MAKE) --no-print-directory all $(O)/natter-load
	$(Q)unshare -n bash tools/lwip-netns.sh $(PY) tools/bench/bench.py --build $(O) \
		$(BENCH_ARGS)

bench-quick: bench-deps
	$(Q)$(MAKE) --no-print-directory all $(O)/natter-load
	$(Q)unshare -n bash tools/lwip-netns.sh $(PY) tools/bench/bench.py --quick --build $(O) \
		$(BENCH_ARGS)

.PHONY: bench bench-quick bench-deps
