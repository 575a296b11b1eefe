#!/usr/bin/env bash
# Starts and stops a local Berth stack on 127.0.0.1:$PORT: nginx (TLS, basic
# auth) in front of spawn-fcgi and a berth-fcgi worker pool, or, with
# SERVER=apache, Apache with mod_fcgid (apache-conf/berth.conf). Each stack
# has its own state directory var/stack-$PORT, so several can run side by
# side from one checkout. Used by `make run`/`make stop` and by the tests.
# Run as root, the registry processes run as www-data (Apache cannot run
# them as root at all), so a data directory can move between the two.
#
#   stack.sh start            uses PORT DATA_DIR WORKERS REGISTRY_USER
#                             REGISTRY_PASSWORD, BERTH_CONFIG (a config.yml
#                             to use instead of the generated one) and
#                             HTTP_PORT (an extra plain-HTTP listener)
#   stack.sh stop PORT|all
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
PORT=${PORT:-5000}
WORKERS=${WORKERS:-4}
DATA_DIR=${DATA_DIR:-$top/var/data}
REGISTRY_USER=${REGISTRY_USER:-berth}
QUIET=${QUIET:-}
SERVER=${SERVER:-nginx}
RUNAS=""
[ "$(id -u)" = 0 ] && RUNAS=www-data
bin=${BERTH_BIN:-$top/build/berth-fcgi}
cli=${BERTH_CLI:-$(dirname "$bin")/berth}

say() { [ -n "$QUIET" ] || echo "$@"; }

stop_one() {
	local s=$1 pid
	for f in nginx.pid berth.pid apache.pid; do
		[ -f "$s/$f" ] || continue
		pid=$(cat "$s/$f" 2>/dev/null || true)
		if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null || true
			for _ in $(seq 1 100); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.1
			done
			kill -KILL "$pid" 2>/dev/null || true
		fi
		rm -f "$s/$f"
	done
	rm -f "$s/berth.sock"
	say "stopped $(basename "$s")"
}

if [ "${1:-}" = stop ]; then
	which=${2:-all}
	shopt -s nullglob
	if [ "$which" = all ]; then
		for s in "$top"/var/stack-*; do stop_one "$s"; done
	elif [ -d "$top/var/stack-$which" ]; then
		stop_one "$top/var/stack-$which"
	fi
	exit 0
fi
[ "${1:-}" = start ] || { echo "usage: $0 start | stop PORT|all" >&2; exit 2; }
case "$SERVER" in nginx|apache) ;; *) echo "SERVER must be nginx or apache" >&2; exit 2 ;; esac

