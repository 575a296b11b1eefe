/* htpasswd checks and edits: formats, the remembered credentials, the
 * atomic rewrite that keeps other lines, owner and mode. */
#include <crypt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "t.h"
#include "../../core/auth.h"
#include "../../core/fsutil.h"

void test_auth(void)
{
	struct err e = ERR_INIT;
	struct buf p = BUF_INIT, f = BUF_INIT;
	struct strlist l = STRLIST_INIT;
	struct stat sb;
	FILE *fp;

	buf_addf(&p, "%s/htpasswd", t_tmpdir());
	CHECK(auth_edit(p.s, AUTH_ADD, "alice", "pw-a", 4, &e) == 0);
	CHECK(stat(p.s, &sb) == 0 && (sb.st_mode & 0777) == 0640);
	CHECK(auth_edit(p.s, AUTH_ADD, "bob", "pw-b", 4, &e) == 0);
	CHECK(auth_edit(p.s, AUTH_ADD, "bob", "again", 4, &e) < 0);
	CHECK(auth_edit(p.s, AUTH_PASSWD, "nobody", "x", 4, &e) < 0);
	CHECK(auth_edit(p.s, AUTH_ADD, "a:b", "x", 4, &e) < 0);
	CHECK(auth_check(p.s, "alice", "pw-a", &e) == 0);
	CHECK(auth_check(p.s, "alice", "pw-a", &e) == 0); /* remembered */
	CHECK(auth_check(p.s, "alice", "wrong", &e) < 0 && e.code == ERR_UNAUTHORIZED);
	CHECK(auth_check(p.s, "nobody", "pw-a", &e) < 0 && strstr(e.detail, "no user"));
	CHECK(auth_check(p.s, "ali", "pw-a", &e) < 0);

	/* Other formats are refused, naming the file and line; comments and
	 * other lines survive an edit; so does the mode. */
	chmod(p.s, 0600);
	fp = fopen(p.s, "a");
	fputs("# a comment\ncarol:$apr1$abc$defghijklmnopqrstuv\n", fp);
	fclose(fp);
	CHECK(auth_check(p.s, "carol", "x", &e) < 0 && strstr(e.detail, ":4:") &&
	      strstr(e.detail, "format"));
	CHECK(auth_list(p.s, &l, &e) == 0 && l.n == 3 && !strcmp(l.items[0], "alice\tbcrypt") &&
	      !strcmp(l.items[2], "carol\tunsupported (line 4)"));
	strlist_free(&l);
	CHECK(auth_edit(p.s, AUTH_PASSWD, "bob", "pw-b2", 4, &e) == 0);
	CHECK(stat(p.s, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	CHECK(fs_read_file(p.s, 1 << 20, &f, &e) == 1 && strstr(f.s, "# a comment\n") &&
	      strstr(f.s, "carol:$apr1$"));
	/* A changed file is read again at once: the old password is gone. */
	CHECK(auth_check(p.s, "bob", "pw-b", &e) < 0);
	CHECK(auth_check(p.s, "bob", "pw-b2", &e) == 0);
	CHECK(auth_edit(p.s, AUTH_DEL, "alice", NULL, 4, &e) == 0);
	CHECK(auth_check(p.s, "alice", "pw-a", &e) < 0);
	/* sha512-crypt and sha256-crypt entries are accepted. */
	{
		struct crypt_data cd;
		const char *h6, *h5;
		char line[512];
		memset(&cd, 0, sizeof(cd));
		h6 = crypt_r("pw-d", "$6$saltsalt$", &cd);
		snprintf(line, sizeof(line), "dave:%s\n", h6 ? h6 : "*");
		memset(&cd, 0, sizeof(cd));
		h5 = crypt_r("pw-e", "$5$saltsalt$", &cd);
		snprintf(line + strlen(line), sizeof(line) - strlen(line), "erin:%s\n",
			 h5 ? h5 : "*");
		fp = fopen(p.s, "a");
		fputs(line, fp);
		fclose(fp);
	}
	CHECK(auth_check(p.s, "dave", "pw-d", &e) == 0);
	CHECK(auth_check(p.s, "erin", "pw-e", &e) == 0);
	CHECK(auth_check(p.s, "erin", "pw-d", &e) < 0);
	/* An unreadable file lets nobody in. */
	CHECK(auth_check("/nonexistent/htpasswd", "bob", "pw-b2", &e) < 0 &&
	      e.code == ERR_UNAUTHORIZED);
	buf_free(&p);
	buf_free(&f);
}
