/*
 * berth user: the htpasswd file's users, without apache2-utils. The
 * password comes from a prompt (twice, not echoed) on a terminal, else
 * from the first line of stdin, so scripts and `make run` can pipe it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "../auth.h"
#include "../config.h"
#include "../banned.h"

extern char **environ;

static const char usage_text[] =
	"usage: berth user add|passwd|del|list [-f FILE] [--cost N] [NAME]\n"
	"Manages the htpasswd file (default: auth.htpasswd.path of the config):\n"
	"  add NAME     a new user (bcrypt)\n"
	"  passwd NAME  a new password for a user\n"
	"  del NAME     removes a user\n"
	"  list         the users and the format of each password\n"
	"The password is asked twice on a terminal, else read from stdin (one\n"
	"line). --cost sets the bcrypt cost (4 to 31, default 10). The file is\n"
	"rewritten atomically with its owner and mode; other lines stay as they\n"
	"are. Berth and the web server see a change at their next request.\n";

/* One line of the terminal or of stdin, without its newline. */
static int read_line(FILE *in, char *buf, size_t n)
{
	if (!fgets(buf, (int)n, in))
		return -1;
	buf[strcspn(buf, "\r\n")] = 0;
	return 0;
}

static int ask(const char *prompt, char *buf, size_t n)
{
	struct termios old, quiet;
	int r, tty = tcgetattr(0, &old) == 0;

	fputs(prompt, stderr);
	fflush(stderr);
	if (tty) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(0, TCSAFLUSH, &quiet);
	}
	r = read_line(stdin, buf, n);
	if (tty) {
		tcsetattr(0, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	return r;
}

static int password(char *buf, size_t n)
{
	char again[1024];

	if (!isatty(0)) {
		if (read_line(stdin, buf, n) < 0 || !*buf) {
			fprintf(stderr, "berth user: no password on stdin\n");
			return -1;
		}
		return 0;
	}
	if (ask("Password: ", buf, n) < 0 || ask("Again: ", again, sizeof(again)) < 0)
		return -1;
	if (strcmp(buf, again)) {
		fprintf(stderr, "berth user: the passwords differ\n");
		return -1;
	}
	if (!*buf) {
		fprintf(stderr, "berth user: an empty password is refused\n");
		return -1;
	}
	return 0;
}

int cmd_user(const char *cfgpath, int argc, char **argv)
{
	const char *cpath;
	struct stat cst;
	int existed = 0;
	const char *file = NULL, *op, *name = NULL;
	struct config cfg;
	struct buf warn = BUF_INIT;
	struct err e = ERR_INIT;
	char pass[1024] = "";
	long cost = AUTH_COST_DEFAULT;
	int i, rc = 1, have_cfg = 0;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	op = argv[1];
	for (i = 2; i < argc; i++) {
		char *end;
		if (!strcmp(argv[i], "-f") && i + 1 < argc) {
			file = argv[++i];
		} else if (!strcmp(argv[i], "--cost") && i + 1 < argc) {
			cost = strtol(argv[++i], &end, 10);
			if (*end || cost < 4 || cost > 31) {
				fprintf(stderr, "berth user: --cost wants 4 to 31\n");
				return 2;
			}
		} else if (argv[i][0] == '-' || name) {
			fputs(usage_text, stderr);
			return 2;
		} else {
			name = argv[i];
		}
	}
	if (strcmp(op, "add") && strcmp(op, "passwd") && strcmp(op, "del") &&
	    strcmp(op, "list")) {
		fputs(usage_text, stderr);
		return 2;
	}
	if (!strcmp(op, "list") == !!name) {
		fputs(usage_text, stderr);
		return 2;
	}
	if (!file) {
		if (config_load(cli_config_path(cfgpath), environ, &cfg, &warn, &e) < 0) {
			fprintf(stderr, "berth: %s\n", e.msg);
			buf_free(&warn);
			return 1;
		}
		have_cfg = 1;
		file = cfg.htpasswd_path;
		if (!file) {
			fprintf(stderr, "berth user: the config sets no auth.htpasswd.path; "
				"name the file with -f\n");
			goto out;
		}
	}
	if (!strcmp(op, "list")) {
		struct strlist users = STRLIST_INIT;
		if (auth_list(file, &users, &e) < 0) {
			fprintf(stderr, "berth user: %s %s\n", e.msg, e.detail);
		} else {
			for (i = 0; (size_t)i < users.n; i++)
				printf("%s\n", users.items[i]);
			rc = 0;
		}
		strlist_free(&users);
		goto out;
	}
	if (strcmp(op, "del") && password(pass, sizeof(pass)) < 0)
		goto out;
	existed = access(file, F_OK) == 0;
	if (auth_edit(file, !strcmp(op, "add") ? AUTH_ADD :
		      !strcmp(op, "passwd") ? AUTH_PASSWD : AUTH_DEL,
		      name, pass, (int)cost, &e) < 0) {
		fprintf(stderr, "berth user: %s%s%s\n", e.msg, e.detail[0] ? ": " : "",
			e.detail);
		goto out;
	}
	/* A file this command created for a config: readable by whoever
	 * may read that config (the registry's group, in the package), as
	 * the registry must read it; nobody else. */
	if (!existed && have_cfg && (cpath = cli_config_path(cfgpath)) && stat(cpath, &cst) == 0 &&
	    (chown(file, (uid_t)-1, cst.st_gid) < 0 || chmod(file, 0640) < 0))
		fprintf(stderr, "berth user: cannot give %s the group of %s: %s\n", file,
			cpath, strerror(errno));
	printf("%s: %s %s\n", file, !strcmp(op, "add") ? "added" :
	       !strcmp(op, "passwd") ? "new password for" : "removed", name);
	rc = 0;
out:
	memset(pass, 0, sizeof(pass));
	if (have_cfg)
		config_free(&cfg);
	buf_free(&warn);
	return rc;
}
