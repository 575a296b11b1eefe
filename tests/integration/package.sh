#!/usr/bin/env bash
# Installing Berth as a new user would: `make install DESTDIR=… PREFIX=/usr`
# lays out the programs, units, sites, config, logrotate file and man pages
# (which render without a warning, and whose units systemd-analyze
# verifies); `make deb` builds a package lintian finds no error in; the
# package installs with dpkg (user, store, socket enabled, nothing
# started), serves /healthz and an authenticated /v2/ from what it
# installed, and removes and purges cleanly.
source "$(dirname "$0")/../lib.sh"
set -u
cd "$TOP"
R=$OUT/root
make -s install DESTDIR="$R" PREFIX=/usr SYSTEMDUNITDIR=/lib/systemd/system > "$OUT/install.log" 2>&1
eq "make install DESTDIR=… PREFIX=/usr succeeds" "$?" 0
missing=""
for f in usr/sbin/berth-fcgi usr/sbin/berth lib/systemd/system/berth.socket \
	lib/systemd/system/berth.service etc/berth/config.yml etc/logrotate.d/berth \
	etc/nginx/sites-available/berth etc/apache2/sites-available/berth.conf \
	usr/share/man/man8/berth.8 usr/share/man/man8/berth-fcgi.8 usr/share/man/man5/berth-config.5 \
	usr/share/doc/berth/README.md; do
	[ -e "$R/$f" ] || missing="$missing $f"
