/*
 * upload: resumable upload sessions; the design is in upload.h.
 *
 * The ordering that makes a session safe to resume anywhere:
 *   append bytes -> fdatasync(data) -> atomically replace berthstate
 * so berthstate never describes bytes that are not on disk. Ids are
 * random version-4 UUIDs (uuid.h; as registry:2's, so purge tools
 * of either registry recognise the directories).
 */
#include "upload.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


#include "fsutil.h"
#include "name.h"
#include "sink.h"
#include "uuid.h"
#include "catalog.h"
#include "policy.h"
#include "quota.h"
#include "strlist.h"
#include "banned.h"

_Static_assert(UPLOAD_ID_LEN == UUID_LEN, "an upload id is a UUID");

#define STATE_MAGIC "berth-upload 1\n"
#define CHUNK (1 << 20)

struct upload {
	const struct store *st;
	char *name;
	char id[UPLOAD_ID_LEN + 1];
	struct buf dir;
	struct buf data;   /* dir + "/data" */
	int fd;
	off_t offset;
	struct digest_hasher *h;
	int spoiled;       /* an append failed: the hash state is not the file's */
};

const char *upload_id(const struct upload *u)
{
	return u->id;
}

off_t upload_offset(const struct upload *u)
{
	return u->offset;
}

void upload_close(struct upload *u)
{
	if (!u)
		return;
	if (u->fd >= 0) {
		/* close() drops the lock too, but on a network filesystem
		 * (a FUSE client's RELEASE) only after it has returned: the
		 * next request of this upload, on another worker or host,
		 * would find it still held. An explicit unlock is answered
		 * by the server first. */
		struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET };

		(void)fcntl(u->fd, F_OFD_SETLK, &fl);
		close(u->fd);
	}
	digest_hasher_free(u->h);
	buf_free(&u->dir);
	buf_free(&u->data);
	free(u->name);
	free(u);
}

static struct upload *upload_alloc(const struct store *st, const char *name)
{
	struct upload *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->st = st;
	u->fd = -1;
	buf_init(&u->dir);
	buf_init(&u->data);
	u->name = strdup(name);
	if (!u->name) {
		free(u);
		return NULL;
	}
	return u;
}

static int set_paths(struct upload *u, struct err *e)
{
	if (store_upload_path(u->st, u->name, u->id, NULL, &u->dir, e) < 0 ||
	    store_upload_path(u->st, u->name, u->id, STORE_UPLOAD_DATA, &u->data, e) < 0)
		return -1;
	return 0;
}

static int lock_data(struct upload *u, struct err *e)
{
	/* An open-file-description lock: held by this open file, not by the
	 * process, so it cannot be dropped by some other close(). */
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int tries;

	/* A request that has just finished may still be letting go (its
	 * unlock on its way to the server): a moment before "busy". */
	for (tries = 0; fcntl(u->fd, F_OFD_SETLK, &fl) < 0; tries++) {
		if ((errno == EACCES || errno == EAGAIN) && tries < 3) {
			usleep(10000u << (2 * tries));
			continue;
		}
		if (errno == EACCES || errno == EAGAIN)
			return err_set(e, ERR_BUSY,
				       "another request is writing to this upload");
		return err_sys(e, "lock %s", u->data.s);
	}
	return 0;
}

/* berthstate from u: FS_CACHE only for a new session, whose offset 0
 * describes no bytes. */
static int write_state(struct upload *u, enum fs_sync sync, struct err *e)
{
	struct buf s = BUF_INIT;
	int r;

	if (buf_adds(&s, STATE_MAGIC) < 0 ||
	    buf_addf(&s, "offset %lld\n", (long long)u->offset) < 0 ||
	    digest_hasher_save(u->h, &s) < 0) {
		buf_free(&s);
		return err_sys(e, "out of memory");
	}
	r = fs_write_file(u->dir.s, STORE_UPLOAD_STATE, s.s, s.len, sync, e);
	buf_free(&s);
	return r;
}

/* The bytes, then the state that describes them (with the session
 * directory, which holds both names), then the session's own entry in
 * _uploads: upload_start() left all of it to the page cache, and this
 * request's 202 promises the client it can resume from here. */
