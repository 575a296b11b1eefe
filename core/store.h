/*
 * store: the on-disk registry, in exactly CNCF Distribution's layout, so a
 * data directory moves between registry:2 and Berth unchanged. This module
 * (store.c, store_walk.c) is the only code that knows the layout: every
 * other module names things (a repository, a tag, a digest, an upload id)
 * and gets typed answers or iterations back.
 *
 *   <root>/docker/registry/v2/blobs/<alg>/<2 hex>/<hex>/data
 *   <root>/docker/registry/v2/repositories/<name>/
 *       _layers/<alg>/<hex>/link                  "alg:hex" of a blob
 *       _manifests/revisions/<alg>/<hex>/link     "alg:hex" of a manifest
 *       _manifests/tags/<tag>/current/link        what the tag points at
 *       _manifests/tags/<tag>/index/<alg>/<hex>/link   every value it had
 *       _uploads/<id>/{data,startedat,berthstate} an upload in progress
 *       _referrers/<alg>/<subject hex>/<alg>-<hex> a referrer's descriptor
 *   <root>/docker/registry/v2/_berth/             Berth's own files
 *
 * Durability: nothing is written in place. A file appears under its name
 * only complete and durable: written to a temp file, fsync'd, then renamed
 * (links) or hard-linked (blobs, so an existing blob is never replaced),
 * and the directory is fsync'd. A blob is durable before any link names
 * it, a manifest before any tag. So a crash leaves at worst a stray
 * ".tmp-*" file, never a short blob or an empty link, and concurrent
 * writers of the same content on any number of hosts converge.
 *
 * Answers: a function that looks something up returns 1 (there), 0
 * (absent: that very item does not exist) or -1 (could not tell: I/O
 * error, a damaged link, a directory where a file should be), with e
 * filled only for -1; see fsutil.h. Writers return 0 or -1. Iterators
 * call fn for each item; fn returns 0 to go on, >0 to stop (returned as
 * is) or -1 to fail (returned, e filled by fn); an unreadable directory on
 * the way is -1, an absent one holds no items.
 *
 * Every path is built from an opened store: on one that store_open() did
 * not open, every call fails (never a path relative to the current
 * directory). Callers pass only validated names, tags and digests (see
 * name.h, digest.h).
 */
#ifndef BERTH_STORE_H
#define BERTH_STORE_H

#include <sys/types.h>
#include <time.h>
#include "buf.h"
#include "digest.h"
#include "err.h"
#include "strlist.h"

struct store {
	char *root;    /* <rootdirectory>/docker/registry/v2; NULL: not open */
	char *rootdir; /* the rootdirectory itself */
};

enum store_link_kind { STORE_LAYER, STORE_REVISION };

/* Opens (creating if needed) the store under an absolute rootdirectory. */
int store_open(struct store *st, const char *rootdirectory, struct err *e);
void store_close(struct store *st);
/* Probes the store's filesystem (fsprobe.h) in _berth/tmp: 0 when it
 * does all the store relies on, -1 with e saying what it lacks. type gets
 * the filesystem's name, for the start-up log line. */
int store_check_fs(const struct store *st, char *type, size_t typelen,
		   struct err *e);

/* <root>/_berth/<sub>: a file or directory of Berth's own. Each has one
 * owner: catalog* (catalog.c), purge.stamp (gc.c), tmp, quarantine and
 * tags/ (this module: the tag snapshots). */
int store_berth_path(const struct store *st, const char *sub, struct buf *out,
		     struct err *e);

/* ---- blobs ---- */

enum store_path_base { STORE_PATH_ABSOLUTE, STORE_PATH_FROM_ROOTDIR };
/* The blob's data file, for a web server to send: absolute, or relative
 * to the rootdirectory (what nginx's internal location maps). */
int store_blob_path(const struct store *st, const struct digest *d,
		    enum store_path_base base, struct buf *out, struct err *e);
/* 1 with the size, 0 absent, -1. */
int store_blob_stat(const struct store *st, const struct digest *d,
		    off_t *size, struct err *e);
/* Reads a whole blob of at most max bytes (ERR_TOO_LARGE beyond): 1, 0, -1. */
int store_blob_read(const struct store *st, const struct digest *d,
		    size_t max, struct buf *out, struct err *e);
/* Stores data (which must hash to d) as a blob. */
int store_blob_put(const struct store *st, const struct digest *d,
		   const void *data, size_t len, struct err *e);
/* Sets the blob's mtime to now (see store_link_touch): 1, 0, -1. */
int store_blob_touch(const struct store *st, const struct digest *d,
		     struct err *e);

/* An open blob, for a worker that sends the bytes itself. */
struct store_blob_file {
	int fd;
	off_t size;
};
int store_blob_open(const struct store *st, const struct digest *d,
		    struct store_blob_file *f, struct err *e);
