/*
 * t: the unit-test harness. CHECK records a result and goes on; each test
 * file registers its functions in tests/unit/main.c. Output ends with the
 * line "unit: N passed, N failed".
 */
#ifndef BERTH_T_H
#define BERTH_T_H

#include <stdio.h>

extern int t_passed, t_failed;

#define CHECK(cond) do { \
	if (cond) { t_passed++; } else { t_failed++; \
		fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); } \
} while (0)

/* A fresh empty directory under /tmp for a test's store. */
const char *t_tmpdir(void);
/* text written to config.yml in a fresh t_tmpdir(); its path (valid
 * until the next call). */
const char *t_config_file(const char *text);

void test_name(void);
void test_digest(void);
void test_store(void);
void test_upload(void);
void test_manifest(void);
void test_config(void);
void test_catalog(void);
void test_gc(void);
void test_store_errors(void);
void test_access(void);
void test_auth(void);
void test_snapshot(void);
void test_tags_page(void);
void test_put(void);
void test_upload_put(void);
void test_fsbatch(void);
void test_sink(void);
void test_service(void);
void test_fs(void);
void test_policy(void);
void test_events(void);

#endif
