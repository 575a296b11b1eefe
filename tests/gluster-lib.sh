# A GlusterFS volume for the tests and the bench (sourced): glusterd
# started by hand with its state in a scratch directory and listening on
# 127.0.0.1 only, a replica-2 volume from two bricks beside it, mounted
# twice with the FUSE client (host A's and host B's mount). Debian's
# glusterfs-server and glusterfs-client 10; root and /dev/fuse needed.
#
#   gluster_up DIR VOL   builds DIR/wd (glusterd's state), DIR/b1, DIR/b2,
#                        mounts DIR/mnt-a and DIR/mnt-b; 1 with
#                        GLUSTER_WHY set when it cannot
#   gluster_down         unmounts, stops and deletes the volume, stops
#                        glusterd; safe to call twice
#   brick_down VOL N / brick_up VOL / heal_wait VOL SECS / heal_done VOL

GLUSTER_DIR="" GLUSTER_VOL="" GLUSTER_WHY=""
GLUSTER_HOST=$(hostname)

gluster_version() { gluster --version 2>/dev/null | head -1; }
gl() { gluster --mode=script "$@"; }

# Unmounts whatever an earlier run left mounted under DIR.
gluster_unmount_under() {
	local m
	for m in $(awk -v d="$1/" 'index($2, d) == 1 { print $2 }' /proc/mounts); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
}

gluster_up() {
	local dir=$1 vol=$2 i
	GLUSTER_DIR=$dir GLUSTER_VOL=$vol
	[ "$(id -u)" = 0 ] || { GLUSTER_WHY="needs root (glusterd, mount)"; return 1; }
	[ -c /dev/fuse ] || { GLUSTER_WHY="/dev/fuse is missing: no FUSE, no GlusterFS client"; return 1; }
	for i in glusterd gluster mount.glusterfs; do
		command -v "$i" >/dev/null ||
			{ GLUSTER_WHY="$i is missing (apt-get install glusterfs-server glusterfs-client)"; return 1; }
	done
	getent hosts "$GLUSTER_HOST" | grep -q '^127\.' ||
		{ GLUSTER_WHY="the host name $GLUSTER_HOST does not resolve to a loopback address"; return 1; }
	# One glusterd per machine: one an earlier run left goes first; one
	# of anybody else's is a reason to stop.
	gluster_stop_glusterd
	pgrep -x glusterd >/dev/null &&
		{ GLUSTER_WHY="another glusterd runs on this machine (the test needs its port 24007)"; return 1; }
	mkdir -p "$dir/wd" "$dir/b1" "$dir/b2" "$dir/mnt-a" "$dir/mnt-b"
	cat > "$dir/glusterd.vol" <<EOF
volume management
    type mgmt/glusterd
    option working-directory $dir/wd
    option transport-type socket
    option transport.socket.bind-address 127.0.0.1
    option transport.socket.listen-port 24007
    option ping-timeout 0
    option event-threads 1
    option max-port 60999
end-volume
EOF
	glusterd -f "$dir/glusterd.vol" -p "$dir/glusterd.pid" -l "$dir/glusterd.log" ||
		{ GLUSTER_WHY="glusterd did not start (see $dir/glusterd.log)"; return 1; }
	for i in $(seq 1 50); do gl peer status >/dev/null 2>&1 && break; sleep 0.2; done
	# Two bricks on one host need "force" (gluster warns that a replica
	# on one host is no protection against losing the host).
	gl volume create "$vol" replica 2 "$GLUSTER_HOST:$dir/b1" "$GLUSTER_HOST:$dir/b2" force \
		> "$dir/create.log" 2>&1 || { GLUSTER_WHY="volume create: $(tail -1 "$dir/create.log")"; return 1; }
	# What Berth asks of a GlusterFS volume (docs/design.md): no client
	# cache of file attributes (md-cache) or small files' contents
	# (quick-read), which show another host's writes late. berth-fcgi
	# refuses to start without it.
	for o in performance.stat-prefetch performance.quick-read; do
		gl volume set "$vol" "$o" off > "$dir/set.log" 2>&1 ||
			{ GLUSTER_WHY="volume set $o: $(tail -1 "$dir/set.log")"; return 1; }
	done
	# Replica 2 without an arbiter: two clients renaming onto one name
	# at once can leave the replicas disagreeing (split brain); the
	# newer copy wins, as gluster's docs advise for such volumes.
	gl volume set "$vol" cluster.favorite-child-policy mtime > "$dir/set.log" 2>&1 ||
		{ GLUSTER_WHY="volume set favorite-child-policy: $(tail -1 "$dir/set.log")"; return 1; }
	gl volume start "$vol" > "$dir/start.log" 2>&1 ||
		{ GLUSTER_WHY="volume start: $(tail -1 "$dir/start.log")"; return 1; }
	for i in a b; do
		mount -t glusterfs "$GLUSTER_HOST:/$vol" "$dir/mnt-$i" 2> "$dir/mount-$i.log" ||
			{ GLUSTER_WHY="mount -t glusterfs: $(tail -1 "$dir/mount-$i.log")"; return 1; }
	done
	grep -q " $dir/mnt-b fuse.glusterfs " /proc/mounts ||
		{ GLUSTER_WHY="the volume is not mounted"; return 1; }
}