/* Up to len bytes at off: the count (0 at the end), or -1. */
long store_blob_pread(const struct store_blob_file *f, void *buf, size_t len,
		      off_t off, struct err *e);
void store_blob_file_close(struct store_blob_file *f);

/* The digest (alg of d) of the blob's bytes: 1, 0 absent, -1. */
int store_blob_hash(const struct store *st, const struct digest *d,
		    struct digest *got, struct err *e);
/* Moves the blob aside to _berth/quarantine/ (never deletes it); where
 * says where it went, relative to the store's root. */
int store_blob_quarantine(const struct store *st, const struct digest *d,
			  struct buf *where, struct err *e);
/* Removes the blob unless it was touched within grace seconds of now
 * (fsutil's fs_remove_aside): 1 removed, 0 kept or gone, -1. */
int store_blob_remove_idle(const struct store *st, const struct digest *d,
			   double grace, time_t now, int dry_run, struct err *e);
/* Every blob directory: fn gets its digest, or d NULL and the name (from
 * the root) of an entry in blobs/ that is no digest. */
int store_each_blob(const struct store *st,
		    int (*fn)(void *ctx, const struct digest *d, const char *stray),
		    void *ctx, struct err *e);

/* ---- links of a repository ---- */

/* 1 when the repository links d and the blob exists, 0 when either is
 * absent, -1 (a link that names another digest is damaged: -1). */
int store_link_exists(const struct store *st, const char *name,
		      enum store_link_kind kind, const struct digest *d,
		      struct err *e);
/* store_link_exists() that also gives the blob's size (one stat, not two,
 * on the path of every blob HEAD and GET). */
int store_link_blob(const struct store *st, const char *name,
		    enum store_link_kind kind, const struct digest *d,
		    off_t *size, struct err *e);
/* store_link_exists() for a writer about to depend on the link: the link
 * and the blob are touched first, so that `berth gc` (which spares what
 * was touched within its grace period, and re-checks just before it
 * removes) cannot take them away under the writer. */
int store_link_touch(const struct store *st, const char *name,
		     enum store_link_kind kind, const struct digest *d,
		     struct err *e);
int store_link_add(const struct store *st, const char *name,
		   enum store_link_kind kind, const struct digest *d,
		   struct err *e);
/* Removes the link (the blob stays for GC): 1, 0 absent, -1. */
int store_link_remove(const struct store *st, const char *name,
		      enum store_link_kind kind, const struct digest *d,
		      struct err *e);
/* 1 when the link was modified within grace seconds (or its time cannot
 * be read), 0 when older or absent. */
int store_link_recent(const struct store *st, const char *name,
		      enum store_link_kind kind, const struct digest *d,
		      double grace, time_t now);
/* As store_blob_remove_idle, for a link. */
int store_link_remove_idle(const struct store *st, const char *name,
			   enum store_link_kind kind, const struct digest *d,
			   double grace, time_t now, int dry_run, struct err *e);
/* Every link of one kind whose link file exists, by digest. */
int store_each_link(const struct store *st, const char *name,
		    enum store_link_kind kind,
		    int (*fn)(void *ctx, const struct digest *d), void *ctx,
		    struct err *e);

/* ---- tags ---- */

/* What the tag points at: 1, 0 (no tag, or a tag without its current
 * link), -1 (unreadable or damaged link). */
int store_tag_get(const struct store *st, const char *name, const char *tag,
		  struct digest *d, struct err *e);
int store_tag_set(const struct store *st, const char *name, const char *tag,
		  const struct digest *d, struct err *e);
/* Creates the tag naming d unless it exists and names another manifest:
 * 1 it now names d (created here, or it already did), 0 it names another
 * (left as it is), -1. Of several writers creating one tag at once, on
 * one host or many, exactly one creates it (an exclusive rename of its
 * directory, store_tag.c), so an immutable tag is never moved by a race.
 * The manifest must be stored before (store_manifest_put with no tag). */
int store_tag_set_new(const struct store *st, const char *name,
		      const char *tag, const struct digest *d, struct err *e);
/* Removes a tag: its directory is renamed away first (one atomic step
 * that readers see), then deleted. 1, 0 absent, -1. was (may be NULL)
 * gets what the tag named when it went, read once it is moved aside
 * where no push reaches it; was->alg is 0 when that link could not be
 * read (the tag is removed all the same). */
int store_tag_remove(const struct store *st, const char *name, const char *tag,
		     struct digest *was, struct err *e);
/* Removes the tag only if, once moved aside (where no writer reaches
 * it), it still names d and was last written before `before`; else it is
 * put back, unless a push has made the tag anew meanwhile. 1 removed, 0
 * kept, -1 (the tag put back as it was). For retention, which must never
 * remove a tag a push has just re-pointed. */
