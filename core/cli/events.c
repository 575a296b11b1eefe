/*
 * berth events: prints the event log (events.h) of every host, oldest
 * first, one JSON line per event; --since keeps those from a time on,
 * --follow then waits for more, as tail -f does, across rotations.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "../config.h"
#include "../events.h"
#include "../store.h"
#include "../ynode.h"
#include "../banned.h"

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

/* --since: an RFC 3339 time ("2026-12-04T10:00:00Z", or a date), or a
 * duration before now ("90m", "24h"), as the events' own timestamp form
 * (UTC, fixed width), so that a string comparison orders them. */
static int parse_since(const char *s, char *out, size_t n)
{
	struct tm tm;
	const char *end;
	double ago;
	time_t t;

	if (ynode_duration(s, &ago) == 0 && strspn(s, "0123456789") != strlen(s)) {
		t = time(NULL) - (time_t)ago;
		gmtime_r(&t, &tm);
		strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) ||
	    (end = strptime(s, "%Y-%m-%d", &tm))) {
		/* Only UTC: the log has no other zone. */
		if (*end == '.') {
			end++;
			end += strspn(end, "0123456789");
		}
		if (*end && strcmp(end, "Z"))
			return -1;
		strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
		return 0;
	}
	return -1;
}

int cmd_events(const char *cfgpath, int argc, char **argv)
{
	struct events_cursor cur = EVENTS_CURSOR_INIT;
	struct strlist lines = STRLIST_INIT;
	struct buf dir = BUF_INIT;
	struct config cfg;
	struct store st;
	struct err e = ERR_INIT;
	char since[40] = "";
	int i, follow = 0, rc = 0;
	size_t j;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: berth events [--follow] [--since TIME]\n"
			       "Prints the event log, oldest first: one JSON line per push,\n"
			       "delete, gc or retention removal and, with berth.events.pulls,\n"
			       "manifest pull, in registry:2's notification format, from every\n"
			       "host writing to berth.events.directory (default: the store's\n"
			       "_berth/events). --since TIME keeps events from TIME on (UTC,\n"
			       "2026-12-04T10:00:00Z or 2026-12-04) or from a duration ago\n"
			       "(90m, 24h); --follow then prints new events as they come.\n");
			return 0;
		} else if (!strcmp(argv[i], "--follow") || !strcmp(argv[i], "-f")) {
			follow = 1;
		} else if (!strcmp(argv[i], "--since") && i + 1 < argc) {
			if (parse_since(argv[++i], since, sizeof(since)) < 0) {
				fprintf(stderr, "berth events: --since %s: not a time "
					"(2026-12-04T10:00:00Z) or a duration (24h)\n", argv[i]);
				return 2;
			}
		} else {
			fprintf(stderr, "berth events: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (cli_load(cfgpath, &cfg, &st) < 0)
		return 1;
	if (events_dir(&st, &cfg, &dir, &e) < 0) {
		fprintf(stderr, "berth events: %s\n", e.msg);
		rc = 1;
		goto out;
	}
	signal(SIGINT, on_stop);
	signal(SIGTERM, on_stop);
	setvbuf(stdout, NULL, _IOLBF, 0);
	do {
		if (events_read(dir.s, since[0] ? since : NULL, &cur, &lines, &e) < 0) {
			fprintf(stderr, "berth events: %s%s%s\n", e.msg,
				e.detail[0] ? ": " : "", e.detail);
			rc = 1;
			break;
		}
		for (j = 0; j < lines.n; j++)
			printf("%s\n", lines.items[j]);
		strlist_free(&lines);
		if (follow && !stop)
			usleep(500 * 1000);
	} while (follow && !stop);
out:
	events_cursor_free(&cur);
	buf_free(&dir);
	store_close(&st);
	config_free(&cfg);
	return rc;
}
