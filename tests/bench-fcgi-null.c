/*
 * bench-fcgi-null: the least a FastCGI application behind nginx can do
 * per request, for make bench: libfcgi's accept loop answering every
 * request with a fixed answer, in the same pool shape as Berth
 * (spawn-fcgi, N processes on the same socket), so its rates are the
 * ceilings of any FastCGI registry on this machine: what nginx's
 * per-request FastCGI work (a new unix-socket connection, the params, the
 * response parsing, the body's records) and libfcgi leave.
 *
 *   HEAD, GET   200 with headers like a blob HEAD (for GET a body the size
 *               of a small manifest), reading nothing from any disk;
 *   POST        202 with a Location, as a blob upload's start;
 *   PUT, PATCH  the body read through libfcgi (1 MiB at a time, as Berth
 *               reads it) and thrown away, then 201. With DIR, written
 *               instead to a new file in DIR and made durable the
 *               cheapest correct way (write, fdatasync, fsync of DIR):
 *               what a registry that hashes nothing and names nothing
 *               pays for a durable body. With "hash" instead of DIR,
 *               hashed (SHA-256, as every registry must to check the
 *               digest) and thrown away: the least a registry does with
 *               a body, without a disk. With "sink DIR": hashed and
 *               written to a new file in DIR through Berth's own writer
 *               (core/sink.c: O_DIRECT and AIO), then fdatasync and an
 *               fsync of DIR: the least a durable registry does with a
 *               body, without any of a registry's names around it.
 *
 * Usage: spawn-fcgi -s SOCK -- bench-fcgi-null N [DIR|hash|sink DIR]
 * (N processes)
 */
#define _POSIX_C_SOURCE 200809L
#include <fcgiapp.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <openssl/evp.h>
#include "../core/err.h"
#include "../core/sink.h"

static const char HEAD[] =
	"Status: 200 OK\r\n"
	"Content-Type: application/vnd.oci.image.manifest.v1+json\r\n"
	"Content-Length: 512\r\n"
	"Docker-Content-Digest: sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n"
	"\r\n";
static const char POSTED[] =
	"Status: 202 Accepted\r\n"
	"Location: /v2/bench/img/blobs/uploads/null\r\n"
	"Content-Length: 0\r\n"
	"\r\n";
static const char CREATED[] =
	"Status: 201 Created\r\n"
	"Content-Length: 0\r\n"
	"\r\n";
static const char FAILED[] =
	"Status: 500 Internal Server Error\r\n"
	"Content-Length: 0\r\n"
	"\r\n";

/* The body hashed and into DIR/<pid>-<n> through the sink, durable. */
static int null_sink(FCGX_Request *r, const char *dir, int dfd)
{
	static unsigned long n;
	char path[4096];
	unsigned char out[EVP_MAX_MD_SIZE];
	unsigned int outlen;
	const char *cl = FCGX_GetParam("CONTENT_LENGTH", r->envp);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	struct err e = ERR_INIT;
	struct sink *k = NULL;
	int fd, got, rc = 0;

	snprintf(path, sizeof(path), "%s/%ld-%lu", dir, (long)getpid(), n++);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || !md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    sink_open(fd, path, 0, cl && *cl ? strtoll(cl, NULL, 10) : -1, &k, &e) < 0) {
		rc = -1;
		goto out;
	}
	for (;;) {
		size_t room;
		char *b = sink_buf(k, &room);

		got = FCGX_GetStr(b, (int)room, r->in);
		if (got <= 0)
			break;
		if (EVP_DigestUpdate(md, b, (size_t)got) != 1 ||
		    sink_put(k, (size_t)got, &e) < 0) {
			rc = -1;
			break;
		}
	}
	if (rc == 0 && (sink_finish(k, &e) < 0 ||
			EVP_DigestFinal_ex(md, out, &outlen) != 1))
		rc = -1;
	sink_free(k);
	if (rc == 0 && (fdatasync(fd) < 0 || fsync(dfd) < 0))
		rc = -1;
out:
	EVP_MD_CTX_free(md);
	if (fd >= 0 && close(fd) < 0)
		rc = -1;
	return rc;
}

/* The body into DIR/<pid>-<n>, durable; or read and dropped (dir NULL).
 * Returns 0, or -1 when a step failed (the answer is then a 500, which
 * make bench reports instead of a figure). */
static int null_take(FCGX_Request *r, const char *dir, int dfd, char *buf, size_t len)
{
	static unsigned long n;
	char path[4096];
	int fd = -1, got, rc = 0, hash = dir && !strcmp(dir, "hash");
	EVP_MD_CTX *md = NULL;

	if (hash) {
		unsigned char out[EVP_MAX_MD_SIZE];
		unsigned int outlen;

		md = EVP_MD_CTX_new();
		if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
			return -1;
		while ((got = FCGX_GetStr(buf, (int)len, r->in)) > 0)
			if (EVP_DigestUpdate(md, buf, (size_t)got) != 1)
				rc = -1;
		if (EVP_DigestFinal_ex(md, out, &outlen) != 1)
			rc = -1;
		EVP_MD_CTX_free(md);
		return rc;
	}
	if (dir) {
		snprintf(path, sizeof(path), "%s/%ld-%lu", dir, (long)getpid(), n++);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			rc = -1;
	}
	while ((got = FCGX_GetStr(buf, (int)len, r->in)) > 0) {
		char *p = buf;

		while (fd >= 0 && got > 0) {
			ssize_t w = write(fd, p, (size_t)got);

			if (w < 0) {
				rc = -1;
				break;
			}
			p += w;
			got -= (int)w;
		}
	}
	if (fd >= 0) {
		if (fdatasync(fd) < 0 || fsync(dfd) < 0)
			rc = -1;
		if (close(fd) < 0)
			rc = -1;
	}
	return rc;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 1, i, dfd = -1;
	const char *dir = argc > 2 ? argv[2] : NULL;
	int sink = dir && !strcmp(dir, "sink");
	size_t len = 1 << 20;
	char body[512], *buf = malloc(len);
	FCGX_Request r;

	if (!buf)
		return 1;
	if (sink) {
		if (argc < 4) {
			fprintf(stderr, "usage: bench-fcgi-null N sink DIR\n");
			return 1;
		}
		dir = argv[3];
	}
	if (dir && strcmp(dir, "hash") && (dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		perror(dir);
		return 1;
	}
	memset(body, 'x', sizeof(body));
	for (i = 1; i < n; i++)
		if (fork() == 0)
			break;
	FCGX_Init();
	FCGX_InitRequest(&r, 0, 0);
	while (FCGX_Accept_r(&r) >= 0) {
		const char *m = FCGX_GetParam("REQUEST_METHOD", r.envp);

		if (!m)
			m = "GET";
		if (!strcmp(m, "POST")) {
			FCGX_PutStr(POSTED, (int)sizeof(POSTED) - 1, r.out);
		} else if (!strcmp(m, "PUT") || !strcmp(m, "PATCH")) {
			if ((sink ? null_sink(&r, dir, dfd) : null_take(&r, dir, dfd, buf, len)) == 0)
				FCGX_PutStr(CREATED, (int)sizeof(CREATED) - 1, r.out);
			else
				FCGX_PutStr(FAILED, (int)sizeof(FAILED) - 1, r.out);
		} else {
			FCGX_PutStr(HEAD, (int)sizeof(HEAD) - 1, r.out);
			if (strcmp(m, "HEAD"))
				FCGX_PutStr(body, (int)sizeof(body), r.out);
		}
		FCGX_Finish_r(&r);
	}
	while (wait(NULL) > 0)
		;
	return 0;
}
