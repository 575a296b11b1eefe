/*
 * berth: the operator's command line, built from core/ alone (no web
 * server, no FastCGI): gc, fsck, ls, du and config check over the store
 * that a config.yml names. Exit codes: 0 done (and, for fsck, nothing left
 * broken), 1 a failure or problems found, 2 a usage error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>

#include "cli.h"
#include "../catalog.h"
#include "../config.h"
#include "../events.h"
#include "../fsck.h"
#include "../gc.h"
#include "../policy.h"
#include "../quota.h"
#include "../health.h"
#include "../metrics.h"
#include "../refs.h"
#include "../store.h"
#include "../banned.h"

extern char **environ;

static const char usage_text[] =
	"usage: berth [-c config.yml] COMMAND [options]\n"
	"\n"
	"  gc [--dry-run] [--delete-untagged] [--retention]\n"
	"                   remove blobs no manifest references (and, with\n"
	"                   --delete-untagged, manifests no tag references), old\n"
	"                   upload sessions and crash leftovers; safe while the\n"
	"                   registry serves pushes\n"
	"  fsck [--repair]  check every blob, link and manifest; --repair\n"
	"                   quarantines bad blobs and drops dangling links\n"
	"  ls [REPO]        repositories, or the tags of one with digests and sizes\n"
	"  du               space per repository (shared blobs counted once in\n"
	"                   the total)\n"
	"  health           can the store be written and read back (as /healthz)\n"
	"  user add|passwd|del|list [-f FILE] [--cost N] [NAME]\n"
	"                   manage the htpasswd file's users (bcrypt)\n"
	"  events [--follow] [--since TIME]\n"
	"                   the event log: pushes, deletes, gc and retention\n"
	"                   removals (and pulls, if recorded), oldest first\n"
	"  config check FILE\n"
	"                   load a config.yml and print every effective setting\n"
	"\n"
	"The config is -c FILE, else /etc/berth/config.yml, else\n"
	"/etc/docker/registry/config.yml; REGISTRY_* variables override it.\n"
	"`berth COMMAND --help` describes one command.\n";

static int usage(int rc)
{
	fputs(usage_text, rc ? stderr : stdout);
	return rc;
}

/* Run as root, the CLI works as the user that owns the store (the one the
 * registry runs as): whatever it creates there, the registry can change
 * later. */
static int become_owner(const char *root)
{
	struct stat sb;

	if (geteuid() != 0 || stat(root, &sb) < 0 || sb.st_uid == 0)
		return 0;
	if (setgroups(0, NULL) < 0 || setgid(sb.st_gid) < 0 || setuid(sb.st_uid) < 0) {
		fprintf(stderr, "berth: cannot become the store's owner (uid %u): %s\n",
			(unsigned)sb.st_uid, strerror(errno));
		return -1;
	}
	return 0;
}

const char *cli_config_path(const char *path)
{
	static const char *defaults[] = { "/etc/berth/config.yml",
					  "/etc/docker/registry/config.yml" };
	size_t i;

	for (i = 0; !path && i < 2; i++)
		if (access(defaults[i], R_OK) == 0)
			path = defaults[i];
	return path;
}

int cli_load(const char *path, struct config *cfg, struct store *st)
{
	struct buf warn = BUF_INIT;
	struct err e = ERR_INIT;

	path = cli_config_path(path);
	if (config_load(path, environ, cfg, &warn, &e) < 0) {
		fprintf(stderr, "berth: %s\n", e.msg);
		buf_free(&warn);
		return -1;
	}
	buf_free(&warn); /* the registry already said; commands stay quiet */
	if (!st)
		return 0;
	if (become_owner(cfg->rootdirectory) < 0) {
		config_free(cfg);
		return -1;
	}
	if (access(cfg->rootdirectory, F_OK) < 0) {
		fprintf(stderr, "berth: storage root %s: %s\n", cfg->rootdirectory,
			strerror(errno));
		config_free(cfg);
		return -1;
	}
	if (store_open(st, cfg->rootdirectory, &e) < 0) {
		fprintf(stderr, "berth: storage root %s: %s %s\n",
			cfg->rootdirectory, e.msg, e.detail);
		config_free(cfg);
		return -1;
	}
	return 0;
}

static void print_line(void *ctx, const char *line)
{
	const char *prefix = ctx;

	printf("%s%s\n", prefix, line);
}

