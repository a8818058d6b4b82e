# `make install` builds berth and installs it with its manual pages, shell completions and
# systemd units for the API service. PREFIX (default /usr/local) and DESTDIR as usual;
# BERTH names the binary `install-files` copies (default: the release build).
PREFIX ?= /usr/local
BERTH ?= target/release/berth
BIN_DIR = $(DESTDIR)$(PREFIX)/bin
MAN_DIR = $(DESTDIR)$(PREFIX)/share/man/man1
BASH_DIR = $(DESTDIR)$(PREFIX)/share/bash-completion/completions
ZSH_DIR = $(DESTDIR)$(PREFIX)/share/zsh/site-functions
FISH_DIR = $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
SYSTEMD_DIR = $(DESTDIR)$(PREFIX)/lib/systemd/system

.PHONY: build install install-files

build:
	cargo build --release

install: build install-files

install-files:
	install -D -m 0755 $(BERTH) $(BIN_DIR)/berth
	$(BERTH) generate-man-pages $(MAN_DIR)
	install -d $(BASH_DIR) $(ZSH_DIR) $(FISH_DIR) $(SYSTEMD_DIR)
	$(BERTH) completion bash -f $(BASH_DIR)/berth
	$(BERTH) completion zsh -f $(ZSH_DIR)/_berth
	$(BERTH) completion fish -f $(FISH_DIR)/berth.fish
	install -m 0644 contrib/systemd/berth.socket $(SYSTEMD_DIR)/
	sed 's|/usr/bin/berth|$(PREFIX)/bin/berth|' contrib/systemd/berth.service >$(SYSTEMD_DIR)/berth.service