int upload_save(struct upload *u, struct err *e)
{
	char *slash;
	int r;

	if (u->spoiled) {
		errno = 0;
		return err_sys(e, "save of a failed upload handle");
	}
	if (fdatasync(u->fd) < 0)
		return err_sys(e, "fdatasync %s", u->data.s);
	if (write_state(u, FS_DURABLE, e) < 0)
		return -1;
	slash = strrchr(u->dir.s, '/');
	if (!slash || slash == u->dir.s) {
		errno = 0;
		return err_sys(e, "upload directory %s has no parent", u->dir.s);
	}
	*slash = 0;
	r = fs_fsync_dir(u->dir.s, e);
	*slash = '/';
	return r;
}

int upload_start(const struct store *st, const char *name, unsigned algs,
		 struct upload **out, struct err *e)
{
	struct upload *u = upload_alloc(st, name);
	struct buf parent = BUF_INIT;
	char when[64];
	struct tm tm;
	time_t now = time(NULL);
	int tries, dt = 0;

	if (!u)
		return err_sys(e, "out of memory");
	if (store_upload_path(st, name, NULL, NULL, &parent, e) < 0 ||
	    fs_mkdirs(parent.s, e) < 0)
		goto fail;
	for (tries = 0;; tries++) {
		if (uuid_new(u->id, e) < 0 || set_paths(u, e) < 0)
			goto fail;
		if (mkdir(u->dir.s, 0755) == 0)
			break;
		if (fsretry_denied(&dt, u->dir.s))
			continue;
		if (errno != EEXIST || tries > 8) {
			err_sys(e, "mkdir %s", u->dir.s);
			goto fail;
		}
	}
	dt = 0;
	while ((u->fd = open(u->data.s, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0 &&
	       fsretry_denied(&dt, u->data.s))
		;
	if (u->fd < 0) {
		err_sys(e, "create %s", u->data.s);
		goto fail;
	}
	if (lock_data(u, e) < 0)
		goto fail;
	u->h = digest_hasher_new(algs | DIGEST_SHA256);
	if (!u->h) {
		err_sys(e, "out of memory");
		goto fail;
	}
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	/* Nothing of a new session is fsync'd: its 202 acknowledges no
	 * bytes, and a session a power cut takes (gone, or a state file
	 * left empty: BLOB_UPLOAD_UNKNOWN) is one the client starts again,
	 * as it must when a session expires. The first upload_save() makes
	 * it durable; a monolithic push never needs it to be (its blob is
	 * made durable on its own). Six fsyncs less per push. */
	if (fs_write_file(u->dir.s, STORE_UPLOAD_STARTED, when, strlen(when),
			  FS_CACHE, e) < 0 ||
	    write_state(u, FS_CACHE, e) < 0)
		goto fail;
	buf_free(&parent);
	*out = u;
	return 0;
fail:
	if (u->dir.len && u->fd >= 0) {
		struct err ignore = ERR_INIT;
		fs_remove_tree(u->dir.s, &ignore);
	}
	buf_free(&parent);
	upload_close(u);
	return -1;
}

/* Parses berthstate into u->offset and u->h. */
static int load_state(struct upload *u, struct err *e)
{
	struct buf p = BUF_INIT, s = BUF_INIT;
	const char *q;
	char *end;
	long long off;
	int r = -1;

	if (store_upload_path(u->st, u->name, u->id, STORE_UPLOAD_STATE, &p, e) < 0)
		goto out;
	r = fs_read_file(p.s, 4096, &s, e);
	if (r <= 0) {
		/* A session without its state is one that is being removed
		 * (or whose start died): unknown to the client. */
		if (r == 0)
			err_set(e, ERR_BLOB_UPLOAD_UNKNOWN, "blob upload unknown");
		else if (e->code == ERR_TOO_LARGE)
			goto bad;
		r = -1;
		goto out;
	}
	r = -1;
	if (s.len == 0) {
		/* The start writes its state without an fsync: after a power
		 * cut it can be there but empty. Nothing of such a session
		 * was acknowledged, so it is unknown, not damaged. */
		err_set(e, ERR_BLOB_UPLOAD_UNKNOWN, "blob upload unknown");
		goto out;
	}
	if (strncmp(s.s, STATE_MAGIC, strlen(STATE_MAGIC)))
		goto bad;
	q = s.s + strlen(STATE_MAGIC);
	if (strncmp(q, "offset ", 7) || q[7] < '0' || q[7] > '9')
		goto bad;
	off = strtoll(q + 7, &end, 10);
	if (*end != '\n' || off < 0)
		goto bad;
	u->offset = (off_t)off;
	u->h = digest_hasher_load(end + 1, e);
	if (!u->h)
		goto out;
	r = 0;
	goto out;
bad:
	err_set(e, ERR_BLOB_UPLOAD_INVALID, "upload state is damaged");
out:
	buf_free(&p);
	buf_free(&s);
	return r;
}

int upload_open(const struct store *st, const char *name, const char *id,
		struct upload **out, struct err *e)
{
	struct upload *u;
	struct stat sb;
	int tries = 0;

	if (name_upload_id_valid(id, e) < 0)
		return -1;
	u = upload_alloc(st, name);
	if (!u)
		return err_sys(e, "out of memory");
	memcpy(u->id, id, UPLOAD_ID_LEN + 1);
	if (set_paths(u, e) < 0)
		goto fail;
	while ((u->fd = open(u->data.s, O_RDWR | O_CLOEXEC)) < 0) {
		if (fsretry_stale(&tries, u->data.s))
			continue;
		if (errno == ENOENT || errno == ENOTDIR)
			err_set(e, ERR_BLOB_UPLOAD_UNKNOWN, "blob upload unknown");
		else
			err_sys(e, "open %s", u->data.s);
		goto fail;
	}
	if (lock_data(u, e) < 0 || load_state(u, e) < 0)
		goto fail;
	/* Fresh attributes: the last request may have been another host's,
	 * and a network filesystem's cached size would be its old one. */
	if (fsretry_fstat(u->fd, &sb) < 0) {
		err_sys(e, "stat %s", u->data.s);
		goto fail;
	}
	if (sb.st_size < u->offset) {
		err_set(e, ERR_BLOB_UPLOAD_INVALID, "upload data is missing");
		goto fail;
	}
	/* Bytes from a request that did not finish are not part of it. */
	if (sb.st_size > u->offset && ftruncate(u->fd, u->offset) < 0) {
		err_sys(e, "truncate %s", u->data.s);
		goto fail;
	}
	*out = u;
	return 0;
fail:
	upload_close(u);
	return -1;
}

int upload_append(struct upload *u, upload_read_fn rd, void *ctx,
		  long long expect, struct err *e)
{
	struct sink *k = NULL;
	long long got = 0;
	off_t start = u->offset;
	int r = -1;

	if (u->spoiled) {
		errno = 0;
		return err_sys(e, "append to a failed upload handle");
	}
	if (sink_open(u->fd, u->data.s, u->offset, expect, &k, e) < 0)
		return -1;
	for (;;) {
		size_t want;
		char *p = sink_buf(k, &want);
		long n;

		if (expect >= 0) {
			if (got == expect)
				break;
			if ((long long)want > expect - got)
				want = (size_t)(expect - got);
		}
		n = rd(ctx, p, want);
		if (n < 0) {
			err_set(e, ERR_BLOB_UPLOAD_INVALID,
				"the request body was cut off");
			goto out;
		}
		if (n == 0) {
			if (expect >= 0) {
				err_set(e, ERR_SIZE_INVALID,
					"body shorter than Content-Length");
				goto out;
			}
			break;
		}
		digest_hasher_update(u->h, p, (size_t)n);
		if (sink_put(k, (size_t)n, e) < 0)
			goto out;
		got += n;
		u->offset += n;
	}
	if (sink_finish(k, e) < 0)
		goto out;
	r = 0;
out:
	/* Before any cut: no write of this request may land after it. */
	sink_free(k);
	if (r < 0) {
		/* The request is not part of the session: give its bytes
		 * back now (a full disk needs the space), not at the next
		 * open. A failure to cut is repaired there. */
		u->spoiled = 1;
		u->offset = start;
		if (ftruncate(u->fd, start) < 0) {
			/* upload_open() cuts what follows the saved offset */
		}
	}
	return r;
}

/* sha512 for an upload that did not ask for it up front: the one case in
 * which the data is read again. */
static int rehash(struct upload *u, enum digest_alg alg, struct digest *out,
		  struct err *e)
{
	struct digest_hasher *h = digest_hasher_new(alg);
	char *chunk = malloc(CHUNK);
	off_t pos = 0;
	int r = -1;

	if (!h || !chunk) {
		err_sys(e, "out of memory");
		goto out;
	}
	while (pos < u->offset) {
		ssize_t n = pread(u->fd, chunk, CHUNK, pos);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err_sys(e, "read %s", u->data.s);
			goto out;
		}
		digest_hasher_update(h, chunk, (size_t)n);
		pos += n;
	}
	r = digest_hasher_final(h, alg, out, e);
out:
	free(chunk);
	digest_hasher_free(h);
	return r;
}

int upload_cancel(struct upload *u, struct err *e)
{
	return fs_remove_tree(u->dir.s, e);
}

int upload_commit(struct upload *u, const struct digest *want,
		  const struct policy *pol, struct err *e)
{
	struct digest got;
	struct err ignore = ERR_INIT;
	int r;

	if (u->spoiled) {
		errno = 0;
		return err_sys(e, "commit of a failed upload handle");
	}
	if (digest_hasher_algs(u->h) & want->alg)
		r = digest_hasher_final(u->h, want->alg, &got, e);
	else
		r = rehash(u, want->alg, &got, e);
	if (r < 0)
		return -1;
	if (!digest_equal(&got, want)) {
		fs_remove_tree(u->dir.s, &ignore);
		return err_set(e, ERR_DIGEST_INVALID,
			       "provided digest did not match uploaded content");
	}
	/* Charged once its digest is known good, before it is linked. */
	if (quota_charge(u->st, pol, u->name, want, (long long)u->offset, e) < 0)
		return -1;
	if (store_upload_put(u->st, u->name, want, u->data.s, u->fd, e) < 0)
		return -1;
	/* The blob is in; a leftover session would only waste space until
	 * the purge, so a failure to remove it is not the client's error. */
	fs_remove_tree(u->dir.s, &ignore);
	return 0;
}

/* Links blob d, which some repository has, into name: charged first. */
static int mount_into(const struct store *st, const char *name,
		      const struct digest *d, const struct policy *pol,
		      struct err *e)
{
	off_t size = 0;
	int r;

