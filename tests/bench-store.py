#!/usr/bin/env python3
"""Writes a large store in registry:2's layout for make bench: REPOS
repositories team-XXX/app-YYYYY each with one tagged manifest, and one
repository big/tags with TAGS tags. Written directly on disk (pushing
100,000 repositories through HTTP would take the whole bench budget); the
same directory is then served by Berth and by registry:2."""
import hashlib, json, os, sys

root, repos, tags = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
v2 = os.path.join(root, "docker/registry/v2")

def blob(data):
    d = hashlib.sha256(data).hexdigest()
    p = os.path.join(v2, "blobs/sha256", d[:2], d)
    os.makedirs(p, exist_ok=True)
    with open(os.path.join(p, "data"), "wb") as f:
        f.write(data)
    return "sha256:" + d

def link(path, digest):
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "link"), "w") as f:
        f.write(digest)

cfg = blob(b"{}")
man = json.dumps({"schemaVersion": 2,
                  "mediaType": "application/vnd.oci.image.manifest.v1+json",
                  "config": {"mediaType": "application/vnd.oci.empty.v1+json",
                             "digest": cfg, "size": 2},
                  "layers": []}, separators=(",", ":")).encode()
m = blob(man)

def repo(name, tagnames):
    r = os.path.join(v2, "repositories", name)
    link(os.path.join(r, "_layers/sha256", cfg[7:]), cfg)
    link(os.path.join(r, "_manifests/revisions/sha256", m[7:]), m)
    for t in tagnames:
        link(os.path.join(r, "_manifests/tags", t, "current"), m)
        link(os.path.join(r, "_manifests/tags", t, "index/sha256", m[7:]), m)

for i in range(repos):
    repo("team-%03d/app-%05d" % (i % 1000, i), ["latest"])
repo("big/tags", ["v%05d" % i for i in range(tags)])
