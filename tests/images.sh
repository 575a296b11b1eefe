# Builds the test images without a network (sourced by tests): a two-layer
# OCI image from Debian's busybox-static with umoci, and a two-platform OCI
# index made by hand over two such images. Sets IMG (an OCI layout with tags
# bb and multi).
make_images() {
	IMG=$OUT/img
	rm -rf "$IMG" "$OUT/bundle"
	umoci init --layout "$IMG" || return 1
	umoci new --image "$IMG:bb" || return 1
	umoci unpack --rootless --image "$IMG:bb" "$OUT/bundle" >/dev/null || return 1
	mkdir -p "$OUT/bundle/rootfs/bin"
	cp /bin/busybox "$OUT/bundle/rootfs/bin/"
	umoci repack --image "$IMG:bb" "$OUT/bundle" || return 1
	echo "second layer $(date +%s%N)" > "$OUT/bundle/rootfs/hello.txt"
	umoci repack --image "$IMG:bb" "$OUT/bundle" || return 1
	umoci config --image "$IMG:bb" --config.cmd /bin/busybox --config.cmd sh \
		--architecture amd64 --os linux || return 1
	# A second platform: the same rootfs plus one file, marked arm64.
	umoci new --image "$IMG:arm" || return 1
	rm -rf "$OUT/bundle2"
	umoci unpack --rootless --image "$IMG:arm" "$OUT/bundle2" >/dev/null || return 1
	mkdir -p "$OUT/bundle2/rootfs/bin"
	echo "arm64 build $(date +%s%N)" > "$OUT/bundle2/rootfs/platform.txt"
	umoci repack --image "$IMG:arm" "$OUT/bundle2" || return 1
	umoci config --image "$IMG:arm" --architecture arm64 --os linux || return 1
	# The index: both manifests with their platforms, tagged "multi".
	local amd arm idx d
	amd=$(jq -c '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="bb") | {mediaType,digest,size,platform:{architecture:"amd64",os:"linux"}}' "$IMG/index.json")
	arm=$(jq -c '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="arm") | {mediaType,digest,size,platform:{architecture:"arm64",os:"linux"}}' "$IMG/index.json")
	idx=$(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[%s,%s]}' "$amd" "$arm")
	printf '%s' "$idx" > "$OUT/index.tmp"
	d=$(sha256sum "$OUT/index.tmp" | cut -d' ' -f1)
	mv "$OUT/index.tmp" "$IMG/blobs/sha256/$d"
	jq --arg d "sha256:$d" --argjson s "$(stat -c %s "$IMG/blobs/sha256/$d")" \
		'.manifests += [{mediaType:"application/vnd.oci.image.index.v1+json",digest:$d,size:$s,annotations:{"org.opencontainers.image.ref.name":"multi"}}]' \
		"$IMG/index.json" > "$OUT/index.json" && mv "$OUT/index.json" "$IMG/index.json"
}
