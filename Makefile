# Berth: `make` builds, `make test` tests, `make run` / `make stop` run a
# local stack (nginx + spawn-fcgi + berth-fcgi) on https://localhost:$(PORT).
# Every target that needs Debian packages installs the missing ones first
# (apt-get, as root), so a fresh Debian 12 machine needs nothing by hand.

CC       ?= gcc
CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes
ALLFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS)
LIBS     := -ljansson -lyaml -lcrypto -lcrypt
B        ?= build

PORT      ?= 5000
DATA_DIR  ?= $(CURDIR)/var/data
WORKERS   ?= 4
SERVER    ?= nginx
export PORT DATA_DIR WORKERS SERVER REGISTRY_USER REGISTRY_PASSWORD

BUILD_DEPS := gcc make pkg-config libfcgi-dev libssl-dev libjansson-dev \
              libcrypt-dev libyaml-dev
RUN_DEPS   := nginx spawn-fcgi openssl curl ca-certificates
APACHE_DEPS := apache2 libapache2-mod-fcgid libapache2-mod-xsendfile
TEST_DEPS  := glusterfs-server glusterfs-client skopeo podman umoci busybox-static jq docker-registry apache2-utils docker-compose \
              python3 bc libfcgi-bin systemd man-db

CORE_SRC := $(wildcard core/*.c)
CORE_OBJ := $(CORE_SRC:%.c=$(B)/%.o)
FCGI_SRC := $(wildcard fcgi/*.c)
FCGI_OBJ := $(FCGI_SRC:%.c=$(B)/%.o)
UNIT_SRC := $(wildcard tests/unit/*.c)
CLI_SRC  := $(wildcard core/cli/*.c)
CLI_OBJ  := $(CLI_SRC:%.c=$(B)/%.o)

.PHONY: all deps deps-build deps-run deps-test test unit integration run stop \
        clean check-banned install uninstall deb

all: $(B)/berth-fcgi $(B)/berth $(B)/test-unit

# Installs only what is missing, so it is quick when nothing is.
define need
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "need root to apt-get install$$missing" >&2; exit 1; fi; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null \
	  || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null; }; \
	fi
endef

deps-build:
	$(call need,$(BUILD_DEPS))
deps-run: deps-build
	$(call need,$(RUN_DEPS) $(if $(filter apache,$(SERVER)),$(APACHE_DEPS)))
deps-test: deps-run
	$(call need,$(TEST_DEPS) $(APACHE_DEPS) $(DEB_DEPS) chromium)
	@command -v node >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm >/dev/null
	@[ -d tests/browser/node_modules/playwright-core ] || (cd tests/browser && npm install --no-audit --no-fund >/dev/null)

$(B)/core/%.o: core/%.c core/*.h | deps-build
	@mkdir -p $(@D)
	$(CC) $(ALLFLAGS) -c $< -o $@

$(B)/fcgi/%.o: fcgi/%.c fcgi/*.h core/*.h | deps-build
	@mkdir -p $(@D)
	$(CC) $(ALLFLAGS) -c $< -o $@

$(B)/libberth.a: $(CORE_OBJ)
	rm -f $@ && ar rcs $@ $^

$(B)/berth-fcgi: $(FCGI_OBJ) $(B)/libberth.a
	$(CC) $(ALLFLAGS) $(LDFLAGS) -o $@ $(FCGI_OBJ) $(B)/libberth.a -lfcgi $(LIBS)

# The operator's CLI: core/ and nothing else.
$(B)/berth: $(CLI_OBJ) $(B)/libberth.a
	$(CC) $(ALLFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJ) $(B)/libberth.a $(LIBS)

$(B)/test-unit: $(UNIT_SRC) tests/unit/*.h $(B)/libberth.a
	$(CC) $(ALLFLAGS) -o $@ $(UNIT_SRC) $(B)/libberth.a $(LIBS)

# Every .c file must include banned.h (after its other headers).
check-banned:
	@bad=$$(grep -L 'banned.h"' core/*.c core/cli/*.c fcgi/*.c); \
	if [ -n "$$bad" ]; then echo "missing banned.h: $$bad" >&2; exit 1; fi

unit: $(B)/test-unit
	$(B)/test-unit

test: deps-test check-banned all asan fuzz-build
	@bash tests/run.sh

run: deps-run all
	@bash nginx-conf/stack.sh start

stop:
	@bash nginx-conf/stack.sh stop $(if $(filter command line environment,$(origin PORT)),$(PORT),all)

clean:
	rm -rf $(B)

# --- sanitizers and fuzzers ---------------------------------------------
# An ASan/UBSan build of everything, used by `make test` for the unit tests
# and a share of the integration suite (tests/run.sh).
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
asan:
	$(MAKE) --no-print-directory B=build/asan CFLAGS="$(SAN_FLAGS)" all

# libFuzzer targets (clang), one per parser of client input. `make fuzz`
# runs each for FUZZ_SECONDS; `make test` runs each briefly.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := names manifest config state http snapshot
FUZZ_CC      := clang
FUZZ_FLAGS   := -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
fuzz-build: deps-build
	@command -v $(FUZZ_CC) >/dev/null || $(call need,clang)
	@mkdir -p build/fuzz
	@for t in $(FUZZ_TARGETS); do \
	  extra=""; [ $$t = http ] && extra="fcgi/http.c -lfcgi"; \
	  $(FUZZ_CC) $(FUZZ_FLAGS) -o build/fuzz/$$t tests/fuzz/fuzz_$$t.c $$extra $(CORE_SRC) $(LIBS) || exit 1; \
	done
fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p build/fuzz/corpus-$$t; \
	  echo "fuzz $$t ($(FUZZ_SECONDS)s)"; \
	  build/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -artifact_prefix=build/fuzz/$$t- build/fuzz/corpus-$$t tests/fuzz/corpus/$$t \
	    > build/fuzz/$$t.log 2>&1 || { tail -40 build/fuzz/$$t.log; exit 1; }; \
	  tail -1 build/fuzz/$$t.log; \
	done
.PHONY: asan fuzz fuzz-build

# A benchmark, not a test: Berth vs docker-registry vs nginx serving a file.
bench: deps-test all
	$(call need,wrk bc eatmydata)
	@bash tests/bench.sh
	@bash tests/bench-hosts.sh
.PHONY: bench

# The certificate (SAN localhost, 127.0.0.1 and COMPOSE_HOST) and one user
# for docker-compose.yml, in nginx-conf/compose/secrets/ (never committed).
COMPOSE_HOST ?= localhost
compose-secrets: deps-build $(B)/berth-fcgi $(B)/berth
	@$(call need,openssl)
	@d=nginx-conf/compose/secrets; mkdir -p $$d/tls; \
	if [ ! -s $$d/tls/cert.pem ]; then \
	  openssl req -x509 -newkey rsa:2048 -nodes -days 825 -sha256 -subj "/CN=$(COMPOSE_HOST)" \
	    -addext "subjectAltName=DNS:$(COMPOSE_HOST),DNS:localhost,IP:127.0.0.1" \
	    -keyout $$d/tls/key.pem -out $$d/tls/cert.pem 2>/dev/null && chmod 600 $$d/tls/key.pem; \
	  echo "certificate: $$d/tls/cert.pem (trust it on the clients)"; fi; \
	user=$${REGISTRY_USER:-admin}; pass=$${REGISTRY_PASSWORD:-$$(openssl rand -hex 12)}; \
	rm -f $$d/htpasswd; \
	printf '%s\n' "$$pass" | $(B)/berth user add -f $(CURDIR)/$$d/htpasswd "$$user" >/dev/null && chmod 644 $$d/htpasswd; \
	echo "user: $$user  password: $$pass"; \
	echo "now: docker compose up -d   (https://$(COMPOSE_HOST)/ is the UI)"
.PHONY: compose-secrets

# --- installing -----------------------------------------------------------
# make install [PREFIX=/usr/local] [DESTDIR=]: the programs, the systemd
# units, the man pages, an example /etc/berth/config.yml, the nginx and
# Apache sites and a logrotate file, with their paths set to PREFIX and
# SYSCONFDIR. Files under SYSCONFDIR that exist already are left alone (an
# operator's config is never overwritten).
PREFIX         ?= /usr/local
SBINDIR        ?= $(PREFIX)/sbin
MANDIR         ?= $(PREFIX)/share/man
DOCDIR         ?= $(PREFIX)/share/doc/berth
SYSCONFDIR     ?= /etc
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
INSTALL        ?= install
# The sites and units name these paths; install rewrites them.
SITE_SED := -e 's|/usr/local/sbin/berth-fcgi|$(SBINDIR)/berth-fcgi|g' \
            -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
            -e 's|/etc/berth/|$(SYSCONFDIR)/berth/|g'
define install_conf # SOURCE DEST MODE: unless DEST exists
	@if [ -e $(DESTDIR)$(2) ]; then echo "kept $(DESTDIR)$(2)"; else \
	  sed $(SITE_SED) $(1) > $(DESTDIR)$(2).tmp && chmod $(3) $(DESTDIR)$(2).tmp && \
	  mv $(DESTDIR)$(2).tmp $(DESTDIR)$(2); fi
endef
install: $(B)/berth-fcgi $(B)/berth
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(SYSTEMDUNITDIR) \
	  $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DOCDIR) \
	  $(DESTDIR)$(SYSCONFDIR)/berth $(DESTDIR)$(SYSCONFDIR)/logrotate.d \
	  $(DESTDIR)$(SYSCONFDIR)/nginx/sites-available $(DESTDIR)$(SYSCONFDIR)/apache2/sites-available
	$(INSTALL) -m 755 $(B)/berth-fcgi $(B)/berth $(DESTDIR)$(SBINDIR)/
	sed $(SITE_SED) systemd/berth.socket > $(DESTDIR)$(SYSTEMDUNITDIR)/berth.socket
	sed $(SITE_SED) systemd/berth.service.in > $(DESTDIR)$(SYSTEMDUNITDIR)/berth.service
	chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/berth.socket $(DESTDIR)$(SYSTEMDUNITDIR)/berth.service
	$(INSTALL) -m 644 man/berth.8 man/berth-fcgi.8 $(DESTDIR)$(MANDIR)/man8/
	$(INSTALL) -m 644 man/berth-config.5 $(DESTDIR)$(MANDIR)/man5/
	$(INSTALL) -m 644 README.md docs/design.md docs/spec-differences.md docs/performance.md $(DESTDIR)$(DOCDIR)/
	$(call install_conf,etc/config.yml,$(SYSCONFDIR)/berth/config.yml,640)
	$(call install_conf,etc/logrotate,$(SYSCONFDIR)/logrotate.d/berth,644)
	$(call install_conf,nginx-conf/berth.conf,$(SYSCONFDIR)/nginx/sites-available/berth,644)
	$(call install_conf,apache-conf/berth.conf,$(SYSCONFDIR)/apache2/sites-available/berth.conf,644)

# What install wrote, except the files under SYSCONFDIR (the operator's).
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/berth-fcgi $(DESTDIR)$(SBINDIR)/berth \
	  $(DESTDIR)$(SYSTEMDUNITDIR)/berth.socket $(DESTDIR)$(SYSTEMDUNITDIR)/berth.service \
	  $(DESTDIR)$(MANDIR)/man8/berth.8 $(DESTDIR)$(MANDIR)/man8/berth-fcgi.8 \
	  $(DESTDIR)$(MANDIR)/man5/berth-config.5
	rm -rf $(DESTDIR)$(DOCDIR)

# make deb: a Debian package from the committed tree (debian/), built with
# dpkg-buildpackage in build/deb/ (never in the checkout), then lintian.
DEB_DEPS := dpkg-dev debhelper fakeroot lintian
deb: deps-build
	$(call need,$(DEB_DEPS))
	rm -rf $(B)/deb && mkdir -p $(B)/deb/berth
	git ls-files -z | xargs -0 tar cf - | tar xf - -C $(B)/deb/berth
	cd $(B)/deb/berth && dpkg-buildpackage -us -uc -b >../build.log 2>&1 || { tail -30 ../build.log; exit 1; }
	lintian --fail-on error $(B)/deb/*.deb
	@ls $(B)/deb/*.deb
