/* The event log: its lines, rotation by size, pruning, and a reader that
 * follows across rotations without losing or repeating a line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <jansson.h>

#include "t.h"
#include "../../core/config.h"
#include "../../core/events.h"
#include "../../core/fsutil.h"

static int count_files(const char *dir)
{
	struct strlist l = STRLIST_INIT;
	struct err e = ERR_INIT;
	int n;

	fs_list(dir, FS_LIST_NODOT, &l, &e);
	n = (int)l.n;
	strlist_free(&l);
	return n;
}

void test_events(void)
{
	struct config c;
	struct buf w = BUF_INIT, dir = BUF_INIT;
	struct err e = ERR_INIT;
	struct store st;
	struct events *ev;
	struct events_cursor cur = EVENTS_CURSOR_INIT;
	struct strlist lines = STRLIST_INIT;
	struct digest d;
	struct events_request rq = { "req-1", "10.0.0.7", "reg.example", "PUT", "skopeo/1.9" };
	struct events_target t = { "application/vnd.oci.image.manifest.v1+json", &d, 512,
				   "prod/app", "v1" };
	json_t *j;
	int i, ok, k;

	CHECK(config_load(NULL, NULL, &c, &w, &e) == 0);
	CHECK(c.events_enabled && !c.events_pulls && c.events_maxsize == 64L << 20);
	CHECK(store_open(&st, t_tmpdir(), &e) == 0);
	c.events_maxsize = 4096;
	c.events_keep = 2;
	CHECK(events_open(&ev, &st, &c, &e) == 0 && ev);
	CHECK(events_dir(&st, &c, &dir, &e) == 0 && strstr(dir.s, "/_berth/events"));
	digest_of(DIGEST_SHA256, "x", 1, &d);

	/* The envelope registry:2 writes, one line each. */
	CHECK(events_emit(ev, "push", &t, &rq, "alice", &e) == 0);
	CHECK(events_read(dir.s, NULL, &cur, &lines, &e) == 0 && lines.n == 1);
	j = json_loads(lines.n ? lines.items[0] : "", 0, NULL);
	CHECK(j && !strcmp(json_string_value(json_object_get(j, "action")), "push"));
	CHECK(j && strlen(json_string_value(json_object_get(j, "id"))) == 36);
	CHECK(j && strlen(json_string_value(json_object_get(j, "timestamp"))) == 30);
	CHECK(j && !strcmp(json_string_value(json_object_get(json_object_get(j, "target"),
							    "repository")), "prod/app"));
	CHECK(j && !strcmp(json_string_value(json_object_get(json_object_get(j, "target"),
							    "tag")), "v1"));
	CHECK(j && json_integer_value(json_object_get(json_object_get(j, "target"), "size")) == 512);
	CHECK(j && !strncmp(json_string_value(json_object_get(json_object_get(j, "target"),
							     "digest")), "sha256:", 7));
	CHECK(j && !strcmp(json_string_value(json_object_get(json_object_get(j, "request"),
							    "useragent")), "skopeo/1.9"));
	CHECK(j && !strcmp(json_string_value(json_object_get(json_object_get(j, "actor"),
							    "name")), "alice"));
	json_decref(j);
	strlist_free(&lines);
	/* Nothing new: nothing read again. */
	CHECK(events_read(dir.s, NULL, &cur, &lines, &e) == 0 && lines.n == 0);

	/* Four processes writing at once, through rotations every few
	 * lines: every line whole, none lost. */
	c.events_keep = 1000;
	for (k = 0; k < 4; k++)
		if (fork() == 0) {
			struct events *mine;
			struct err ce = ERR_INIT;
			if (events_open(&mine, &st, &c, &ce) < 0)
				_exit(1);
			for (i = 0; i < 50; i++)
				if (events_emit(mine, "delete", &t, NULL, "berth gc", &ce) < 0)
					_exit(1);
			events_close(mine);
			_exit(0);
		}
	ok = 1;
	for (k = 0; k < 4; k++) {
		int status;
		wait(&status);
		ok &= WIFEXITED(status) && WEXITSTATUS(status) == 0;
	}
	CHECK(ok);
	/* Every line reads as an event, in time order. */
	CHECK(events_read(dir.s, NULL, &cur, &lines, &e) == 0 && lines.n == 200);
	ok = 1;
	for (i = 0; i < (int)lines.n; i++) {
		json_t *x = json_loads(lines.items[i], 0, NULL);
		ok &= x != NULL;
		if (i > 0) {
			json_t *p = json_loads(lines.items[i - 1], 0, NULL);
			ok &= p && x && strcmp(json_string_value(json_object_get(p, "timestamp")),
					       json_string_value(json_object_get(x, "timestamp"))) <= 0;
			json_decref(p);
		}
		json_decref(x);
	}
	CHECK(ok);
	strlist_free(&lines);
	/* keep 2: a rotation prunes the host's oldest files beyond two. */
	events_close(ev);
	c.events_keep = 2;
	CHECK(events_open(&ev, &st, &c, &e) == 0);
	for (i = 0; i < 40; i++)
		events_emit(ev, "delete", &t, NULL, "berth gc", &e);
	CHECK(count_files(dir.s) == 3);
	events_close(ev);
	c.events_keep = 1000;
	CHECK(events_open(&ev, &st, &c, &e) == 0);

	/* A follower across rotations: 300 lines, 4 KiB files, none pruned. */
	events_cursor_free(&cur);
	fs_remove_tree(dir.s, &e);
	{
		int got = 0;
		ok = 1;
		for (i = 0; i < 300; i++) {
			ok &= events_emit(ev, "pull", &t, &rq, "bob", &e) == 0;
			if (i % 37 == 0) {
				CHECK(events_read(dir.s, NULL, &cur, &lines, &e) == 0);
				got += (int)lines.n;
				strlist_free(&lines);
			}
		}
		CHECK(events_read(dir.s, NULL, &cur, &lines, &e) == 0);
		got += (int)lines.n;
		strlist_free(&lines);
		CHECK(ok && got == 300);
		CHECK(count_files(dir.s) > 10);
	}
	/* --since: only from that time on. */
	events_cursor_free(&cur);
	CHECK(events_read(dir.s, "2999-01-01T00:00:00", &cur, &lines, &e) == 0 && lines.n == 0);
	events_cursor_free(&cur);
	CHECK(events_read(dir.s, "2000-01-01T00:00:00", &cur, &lines, &e) == 0 && lines.n == 300);
	strlist_free(&lines);
	events_cursor_free(&cur);

	/* Off: nothing at all. */
	events_close(ev);
	c.events_enabled = 0;
	CHECK(events_open(&ev, &st, &c, &e) == 0 && !ev);
	CHECK(events_emit(NULL, "push", &t, &rq, "alice", &e) == 0);
	CHECK(!events_pulls(NULL));
	store_close(&st);
	config_free(&c);
	buf_free(&w);
	buf_free(&dir);
}
