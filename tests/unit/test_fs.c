#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "t.h"
#include "../../core/fsprobe.h"
#include "../../core/fsutil.h"
#include "../../core/strlist.h"

/* Entries in dir other than . and .. */
static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

void test_fs(void)
{
	struct err e = ERR_INIT;
	struct strlist l = STRLIST_INIT;
	const char *dir = t_tmpdir();
	char type[64], missing[128];
	int tries = 0, n = 0;

	/* The local filesystem does what the store needs, and the probe
	 * leaves nothing behind. */
	CHECK(fsprobe_run(dir, &e) == 0);
	CHECK(entries(dir) == 0);
	fsprobe_type(dir, type, sizeof(type));
	CHECK(type[0] != 0);
	/* A directory that is not there is a refusal that says so. */
	snprintf(missing, sizeof(missing), "%s/absent", dir);
	e = (struct err)ERR_INIT;
	CHECK(fsprobe_run(missing, &e) < 0);
	CHECK(strstr(e.msg, "cannot make directories") != NULL);
	CHECK(strstr(e.msg, "/") == NULL); /* no path for the operator's line */
	CHECK(strstr(e.detail, missing) != NULL);

	/* ESTALE is tried again a bounded number of times, nothing else. */
	for (;;) {
		errno = ESTALE;
		if (!fsretry_stale(&tries, dir))
			break;
		n++;
	}
	CHECK(n == FSRETRY_STALE_TRIES);
	CHECK(errno == ESTALE);
	/* ENOENT for a name its directory does not list is absence... */
	tries = 0;
	errno = ENOENT;
	CHECK(fsretry_stale(&tries, missing) == 0 && tries == 0 && errno == ENOENT);
	/* ...for one it lists, a stale lookup: again, then "could not
	 * tell" (ESTALE), never absence. */
	snprintf(missing, sizeof(missing), "%s/there", dir);
	CHECK(fs_write_file(dir, "there", "x", 1, FS_CACHE, &e) == 0);
	n = 0;
	for (;;) {
		errno = ENOENT;
		if (!fsretry_stale(&tries, missing))
			break;
		n++;
	}
	CHECK(n == FSRETRY_STALE_TRIES);
	CHECK(errno == ESTALE);
	/* In a large directory absence stays cheap: no listing, no pause. */
	{
		char big[160], name[32];
		int i;

		snprintf(big, sizeof(big), "%s/big", dir);
		for (i = 0; i < 100; i++) {
			snprintf(name, sizeof(name), "f%03d", i);
			CHECK(fs_write_file(big, name, "x", 1, FS_CACHE, &e) == 0);
		}
		snprintf(big, sizeof(big), "%s/big/absent", dir);
		tries = 0;
		errno = ENOENT;
		CHECK(fsretry_stale(&tries, big) == 0 && tries == 0 && errno == ENOENT);
	}
	/* On an open file ENOENT means another host removed it: again. */
	tries = 0;
	errno = ENOENT;
	CHECK(fsretry_stale_fd(&tries, missing) == 1 && tries == 1 && errno == ENOENT);
	errno = EIO;
	CHECK(fsretry_stale_fd(&tries, missing) == 0 && tries == 1);

	CHECK(strlist_add(&l, "a") == 0 && strlist_add(&l, "b") == 0 &&
	      strlist_add(&l, "c") == 0);
	strlist_truncate(&l, 1);
	CHECK(l.n == 1 && !strcmp(l.items[0], "a"));
	strlist_truncate(&l, 5);
	CHECK(l.n == 1);
	strlist_free(&l);
}