	if (policy_quota(pol, name)) {
		r = store_blob_stat(st, d, &size, e);
		if (r <= 0)
			return r;
		if (quota_charge(st, pol, name, d, (long long)size, e) < 0)
			return -1;
	}
	return store_link_add(st, name, STORE_LAYER, d, e) < 0 ? -1 : 1;
}

int upload_mount(const struct store *st, const char *name, const char *from,
		 const struct digest *d, const struct policy *pol, struct err *e)
{
	int r = store_link_touch(st, from, STORE_LAYER, d, e);

	if (r <= 0)
		return r;
	return mount_into(st, name, d, pol, e);
}

int upload_mount_any(const struct store *st, const char *name,
		     const struct digest *d,
		     int (*may)(void *ctx, const char *repo), void *ctx,
		     const struct policy *pol, struct err *e)
{
	struct strlist page = STRLIST_INIT;
	struct err ie = ERR_INIT;
	char *last = NULL;
	size_t i, seen = 0;
	int more = 1, r = 0;

	while (more && !r && seen < UPLOAD_MOUNT_SCAN) {
		strlist_free(&page);
		if (catalog_list(st, last, 100, &page, &more, e) < 0) {
			r = -1;
			break;
		}
		for (i = 0; i < page.n && !r && seen < UPLOAD_MOUNT_SCAN; i++, seen++)
			if (may(ctx, page.items[i]) &&
			    store_link_touch(st, page.items[i], STORE_LAYER, d, &ie) > 0)
				r = mount_into(st, name, d, pol, e);
		free(last);
		last = page.n ? strdup(page.items[page.n - 1]) : NULL;
		if (page.n && !last) {
			r = err_sys(e, "out of memory");
			break;
		}
	}
	free(last);
	strlist_free(&page);
	return r;
}
