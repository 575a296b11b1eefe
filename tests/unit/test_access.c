/* The access section: its form, its errors, its patterns, its answers. */
#include <stdio.h>
#include <string.h>

#include "t.h"
#include "../../core/access.h"
#include "../../core/config.h"

static int load(const char *yml, struct config *c, struct err *e)
{
	struct buf w = BUF_INIT;
	int r;

	r = config_load(t_config_file(yml), NULL, c, &w, e);
	buf_free(&w);
	return r;
}

static const char good[] =
	"version: 0.1\n"
	"access:\n"
	"  groups:\n"
	"    devs: [alice, bob]\n"
	"  repositories:            # the first entry whose match fits decides\n"
	"    - match: \"team-a/**\"\n"
	"      pull: [\"@devs\", \"ci\"]\n"
	"      push: [\"alice\"]\n"
	"      delete: [\"alice\"]\n"
	"    - match: \"public/**\"\n"
	"      pull: [\"*\", \"anonymous\"]\n"
	"    - match: \"*/shared\"\n"
	"      delete: [\"ci\"]\n";

void test_access(void)
{
	struct config c;
	struct err e = ERR_INIT;
	const struct access *a;

	CHECK(access_match("team-a/**", "team-a/x"));
	CHECK(access_match("team-a/**", "team-a/x/y"));
	CHECK(access_match("team-a/**", "team-a"));
	CHECK(!access_match("team-a/**", "team-ab"));
	CHECK(!access_match("team-a/**", "team-b/x"));
	CHECK(access_match("*/shared", "x/shared"));
	CHECK(!access_match("*/shared", "x/y/shared"));
	CHECK(access_match("**/shared", "shared"));
	CHECK(access_match("**/shared", "x/y/shared"));
	CHECK(access_match("a/**/b", "a/b") && access_match("a/**/b", "a/x/y/b"));
	CHECK(access_match("**", "anything/at/all"));
	CHECK(access_match("lib*", "library") && !access_match("lib*", "lib/x"));

	CHECK(load(good, &c, &e) == 0);
	a = c.access;
	CHECK(a != NULL);
	/* pull through a group and by name; push implies pull */
	CHECK(access_allows(a, "bob", "team-a/app", ACCESS_PULL));
	CHECK(access_allows(a, "ci", "team-a/app", ACCESS_PULL));
	CHECK(!access_allows(a, "bob", "team-a/app", ACCESS_PUSH));
	CHECK(access_allows(a, "alice", "team-a/app", ACCESS_PUSH));
	CHECK(access_allows(a, "alice", "team-a/app", ACCESS_DELETE));
	CHECK(!access_allows(a, "carol", "team-a/app", ACCESS_PULL));
	CHECK(!access_allows(a, NULL, "team-a/app", ACCESS_PULL));
	/* * is any authenticated user, anonymous is no credentials */
	CHECK(access_allows(a, "carol", "public/x", ACCESS_PULL));
	CHECK(access_allows(a, NULL, "public/x", ACCESS_PULL));
	CHECK(!access_allows(a, "carol", "public/x", ACCESS_PUSH));
	/* delete implies neither pull nor push */
	CHECK(access_allows(a, "ci", "x/shared", ACCESS_DELETE));
	CHECK(!access_allows(a, "ci", "x/shared", ACCESS_PULL));
	/* the first entry that fits decides; nothing fits: closed */
	CHECK(!access_allows(a, "ci", "team-a/shared", ACCESS_DELETE));
	CHECK(!access_allows(a, "alice", "elsewhere", ACCESS_PULL));
	CHECK(access_anonymous_welcome(a));
	config_free(&c);

	/* Without the section: everything, and no anonymous welcome. */
	CHECK(load("version: 0.1\n", &c, &e) == 0 && !c.access);
	CHECK(access_allows(c.access, "anyone", "x", ACCESS_DELETE));
	CHECK(!access_anonymous_welcome(c.access));
	config_free(&c);

	/* Mistakes stop start-up, naming the line. */
	CHECK(load("access:\n  repositories:\n    - match: \"a/**\"\n      pull: [\"@nobody\"]\n",
		   &c, &e) < 0 && strstr(e.msg, ":4:") && strstr(e.msg, "unknown group @nobody"));
	CHECK(load("access:\n  repositories:\n    - match: \"A/**\"\n", &c, &e) < 0 &&
	      strstr(e.msg, ":3:") && strstr(e.msg, "cannot match"));
	CHECK(load("access:\n  repositories:\n    - match: \"a//b\"\n", &c, &e) < 0);
	CHECK(load("access:\n  repositories:\n    - match: x\n      pul: [a]\n", &c, &e) < 0 &&
	      strstr(e.msg, ":4:") && strstr(e.msg, "unknown key pul"));
	CHECK(load("access:\n  users: {}\n", &c, &e) < 0 && strstr(e.msg, ":2:"));
	CHECK(load("access:\n  repositories:\n    - pull: [a]\n", &c, &e) < 0 &&
	      strstr(e.msg, "without match"));
	CHECK(load("access:\n  repositories:\n    - match: x\n      pull: a\n", &c, &e) < 0 &&
	      strstr(e.msg, "list of principals"));
	CHECK(load("access:\n  groups:\n    g: [\"@h\"]\n", &c, &e) < 0);
	CHECK(load("access: [1]\n", &c, &e) < 0);
}
