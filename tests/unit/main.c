#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "t.h"
#include "../../core/fsutil.h"

int t_passed, t_failed;

/* Every scratch directory, removed when the tests end. */
static char dirs[64][64];
static int ndirs;

const char *t_tmpdir(void)
{
	char *path = dirs[ndirs < 64 ? ndirs++ : 63];

	snprintf(path, 64, "/tmp/berth-unit-XXXXXX");
	if (!mkdtemp(path)) {
		perror("mkdtemp");
		exit(2);
	}
	return path;
}

const char *t_config_file(const char *text)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/config.yml", t_tmpdir());
	if (!(f = fopen(path, "w")) || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(path);
		exit(2);
	}
	return path;
}

static void cleanup(void)
{
	struct err e = ERR_INIT;
	int i;

	for (i = 0; i < ndirs; i++)
		fs_remove_tree(dirs[i], &e);
}

int main(void)
{
	test_name();
	test_digest();
	test_store();
	test_upload();
	test_manifest();
	test_config();
	test_catalog();
	test_gc();
	test_store_errors();
	test_access();
	test_auth();
	test_snapshot();
	test_tags_page();
	test_put();
	test_upload_put();
	test_fsbatch();
	test_sink();
	test_service();
	test_fs();
	test_policy();
	test_events();
	cleanup();
	printf("unit: %d passed, %d failed\n", t_passed, t_failed);
	return t_failed ? 1 : 0;
}
