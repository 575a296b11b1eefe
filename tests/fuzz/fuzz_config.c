/* libFuzzer target: config.yml parsing (libyaml walk, types, env). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct config c;
	struct buf w = BUF_INIT;
	struct err e = ERR_INIT;
	char *env[] = { "REGISTRY_STORAGE_DELETE_ENABLED=true", NULL };
	FILE *f;

	if (!path[0])
		snprintf(path, sizeof(path), "/tmp/berth-fuzz-config-%d.yml", (int)getpid());
	f = fopen(path, "wb");
	if (!f)
		abort();
	fwrite(data, 1, size, f);
	fclose(f);
	if (config_load(path, env, &c, &w, &e) == 0) {
		struct buf d = BUF_INIT;
		config_dump(&c, &d);
		buf_free(&d);
		config_free(&c);
	}
	buf_free(&w);
	return 0;
}