done
eq "it installs programs, units, config, sites, logrotate and man pages" "$missing" ""
check "the unit runs the installed program" grep -q '^ExecStart=/usr/sbin/berth-fcgi -c /etc/berth/config.yml$' "$R/lib/systemd/system/berth.service"
check "the Apache site names the installed program" grep -q 'FcgidWrapper "/usr/sbin/berth-fcgi' "$R/etc/apache2/sites-available/berth.conf"
check "the config is not world-readable (it names the htpasswd file)" test "$(stat -c %a "$R/etc/berth/config.yml")" = 640
for m in berth.8 berth-fcgi.8 berth-config.5; do
	sec=${m##*.}
	w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$R/usr/share/man/man$sec/$m" 2>&1 >/dev/null)
	eq "man --warnings renders $m without a warning" "$w" ""
done
LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$R/usr/share/man/man5/berth-config.5" 2>/dev/null | col -b > "$OUT/config.5.txt"
undoc=""
for k in $(sed -n 's/^| `\([a-z][a-z.]*\)`.*/\1/p' README.md | grep -E '^(log|storage|catalog|http|auth|access|berth)' ); do
	grep -q "$k" "$OUT/config.5.txt" || undoc="$undoc $k"
done
eq "berth-config(5) documents every key of the README's table" "$undoc" ""
# systemd-analyze verify wants the programs where the unit says: a copy
# of the units pointing into the install tree.
mkdir -p "$OUT/units"
sed "s|/usr/sbin/|$R/usr/sbin/|g; s|/etc/berth/|$R/etc/berth/|g" "$R/lib/systemd/system/berth.service" > "$OUT/units/berth.service"
cp "$R/lib/systemd/system/berth.socket" "$OUT/units/"
v=$(cd "$OUT/units" && MANPATH=$R/usr/share/man systemd-analyze verify ./berth.socket ./berth.service 2>&1 | grep -v '^$')
eq "systemd-analyze verify finds nothing wrong in the units" "$v" ""
make -s uninstall DESTDIR="$R" PREFIX=/usr SYSTEMDUNITDIR=/lib/systemd/system >/dev/null 2>&1
left=$(cd "$R" && find . -type f | grep -v '^./etc/' | sort | tr '\n' ' ')
eq "make uninstall removes what install wrote outside /etc" "$left" ""

# --- the package
dpkg -s berth >/dev/null 2>&1 && dpkg -P berth >/dev/null 2>&1
NEWSTORE=""; [ -e /var/lib/registry ] || NEWSTORE=1
make -s deb > "$OUT/deb.log" 2>&1
eq "make deb builds the package and lintian finds no error" "$?" 0
DEB=$(ls "$TOP"/build/deb/berth_*.deb 2>/dev/null | head -1)
check "there is a .deb" test -f "$DEB"
[ -f "$DEB" ] || exit 0
deps=$(dpkg-deb -f "$DEB" Depends)
check "its Depends come from the binaries (libfcgi, jansson, yaml, ssl, crypt): $deps" \
	bash -c "for l in libfcgi libjansson libyaml libssl libcrypt; do grep -q \$l <<<'$deps' || exit 1; done"
check "its conffiles are /etc/berth/config.yml and the others under /etc" \
	bash -c "dpkg-deb -e '$DEB' '$OUT/ctl' && grep -qx /etc/berth/config.yml '$OUT/ctl/conffiles' && ! grep -qv '^/etc/' '$OUT/ctl/conffiles'"
dpkg -i "$DEB" > "$OUT/dpkg-i.log" 2>&1
eq "dpkg -i installs it" "$?" 0
check "the system user berth exists" bash -c "getent passwd berth >/dev/null"
check "the store belongs to it" test "$(stat -c %U /var/lib/registry)" = berth
check "the socket is enabled" test -L /etc/systemd/system/sockets.target.wants/berth.socket
check "the service is not enabled (the socket starts it)" bash -c "! ls /etc/systemd/system/*.wants/berth.service 2>/dev/null | grep -q ."
check "and nothing was started" bash -c "! pgrep -f '^/usr/sbin/berth-fcgi' >/dev/null"

# Serve from what the package installed, as its units would: the socket
# handed over (systemd-socket-activate), as user berth, driven by cgi-fcgi.
printf 'pkg-secret\n' | /usr/sbin/berth user add pkguser > "$OUT/useradd.log" 2>&1
eq "berth user add works on the installed config" "$?" 0
install -d -o berth -g berth /run/berth
SOCK=/run/berth/test.sock
rm -f "$SOCK"
setpriv --reuid=berth --regid=berth --init-groups systemd-socket-activate -l "$SOCK" -- \
	/usr/sbin/berth-fcgi -c /etc/berth/config.yml -w 1 > "$OUT/pkg-serve.log" 2>&1 &
SPID=$!
for _ in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
chmod 666 "$SOCK" 2>/dev/null
fcgi() { # fcgi URI [AUTH]: one GET through cgi-fcgi
	env -i REQUEST_METHOD=GET REQUEST_URI="$1" SCRIPT_NAME="$1" QUERY_STRING= \
		SERVER_PROTOCOL=HTTP/1.1 ${2:+HTTP_AUTHORIZATION="$2"} \
		timeout 10 cgi-fcgi -bind -connect "$SOCK" 2>&1
}
fcgi /healthz > "$OUT/pkg-h.txt"
check "the installed pool answers /healthz 200" grep -q '^Status: 200' "$OUT/pkg-h.txt"
fcgi /v2/ "Basic $(printf pkguser:pkg-secret | base64)" > "$OUT/pkg-v2.txt"
check "and /v2/ for the user added with berth user add" grep -q '^Status: 200' "$OUT/pkg-v2.txt"
fcgi /v2/ > "$OUT/pkg-v2-anon.txt"
check "and 401 without credentials" grep -q '^Status: 401' "$OUT/pkg-v2-anon.txt"
kill -TERM "$SPID" 2>/dev/null
wait "$SPID" 2>/dev/null
check "its log is where the config says" test -s /var/log/berth/berth.log

dpkg -r berth > "$OUT/dpkg-r.log" 2>&1
eq "dpkg -r removes it" "$?" 0
check "the programs are gone" bash -c "! test -e /usr/sbin/berth-fcgi"
check "the configuration stays until purge" test -f /etc/berth/config.yml
dpkg -P berth > "$OUT/dpkg-p.log" 2>&1
eq "dpkg -P purges it" "$?" 0
check "nothing of it is left in /etc" bash -c "! test -e /etc/berth && ! test -e /etc/logrotate.d/berth && ! test -e /etc/nginx/sites-available/berth"
check "nor its socket's enablement" bash -c "! test -e /etc/systemd/system/sockets.target.wants/berth.socket"
check "the store (data) is kept" test -d /var/lib/registry
# This test's own leftovers on the machine (the package keeps the store).
[ -n "$NEWSTORE" ] && rm -rf /var/lib/registry
rm -rf /run/berth