case "$DATA_DIR" in /*) ;; *) DATA_DIR=$PWD/$DATA_DIR ;; esac
s=$top/var/stack-$PORT
mkdir -p "$s/log" "$s/run" "$s/tmp" "$s/tls" "$DATA_DIR"
stop_one "$s" >/dev/null

# A self-signed certificate valid for localhost and 127.0.0.1.
if [ ! -s "$s/tls/cert.pem" ]; then
	openssl req -x509 -newkey rsa:2048 -nodes -days 825 -sha256 \
		-subj "/CN=localhost" \
		-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
		-keyout "$s/tls/key.pem" -out "$s/tls/cert.pem" 2>/dev/null
	chmod 600 "$s/tls/key.pem"
fi
# Clients that take a certificate directory (skopeo, podman, docker's
# certs.d) read CA certificates from *.crt files.
mkdir -p "$s/ca" && cp "$s/tls/cert.pem" "$s/ca/ca.crt"

# One user; the password is kept (0600) so a restart can print it again.
if [ -n "${REGISTRY_PASSWORD:-}" ]; then
	pass=$REGISTRY_PASSWORD
elif [ -s "$s/password" ] && [ "$(cat "$s/user" 2>/dev/null)" = "$REGISTRY_USER" ]; then
	pass=$(cat "$s/password")
else
	pass=$(openssl rand -hex 12)
fi
if [ -n "${REGISTRY_PASSWORD:-}" ] || [ "$(cat "$s/password" 2>/dev/null)" != "$pass" ] ||
	[ "$(cat "$s/user" 2>/dev/null)" != "$REGISTRY_USER" ] || [ ! -s "$s/htpasswd" ]; then
	( umask 077; printf '%s' "$pass" > "$s/password"; printf '%s' "$REGISTRY_USER" > "$s/user" )
	rm -f "$s/htpasswd.tmp"
	printf '%s\n' "$pass" | "$cli" user add -f "$s/htpasswd.tmp" "$REGISTRY_USER" >/dev/null
	mv "$s/htpasswd.tmp" "$s/htpasswd"
fi
# The web server's workers and Berth read it; nobody else.
if [ -n "$RUNAS" ]; then
	chgrp "$RUNAS" "$s/htpasswd" && chmod 640 "$s/htpasswd"
	# The registry's files belong to the user that runs it.
	[ "$(stat -L -c %U "$DATA_DIR")" = "$RUNAS" ] || chown -R "$RUNAS:$RUNAS" "$DATA_DIR/."
	chown "$RUNAS:$RUNAS" "$s/log" "$s/run"
fi

if [ -n "${BERTH_CONFIG:-}" ]; then
	cp "$BERTH_CONFIG" "$s/config.yml"
	# Tell Berth which server it is behind, unless the file says.
	grep -q '^berth:' "$s/config.yml" || printf 'berth:\n  webserver: %s\n' "$SERVER" >> "$s/config.yml"
else
	cat > "$s/config.yml" <<YML
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $DATA_DIR
  delete:
    enabled: true
auth:
  htpasswd:
    realm: Registry realm
    path: $s/htpasswd
berth:
  webserver: $SERVER
YML
fi

start_apache() {
	local mods=/usr/lib/apache2/modules m
	mkdir -p "$s/fcgid" "$s/htdocs"
	[ -n "$RUNAS" ] && chown "$RUNAS:$RUNAS" "$s/fcgid"
	# The site is apache-conf/berth.conf with its documented paths replaced.
	sed -e "s|<VirtualHost \\*:443>|<VirtualHost 127.0.0.1:$PORT>|" \
	    -e "s|/etc/berth/tls/|$s/tls/|g" \
	    -e "s|/etc/berth/htpasswd|$s/htpasswd|g" \
	    -e "s|/etc/berth/config.yml -w 0|$s/config.yml -w 0 -l $s/log/berth.log|" \
	    -e "s|/usr/local/sbin/berth-fcgi|$bin|" \
	    -e "s|/var/lib/registry/|${DATA_DIR%/}/|" \
	    "$top/apache-conf/berth.conf" > "$s/site.conf"
	{
		echo "ServerRoot $s"
		echo "PidFile $s/apache.pid"
		echo "Listen 127.0.0.1:$PORT"
		[ -n "${HTTP_PORT:-}" ] && echo "Listen 127.0.0.1:$HTTP_PORT"
		[ -n "$RUNAS" ] && printf 'User %s\nGroup %s\n' "$RUNAS" "$RUNAS"
		echo "ErrorLog $s/log/apache-error.log"
		echo "LogLevel warn"
		for m in mpm_event authz_core authz_host authz_user authn_core authn_file auth_basic \
			headers ssl socache_shmcb fcgid xsendfile; do
			echo "LoadModule ${m}_module $mods/mod_$m.so"
		done
		echo "DocumentRoot $s/htdocs"
		echo "ServerName localhost"
		echo 'LogFormat "%h %u %t \"%r\" %>s %b" common'
		echo "CustomLog $s/log/apache-access.log common"
		echo "SSLSessionCache shmcb:$s/ssl_scache(512000)"
		echo "FcgidIPCDir $s/fcgid"
		echo "FcgidProcessTableFile $s/fcgid/shm"
		echo "FcgidInitialEnv REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY $DATA_DIR"
		echo "FcgidInitialEnv REGISTRY_BERTH_RUNDIRECTORY $s/run"
		[ -n "${ASAN_OPTIONS:-}" ] && echo "FcgidInitialEnv ASAN_OPTIONS $ASAN_OPTIONS"
		[ -n "${UBSAN_OPTIONS:-}" ] && echo "FcgidInitialEnv UBSAN_OPTIONS $UBSAN_OPTIONS"
		echo "Include $s/site.conf"
		# The plain-HTTP listener, when asked for: the same /v2 without TLS.
		if [ -n "${HTTP_PORT:-}" ]; then
			echo "<VirtualHost 127.0.0.1:$HTTP_PORT>"
			# (to the end of <Location /v2>, the first Location of the site)
			sed -n '/AllowEncodedSlashes/,/<\/Location>/p' "$s/site.conf" | grep -v '^ *SSL'
			echo "</VirtualHost>"
		fi
	} > "$s/apache.conf"
	APACHE_LOG_DIR=$s/log apache2 -f "$s/apache.conf" -k start \
		|| { cat "$s/log/apache-error.log" >&2; stop_one "$s"; exit 1; }
}

start_nginx() {
	mkdir -p "$s/berth.d"
	# The site is nginx-conf/berth.conf with its documented paths replaced.
	# HTTP_PORT adds a plain-HTTP listener (an "insecure registry" for clients
	# that are told so, such as `docker manifest push --insecure`).
	plain=""
	[ -n "${HTTP_PORT:-}" ] && plain="\\n    listen 127.0.0.1:$HTTP_PORT;"
	sed -e "s|listen 443 ssl;|listen 127.0.0.1:$PORT ssl;$plain|" \
	    -e "s|/etc/berth/tls/|$s/tls/|g" \
	    -e "s|/etc/berth/htpasswd|$s/htpasswd|g" \
	    -e "s|unix:/run/berth/berth.sock|unix:$s/berth.sock|" \
	    -e "s|/var/lib/registry/|${DATA_DIR%/}/|" \
	    -e "s|include fastcgi_params;|include /etc/nginx/fastcgi_params;|" \
	    -e "s|include /etc/nginx/berth.d/|include $s/berth.d/|" \
	    -e "s|shared:berth_ssl:|shared:berth_ssl_$PORT:|" \
	    "$top/nginx-conf/berth.conf" > "$s/site.conf"
	cat > "$s/nginx.conf" <<-NGX
	$( [ -n "$RUNAS" ] && echo "user $RUNAS;" )
	worker_processes 2;
	pid $s/nginx.pid;
	error_log $s/log/nginx-error.log warn;
	events { worker_connections 1024; }
	http {
	    access_log $s/log/nginx-access.log;
	    client_body_temp_path $s/tmp/body;
	    fastcgi_temp_path $s/tmp/fastcgi;
	    proxy_temp_path $s/tmp/proxy;
	    uwsgi_temp_path $s/tmp/uwsgi;
	    scgi_temp_path $s/tmp/scgi;
	    include $s/site.conf;
	}
	NGX

	# The supervisor keeps its pid in run/ (written again by a successor
	# that takes over after it died); berth.pid is where everything looks.
	ln -sfn run/berth.pid "$s/berth.pid"
	REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=$DATA_DIR REGISTRY_BERTH_RUNDIRECTORY=$s/run \
		ASAN_OPTIONS=${ASAN_OPTIONS:-} \
		UBSAN_OPTIONS=${UBSAN_OPTIONS:-} spawn-fcgi -s "$s/berth.sock" -M 0660 \
		${RUNAS:+-u $RUNAS -g $RUNAS -U $RUNAS -G $RUNAS} -- \
		"$bin" -c "$s/config.yml" -w "$WORKERS" -l "$s/log/berth.log" -P "$s/run/berth.pid" \
		>"$s/log/spawn.log" 2>&1 || { cat "$s/log/spawn.log" >&2; exit 1; }
	nginx -e "$s/log/nginx-error.log" -c "$s/nginx.conf" -p "$s" \
		|| { stop_one "$s"; exit 1; }

}

if [ "$SERVER" = apache ]; then start_apache; else start_nginx; fi

for _ in $(seq 1 50); do
	code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$s/tls/cert.pem" \
		-u "$REGISTRY_USER:$pass" "https://localhost:$PORT/v2/" || true)
	[ "$code" = 200 ] && break
	sleep 0.1
done
if [ "$code" != 200 ]; then
	echo "the stack did not come up (GET /v2/ gave $code); logs in $s/log" >&2
	exit 1
fi

[ -n "$QUIET" ] && exit 0
cat <<EOT
Berth is running at https://localhost:$PORT  ($SERVER, data in $DATA_DIR)
  user:        $REGISTRY_USER
  password:    $pass
  certificate: $s/ca/ca.crt   (trust it, or pass it to your client)
  logs:        $s/log/

skopeo:
  skopeo copy --dest-cert-dir $s/ca --dest-creds $REGISTRY_USER:$pass \\
      oci:./my-image:latest docker://localhost:$PORT/my-image:latest
docker / podman:
  mkdir -p /etc/docker/certs.d/localhost:$PORT && cp $s/ca/ca.crt /etc/docker/certs.d/localhost:$PORT/
  docker login localhost:$PORT -u $REGISTRY_USER
  docker push localhost:$PORT/my-image:latest
Stop with: make stop PORT=$PORT
EOT