# Stops the glusterd of this scratch directory (one an earlier run left),
# with the volumes it has; a glusterd of anybody else is never touched.
gluster_stop_glusterd() {
	local pid v
	pid=$(pgrep -f "glusterd -f $GLUSTER_DIR/glusterd.vol" | head -1)
	[ -n "$pid" ] || return 0
	for v in $(gl volume list 2>/dev/null); do
		gl volume stop "$v" force >/dev/null 2>&1
		gl volume delete "$v" >/dev/null 2>&1
	done
	kill "$pid" 2>/dev/null
	for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null
	return 0
}

gluster_down() {
	[ -n "$GLUSTER_DIR" ] || return 0
	gluster_unmount_under "$GLUSTER_DIR"
	gl volume stop "$GLUSTER_VOL" force >/dev/null 2>&1
	gl volume delete "$GLUSTER_VOL" >/dev/null 2>&1
	gluster_stop_glusterd
	# Bricks and the self-heal daemon of a volume glusterd could not
	# stop (it died first) would outlive it.
	pkill -f "$GLUSTER_DIR/b[12]" 2>/dev/null
	pkill -f "volfile-id shd/$GLUSTER_VOL" 2>/dev/null
	GLUSTER_DIR=""
	return 0
}

# The pid of brick N's process (glusterfsd), from glusterd's status.
brick_pid() {
	gl volume status "$1" "$GLUSTER_HOST:$GLUSTER_DIR/b$2" --xml 2>/dev/null |
		sed -n 's:.*<pid>\([0-9]*\)</pid>.*:\1:p' | head -1
}
brick_down() { # brick_down VOL N: stops brick N's process (SIGTERM: it
	# gives its port back to glusterd, so the brick started again is
	# found by every client; after kill -9 the self-heal daemon kept
	# asking for the dead brick's port and healed nothing)
	local pid
	pid=$(brick_pid "$1" "$2")
	[ -n "$pid" ] && [ "$pid" != -1 ] || return 1
	kill -TERM "$pid"
	for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
	return 1
}
brick_up() { # brick_up VOL: glusterd starts the bricks that are down
	gl volume start "$1" force >/dev/null
}
heal_done() { # heal_done VOL: no entry left to heal on any brick
	local out
	out=$(gl volume heal "$1" info 2>/dev/null) || return 1
	[ -n "$out" ] && ! printf '%s\n' "$out" | grep -q 'Number of entries: [1-9]' &&
		! printf '%s\n' "$out" | grep -q 'Transport endpoint is not connected'
}
heal_wait() { # heal_wait VOL SECS: starts a heal and waits for it
	local end=$((SECONDS + $2))
	gl volume heal "$1" >/dev/null 2>&1
	while [ $SECONDS -lt $end ]; do
		heal_done "$1" && return 0
		sleep 1
	done
	return 1
}