static int wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return 1;
	return 0;
}

static const char *tagcount(long n, char *out, size_t len)
{
	snprintf(out, len, "%ld tags, ", n);
	return out;
}

static int cmd_gc(const char *cfgpath, int argc, char **argv)
{
	char cnt[32];
	struct gc_opts o = { 0 };
	struct buf mdir = BUF_INIT;
	struct err me = ERR_INIT;
	struct gc_stats s;
	struct config cfg;
	struct store st;
	struct err e = ERR_INIT;
	int i, rc, retention = 0;

	if (wants_help(argc, argv)) {
		printf("usage: berth gc [--dry-run] [--delete-untagged] [--retention]\n"
		       "Removes blobs that no manifest references, layer links to\n"
		       "removed blobs, upload sessions older than\n"
		       "storage.maintenance.uploadpurging.age, and files left by\n"
		       "crashes. --delete-untagged also removes manifests that no tag\n"
		       "references (keeping children of kept indexes and referrers of\n"
		       "kept manifests). Nothing modified within storage.gc.graceperiod\n"
		       "(default 1h) is removed, so it is safe while pushes run.\n"
		       "--retention first applies policy.retention's rules: each tag\n"
		       "they remove is printed with its digest, push time and reason,\n"
		       "and untagged manifests older than a rule's untaggedolderthan go.\n"
		       "Immutable tags and keeptags are never removed.\n"
		       "--dry-run changes nothing and lists what would go.\n");
		return 0;
	}
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dry-run") || !strcmp(argv[i], "-n"))
			o.dry_run = 1;
		else if (!strcmp(argv[i], "--delete-untagged") || !strcmp(argv[i], "-m"))
			o.delete_untagged = 1;
		else if (!strcmp(argv[i], "--retention"))
			retention = 1;
		else {
			fprintf(stderr, "berth gc: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (cli_load(cfgpath, &cfg, &st) < 0)
		return 1;
	if (retention && !policy_retention_count(cfg.policy)) {
		fprintf(stderr, "berth gc: --retention: the config has no "
			"policy.retention rules\n");
		store_close(&st);
		config_free(&cfg);
		return 2;
	}
	o.retention = retention ? cfg.policy : NULL;
	o.collect = 1;
	o.purge_uploads = 1;
	o.grace = cfg.gc_grace;
	o.upload_age = cfg.purge_age;
	o.say = print_line;
	o.ctx = o.dry_run ? "would remove " : "removed ";
	o.actor = retention ? "berth gc --retention" : "berth gc";
	if (events_open(&o.events, &st, &cfg, &e) < 0) {
		fprintf(stderr, "berth gc: event log: %s %s\n", e.msg, e.detail);
		store_close(&st);
		config_free(&cfg);
		return 1;
	}
	/* Counted in /metrics when the pool's run directory is ours to
	 * write (the CLI may run as another user: then it is not counted). */
	if (!o.dry_run && buf_addf(&mdir, "%s/metrics", cfg.rundirectory) == 0 &&
	    access(mdir.s, W_OK) == 0)
		metrics_open(mdir.s, &me);
	rc = gc_run(&st, &o, &s, &e);
	/* What gc removed no quota counts any more. */
	if (rc == 0 && !o.dry_run &&
	    quota_recount(&st, cfg.policy, print_line, "", &e) < 0)
		rc = -1;
	if (rc == 0 && !o.dry_run)
		metrics_gc(0, s.blobs, s.manifests, s.uploads, s.bytes);
	metrics_close();
	events_close(o.events);
	buf_free(&mdir);
	if (rc < 0)
		fprintf(stderr, "berth gc: stopped: %s%s%s\n", e.msg,
			e.detail[0] ? ": " : "", e.detail);
	else
		printf("%s %s%ld blobs (%lld bytes reclaimed%s), %ld manifests, %ld layer links, "
		       "%ld upload sessions, %ld leftovers\n",
		       o.dry_run ? "gc (dry run): would remove" : "gc: removed",
		       retention ? tagcount(s.tags, cnt, sizeof(cnt)) : "",
		       s.blobs, s.bytes, o.dry_run ? " if run" : "", s.manifests,
		       s.links, s.uploads, s.temps);
	store_close(&st);
	config_free(&cfg);
	return rc < 0 ? 1 : 0;
}

static int cmd_fsck(const char *cfgpath, int argc, char **argv)
{
	struct fsck_stats s;
	struct config cfg;
	struct store st;
	struct err e = ERR_INIT;
	int i, repair = 0, rc;

	if (wants_help(argc, argv)) {
		printf("usage: berth fsck [--repair]\n"
		       "Checks that every blob hashes to its digest, every link points\n"
		       "at an existing blob, and every manifest parses and has its\n"
		       "references. --repair moves bad blobs to _berth/quarantine/,\n"
		       "removes dangling links, rebuilds the catalog index and recounts\n"
		       "each policy.quota rule's usage.\n"
		       "Exit status 1 when problems remain.\n");
		return 0;
	}
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--repair"))
			repair = 1;
		else {
			fprintf(stderr, "berth fsck: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (cli_load(cfgpath, &cfg, &st) < 0)
		return 1;
	rc = fsck_run(&st, repair, print_line, "", &s, &e);
	if (rc == 0 && repair && quota_recount(&st, cfg.policy, print_line, "repaired: ", &e) < 0)
		rc = -1;
	if (rc < 0)
		fprintf(stderr, "berth fsck: %s %s\n", e.msg, e.detail);
	else
		printf("fsck: %ld blobs, %ld links, %ld manifests checked: %ld problems, %ld repaired\n",
		       s.blobs, s.links, s.manifests, s.problems, s.repaired);
	store_close(&st);
	config_free(&cfg);
	return rc < 0 || s.problems > s.repaired ? 1 : 0;
}

/* The bytes a manifest stands for: itself, its config and layers, and for
 * an index its children: -1 when it cannot be read. */
static long long manifest_size(const struct store *st, const struct digest *d,
			       int depth, struct err *e)
{
	struct refs m;
	long long total, sub;
	off_t self = 0;
	size_t i;
	int r;

	if (depth > 8)
		return 0;
	r = store_blob_stat(st, d, &self, e);
	if (r <= 0)
		return r < 0 ? -1 : 0;
	r = refs_read(st, d, &m, e);
	if (r <= 0)
		return r < 0 ? -1 : 0;
	total = (long long)self;
	if (m.has_config && m.config.size > 0)
		total += m.config.size;
	for (i = 0; i < m.nlayers; i++)
		if (m.layers[i].size > 0)
			total += m.layers[i].size;
	for (i = 0; i < m.nchildren; i++) {
		sub = manifest_size(st, &m.children[i].digest, depth + 1, e);
		if (sub < 0) {
			refs_free(&m);
			return -1;
		}
		total += sub;
	}
	refs_free(&m);
	return total;
}

static int cmd_ls(const char *cfgpath, int argc, char **argv)
{
	struct config cfg;
	struct store st;
	struct strlist l = STRLIST_INIT;
	struct err e = ERR_INIT;
	size_t i;
	int more, rc = 0, r;

	if (wants_help(argc, argv) || argc > 2) {
		printf("usage: berth ls [REPO]\n"
		       "Lists the repositories with their tag counts, or the tags of\n"
		       "REPO with the digest and total size of each.\n");
		return argc > 2 ? 2 : 0;
	}
	if (cli_load(cfgpath, &cfg, &st) < 0)
		return 1;
	if (argc == 1) {
		if (catalog_list(&st, NULL, (size_t)-1, &l, &more, &e) < 0) {
			fprintf(stderr, "berth ls: %s %s\n", e.msg, e.detail);
			rc = 1;
		}
		for (i = 0; i < l.n; i++) {
			struct strlist tags = STRLIST_INIT;
			if (store_tags(&st, l.items[i], &tags, &e) < 0) {
				fprintf(stderr, "berth ls: %s: %s %s\n", l.items[i], e.msg, e.detail);
				rc = 1;
			}
			printf("%-50s %6zu tags\n", l.items[i], tags.n);
			strlist_free(&tags);
		}
	} else if ((r = store_tags(&st, argv[1], &l, &e)) <= 0) {
		if (r == 0)
			fprintf(stderr, "berth ls: %s: no such repository\n", argv[1]);
		else
			fprintf(stderr, "berth ls: %s: %s %s\n", argv[1], e.msg, e.detail);
		rc = 1;
	} else {
		for (i = 0; i < l.n; i++) {
			struct digest d;
			char ds[DIGEST_STR_MAX];
			long long size = 0;
			r = store_tag_get(&st, argv[1], l.items[i], &d, &e);
			if (r == 0)
				continue;
			if (r > 0)
				size = manifest_size(&st, &d, 0, &e);
			if (r < 0 || size < 0) {
				fprintf(stderr, "berth ls: %s:%s: %s %s\n", argv[1],
					l.items[i], e.msg, e.detail);
				rc = 1;
				continue;
			}
			digest_format(&d, ds);
			printf("%-30s %s %12lld\n", l.items[i], ds, size);
		}
	}
	strlist_free(&l);
	store_close(&st);
	config_free(&cfg);
	return rc;
}

struct du {
	const struct store *st;
	struct strlist repos;
	struct strlist seen;
	long long bytes;
	struct err *e;
};

static int du_repo(void *ctx, const char *name)
{
	struct du *u = ctx;

	return strlist_add(&u->repos, name) < 0 ? err_sys(u->e, "out of memory") : 0;
}

static int du_link(void *ctx, const struct digest *d)
{
	struct du *u = ctx;
	char ds[DIGEST_STR_MAX];
	off_t sz;
	int r = store_blob_stat(u->st, d, &sz, u->e);

	if (r <= 0)
		return r; /* a dangling link holds no bytes; an error stops */
	u->bytes += (long long)sz;
	digest_format(d, ds);
	return strlist_add(&u->seen, ds) < 0 ? err_sys(u->e, "out of memory") : 0;
}

static int cmd_du(const char *cfgpath, int argc, char **argv)
{
	struct config cfg;
	struct store st;
	struct err e = ERR_INIT;
	struct du u = { NULL, STRLIST_INIT, STRLIST_INIT, 0, &e };
	long long total = 0;
	size_t i, k;
	int rc = 0;

	(void)argv;
	if (wants_help(argc, argv) || argc > 1) {
		printf("usage: berth du\n"
		       "Prints the bytes of the blobs each repository links (its\n"
		       "layers and manifests), and a total in which a blob shared by\n"
		       "several repositories counts once; then each policy.quota rule's\n"
		       "usage (a blob shared by its repositories counted once) against\n"
		       "its limit.\n");
		return argc > 1 ? 2 : 0;
	}
	if (cli_load(cfgpath, &cfg, &st) < 0)
		return 1;
	u.st = &st;
	if (store_each_repo(&st, du_repo, &u, &e) < 0) {
		fprintf(stderr, "berth du: %s %s\n", e.msg, e.detail);
		rc = 1;
		goto out;
	}
	strlist_sort(&u.repos);
	for (i = 0; i < u.repos.n; i++) {
		u.bytes = 0;
		for (k = 0; k < 2; k++)
			if (store_each_link(&st, u.repos.items[i], k ? STORE_REVISION : STORE_LAYER,
					    du_link, &u, &e) < 0) {
				fprintf(stderr, "berth du: %s: %s %s\n", u.repos.items[i],
					e.msg, e.detail);
				rc = 1;
			}
		printf("%14lld  %s\n", u.bytes, u.repos.items[i]);
	}
	strlist_sort(&u.seen);
	for (i = 0; i < u.seen.n; i++) {
		struct digest d;
		off_t sz;
		if (i && !strcmp(u.seen.items[i], u.seen.items[i - 1]))
			continue;
		if (digest_parse(u.seen.items[i], &d, &e) == 0 &&
		    store_blob_stat(&st, &d, &sz, &e) > 0)
			total += sz;
	}
	printf("%14lld  total (shared blobs counted once)%s\n", total,
	       rc ? ", some repositories could not be read" : "");
	/* Each quota: what the store says is charged (counted now when it
	 * never was), against the limit. */
	{
		const struct policy_quota *q;
		long long used;
		char us[32], ls[32];
		int r;

		for (i = 0; (q = policy_quota_at(cfg.policy, i)); i++) {
			r = quota_usage(&st, q, &used, &e);
			if (r == 0 && quota_recount(&st, cfg.policy, NULL, NULL, &e) == 0)
				r = quota_usage(&st, q, &used, &e);
			if (r < 0) {
				fprintf(stderr, "berth du: %s: %s %s\n", q->desc, e.msg, e.detail);
				rc = 1;
				continue;
			}
			quota_fmt_size(used, us, sizeof(us));
			quota_fmt_size(q->limit, ls, sizeof(ls));
			printf("%14lld  quota %s: %s of %s (%.0f%%)\n", used, q->desc, us, ls,
			       100.0 * (double)used / (double)q->limit);
		}
	}
out:
	strlist_free(&u.repos);
	strlist_free(&u.seen);
	store_close(&st);
	config_free(&cfg);
	return rc;
}

/* The probe of GET /healthz, from the command line: for the systemd
 * unit's ExecStartPost and for an operator who wonders. */
static int cmd_health(const char *cfgpath, int argc, char **argv)
{
	struct config cfg;
	struct store st;
	struct health h;
	json_t *doc;
	char *s;

	if (wants_help(argc, argv)) {
		printf("usage: berth health\n"
		       "Writes a small probe file in the store, reads it back and\n"
		       "removes it, as GET /healthz does; prints the answer. Exit\n"
		       "status 0 when the store is healthy, 1 otherwise (unwritable,\n"
		       "full, read-only mode).\n");
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "berth health: unknown option %s\n", argv[1]);
		return 2;
	}
	if (cli_load(cfgpath, &cfg, &st) < 0)
		return 1;
	health_check(&st, cfg.readonly, &h);
	doc = h.state == HEALTH_OK
		      ? json_pack("{s:s}", "status", "ok")
		      : json_pack("{s:s, s:s}", "status", health_state_name(h.state),
				  "reason", h.reason);
	s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (s)
		printf("%s\n", s);
	free(s);
	if (h.detail[0])
		fprintf(stderr, "berth health: %s\n", h.detail);
	store_close(&st);
	config_free(&cfg);
	return h.state == HEALTH_OK ? 0 : 1;
}

static int cmd_config(int argc, char **argv)
{
	struct config cfg;
	struct buf warn = BUF_INIT, dump = BUF_INIT;
	struct err e = ERR_INIT;

	if (wants_help(argc, argv) || argc != 3 || strcmp(argv[1], "check")) {
		printf("usage: berth config check FILE\n"
		       "Loads a registry:2 config.yml (with REGISTRY_* overrides),\n"
		       "prints the warnings for keys Berth accepts but does not use,\n"
		       "then every effective setting. Exit status 1 when the file\n"
		       "would stop the registry from starting.\n");
		return wants_help(argc, argv) ? 0 : 2;
	}
	if (config_load(argv[2], environ, &cfg, &warn, &e) < 0) {
		fprintf(stderr, "berth: %s\n", e.msg);
		buf_free(&warn);
		return 1;
	}
	fputs(warn.s, stdout);
	config_dump(&cfg, &dump);
	fputs(dump.s, stdout);
	printf("configuration ok\n");
	buf_free(&warn);
	buf_free(&dump);
	config_free(&cfg);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cfgpath = NULL;
	int i = 1;

	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "-c") && i + 1 < argc) {
			cfgpath = argv[i + 1];
			i += 2;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			return usage(0);
		} else {
			return usage(2);
		}
	}
	if (i >= argc)
		return usage(2);
	/* Options may also follow the command: berth gc -c FILE. */
	for (int j = i + 1; j + 1 < argc; j++)
		if (!strcmp(argv[j], "-c")) {
			cfgpath = argv[j + 1];
			memmove(&argv[j], &argv[j + 2], (size_t)(argc - j - 2) * sizeof(char *));
			argc -= 2;
			j--;
		}
	if (!strcmp(argv[i], "gc"))
		return cmd_gc(cfgpath, argc - i, argv + i);
	if (!strcmp(argv[i], "fsck"))
		return cmd_fsck(cfgpath, argc - i, argv + i);
	if (!strcmp(argv[i], "ls"))
		return cmd_ls(cfgpath, argc - i, argv + i);
	if (!strcmp(argv[i], "du"))
		return cmd_du(cfgpath, argc - i, argv + i);
	if (!strcmp(argv[i], "health"))
		return cmd_health(cfgpath, argc - i, argv + i);
	if (!strcmp(argv[i], "user"))
		return cmd_user(cfgpath, argc - i, argv + i);
	if (!strcmp(argv[i], "config"))
		return cmd_config(argc - i, argv + i);
	if (!strcmp(argv[i], "events"))
		return cmd_events(cfgpath, argc - i, argv + i);
	fprintf(stderr, "berth: unknown command %s\n", argv[i]);
	return usage(2);
}