int store_tag_remove_if(const struct store *st, const char *name,
			const char *tag, const struct digest *d, time_t before,
			struct err *e);
/* When the tag was last pushed (its current link's mtime): 1, 0 no such
 * tag, -1. */
int store_tag_time(const struct store *st, const char *name, const char *tag,
		   time_t *when, struct err *e);
/* The repository's tags in strcmp order: 1, 0 when the repository does
 * not exist, -1. */
int store_tags(const struct store *st, const char *name, struct strlist *out,
	       struct err *e);
/* A page of them: up to n tags after last (NULL: from the start) in
 * strcmp order, from a sorted snapshot kept under _berth/tags/ (see
 * snapshot.h), so a page costs O(log tags + n); *more tells whether tags
 * follow. 1, 0 when the repository does not exist, -1. */
int store_tags_page(const struct store *st, const char *name, const char *last,
		    size_t n, struct strlist *out, int *more, struct err *e);

/* ---- a manifest PUT ---- */

/* The manifest blob d (body), its revision link in name and, unless tag
 * is NULL, the tag pointing at it: what store_blob_put(),
 * store_link_add() and store_tag_set() do one after another, in four
 * durable steps whose fsyncs run together (store_put.c). */
int store_manifest_put(const struct store *st, const char *name,
		       const struct digest *d, const void *body, size_t len,
		       const char *tag, struct err *e);

/* An upload's bytes (the file data, open as fd, which hashes to d) as
 * blob d, linked into name as a layer: fsync of the data, link() into
 * blobs/, the _layers link, in three durable steps (store_put.c). The
 * data file stays where it is (the blob is a second name of it). */
int store_upload_put(const struct store *st, const char *name,
		     const struct digest *d, const char *data, int fd,
		     struct err *e);

/* ---- repositories ---- */

/* A repository has _manifests or _layers: 1, 0, -1. */
int store_repo_exists(const struct store *st, const char *name, struct err *e);
/* It has a manifest revision or a tag: 1, 0, -1. */
int store_repo_has_content(const struct store *st, const char *name,
			   struct err *e);
/* Every repository (a directory holding _manifests, _layers or
 * _uploads), in no particular order. */
int store_each_repo(const struct store *st,
		    int (*fn)(void *ctx, const char *name), void *ctx,
		    struct err *e);

/* ---- upload sessions ---- */

#define STORE_UPLOAD_DATA "data"         /* the bytes so far */
#define STORE_UPLOAD_STARTED "startedat" /* RFC 3339, as registry:2 */
#define STORE_UPLOAD_STATE "berthstate"  /* offset and hash state */
/* id NULL: the repository's directory of sessions; file NULL: the
 * session's directory; else one of the STORE_UPLOAD_* files in it. */
int store_upload_path(const struct store *st, const char *name, const char *id,
		      const char *file, struct buf *out, struct err *e);
int store_each_upload(const struct store *st, const char *name,
		      int (*fn)(void *ctx, const char *id), void *ctx,
		      struct err *e);
/* When the session began (startedat, else the directory's mtime): 1, 0, -1. */
int store_upload_started(const struct store *st, const char *name,
			 const char *id, time_t *when, struct err *e);
int store_upload_remove(const struct store *st, const char *name,
			const char *id, struct err *e);

/* ---- referrers (Berth's index in the repository, see referrers.h) ---- */

int store_referrer_put(const struct store *st, const char *name,
		       const struct digest *subject, const struct digest *referrer,
		       const void *data, size_t len, struct err *e);
/* 1, 0 absent, -1. */
int store_referrer_remove(const struct store *st, const char *name,
			  const struct digest *subject,
			  const struct digest *referrer, struct err *e);
/* 1, 0 absent, -1. */
int store_referrer_read(const struct store *st, const char *name,
			const struct digest *subject,
			const struct digest *referrer, struct buf *out,
			struct err *e);
/* The referrers recorded for subject, in digest order. */
int store_each_referrer(const struct store *st, const char *name,
			const struct digest *subject,
			int (*fn)(void *ctx, const struct digest *referrer),
			void *ctx, struct err *e);

/* ---- crash leftovers ---- */

/* Removes .tmp-* (a write that died) and .deleted-* (a tag delete that
 * died) anywhere in the store when older than grace; say gets each one's
 * name relative to the root, *count the number (with dry_run nothing is
 * changed). .gc-* is left to store_put_back_aside(). */
/* Puts back every .gc-* in the store, whatever its age: a collection
 * first undoes what one that died left aside, so that it sees the whole
 * store (a manifest away is a manifest whose layers nobody marks). */
int store_put_back_aside(const struct store *st, struct err *e);
int store_sweep_leftovers(const struct store *st, double grace, time_t now,
			  int dry_run, void (*say)(void *ctx, const char *rel),
			  void *ctx, long *count, struct err *e);

#endif
