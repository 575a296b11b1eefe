# store_check DATA_DIR: prints every broken thing in a registry:2-layout
# store and fails if there is any: a blob whose bytes do not hash to its
# name, an empty or unparsable link, a link to a missing blob, a tag whose
# manifest revision is missing.
store_check() {
	local root=$1/docker/registry/v2 bad=0 f d c
	while IFS= read -r f; do
		d=$(basename "$(dirname "$f")")
		[ "$(sha256sum "$f" | cut -d' ' -f1)" = "$d" ] || { echo "partial blob: $f"; bad=1; }
	done < <(find "$root/blobs/sha256" -name data -type f 2>/dev/null)
	while IFS= read -r f; do
		c=$(cat "$f")
		case "$c" in
		sha256:????????????????????????????????????????????????????????????????) ;;
		*) echo "bad link ($c): $f"; bad=1; continue ;;
		esac
		[ -f "$root/blobs/sha256/${c:7:2}/${c:7}/data" ] || { echo "dangling link: $f"; bad=1; }
		case "$f" in
		*/_manifests/tags/*/current/link)
			local repo=${f#"$root/repositories/"}
			repo=${repo%%/_manifests/*}
			[ -f "$root/repositories/$repo/_manifests/revisions/sha256/${c:7}/link" ] ||
				{ echo "tag without revision: $f"; bad=1; } ;;
		esac
	done < <(find "$root/repositories" -name link -type f 2>/dev/null)
	return $bad
}
