#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "t.h"

int t_passed, t_failed;

const char *t_tmpdir(void)
{
	static char path[64];

	snprintf(path, sizeof(path), "/tmp/berth-unit-XXXXXX");
	if (!mkdtemp(path)) {
		perror("mkdtemp");
		exit(2);
	}
	return path;
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
	printf("unit: %d passed, %d failed\n", t_passed, t_failed);
	return t_failed ? 1 : 0;
}
