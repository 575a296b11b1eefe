#include <stdio.h>
#include <string.h>

#include "t.h"
#include "../../core/config.h"

static int load(const char *text, char *const *env, struct config *c,
		struct buf *warn, struct err *e)
{
	return config_load(text ? t_config_file(text) : NULL, env, c, warn, e);
}

void test_config(void)
{
	struct config c;
	struct buf w = BUF_INIT;
	struct err e = ERR_INIT;
	char *env[] = { "REGISTRY_STORAGE_DELETE_ENABLED=yes",
			"REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=/srv/reg",
			"REGISTRY_AUTH=htpasswd", "REGISTRY_HTTP_ADDR=0.0.0.0:5000",
			"REGISTRY_NOPE=1", "HOME=/root", NULL };
	char *badenv[] = { "REGISTRY_STORAGE=s3", NULL };

	/* The first seed's config, as it is. */
	CHECK(load("version: 0.1\nlog:\n  fields:\n    service: registry\nstorage:\n"
		   "  delete:\n    enabled: true\n  cache:\n    blobdescriptor: inmemory\n"
		   "  filesystem:\n    rootdirectory: /var/lib/registry\nhttp:\n  addr: :5000\n"
		   "  headers:\n    X-Content-Type-Options: [nosniff]\n"
		   "    Access-Control-Allow-Origin: ['http://x']\n"
		   "    Access-Control-Max-Age: [1728000]\nauth:\n  htpasswd:\n"
		   "    realm: basic-realm\n    path: /auth/htpasswd\nhealth:\n"
		   "  storagedriver:\n    enabled: true\n    interval: 10s\n    threshold: 3\n",
		   NULL, &c, &w, &e) == 0);
	CHECK(c.delete_enabled == 1);
	CHECK(!strcmp(c.rootdirectory, "/var/lib/registry"));
	CHECK(c.nheaders == 3 && !strcmp(c.headers[2].values[0], "1728000"));
	CHECK(!strcmp(c.htpasswd_path, "/auth/htpasswd"));
	CHECK(strstr(w.s, ":3: log.fields is accepted but not used") != NULL);
	CHECK(strstr(w.s, "storage.cache") && strstr(w.s, "health"));
	config_free(&c);
	buf_reset(&w);

	/* An access section nobody can be identified for is legal (anonymous
	 * pulls only), but said at start-up; so is a trust that is unused. */
	CHECK(load("version: 0.1\naccess:\n  repositories:\n    - match: \"pub/**\"\n"
		   "      pull: [anonymous]\n", NULL, &c, &w, &e) == 0);
	CHECK(w.s && strstr(w.s, "every request is anonymous") != NULL);
	config_free(&c);
	buf_reset(&w);
	CHECK(load("version: 0.1\nauth:\n  htpasswd:\n    realm: r\n    path: /h\n"
		   "berth:\n  trustremoteuser: true\n", NULL, &c, &w, &e) == 0);
	CHECK(w.s && strstr(w.s, "trustremoteuser is not used") != NULL);
	config_free(&c);
	buf_reset(&w);

	CHECK(load(NULL, env, &c, &w, &e) == 0);
	CHECK(c.delete_enabled == 1 && !strcmp(c.rootdirectory, "/srv/reg"));
	CHECK(strstr(w.s, "REGISTRY_NOPE") && strstr(w.s, "http.addr"));
	config_free(&c);
	buf_reset(&w);

	CHECK(load(NULL, badenv, &c, &w, &e) < 0);
	CHECK(load("version: 0.1\nstorage:\n  filesystem:\n    rootdirectry: /x\n", NULL, &c, &w, &e) < 0);
	CHECK(strstr(e.msg, ":4: unknown key storage.filesystem.rootdirectry") != NULL);
	CHECK(load("version: 0.1\nstorage:\n  s3:\n    bucket: b\n", NULL, &c, &w, &e) < 0);
	CHECK(strstr(e.msg, ":3:") && strstr(e.msg, "filesystem only"));
	CHECK(load("version: 0.1\nstorage:\n  delete:\n    enabled: maybe\n", NULL, &c, &w, &e) < 0);
	CHECK(strstr(e.msg, ":4: storage.delete.enabled: 'maybe' is not a boolean") != NULL);
	CHECK(load("version: 0.1\nlog: [\n", NULL, &c, &w, &e) < 0);
	CHECK(strstr(e.msg, "malformed YAML") != NULL);
	CHECK(load("version: 0.2\n", NULL, &c, &w, &e) < 0);
	CHECK(load("", NULL, &c, &w, &e) < 0);
	CHECK(load("version: 0.1\nversion: 0.1\n", NULL, &c, &w, &e) < 0);
	CHECK(strstr(e.msg, "twice") != NULL);
	CHECK(load("version: 0.1\nberth:\n  webserver: apache\n  workers: 0\n", NULL, &c, &w, &e) < 0);
	CHECK(load("version: 0.1\nberth:\n  webserver: apache\n", NULL, &c, &w, &e) == 0);
	CHECK(c.webserver == CONFIG_WS_APACHE);
	config_free(&c);
	buf_free(&w);
}
