/* metrics: slots taken, summed and rendered; health: the probe's answers. */
#include "t.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../core/health.h"
#include "../../core/metrics.h"
#include "../../core/banned.h"

/* The value of the first line of text that begins with key. */
static double value_of(const char *text, const char *key)
{
	const char *p = text;
	size_t n = strlen(key);

	while (p && *p) {
		if (!strncmp(p, key, n) && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

static void test_metrics(void)
{
	struct buf dir = BUF_INIT, out = BUF_INIT;
	struct err e = ERR_INIT;
	pid_t pid;
	int st;

	buf_addf(&dir, "%s/metrics", t_tmpdir());
	CHECK(metrics_open(dir.s, &e) == 0);
	metrics_request("GET", 200, 0.003);
	metrics_request("PUT", 201, 2.0);
	metrics_request("BREW", 999, 0.0001);
	metrics_add(METRICS_UPLOADS_STARTED, 3);
	metrics_add(METRICS_UPLOADS_COMPLETED, 1);
	/* A child process takes a slot of its own and counts there. */
	pid = fork();
	if (pid == 0) {
		struct err ce = ERR_INIT;

		if (metrics_open(dir.s, &ce) < 0)
			_exit(1);
		metrics_request("GET", 200, 0.5);
		metrics_gc(1, 0, 0, 2, 100);
		_exit(0);
	}
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(metrics_render(dir.s, &out, &e) == 0);
	CHECK(value_of(out.s, "berth_http_requests_total{method=\"GET\",code=\"200\"}") == 2);
	CHECK(value_of(out.s, "berth_http_requests_total{method=\"PUT\",code=\"201\"}") == 1);
	CHECK(value_of(out.s, "berth_http_requests_total{method=\"other\",code=\"other\"}") == 1);
	CHECK(value_of(out.s, "berth_http_request_duration_seconds_count") == 4);
	CHECK(value_of(out.s, "berth_http_request_duration_seconds_bucket{le=\"0.005\"}") == 2);
	CHECK(value_of(out.s, "berth_http_request_duration_seconds_bucket{le=\"+Inf\"}") == 4);
	/* started 3 - completed 1 - purged 2 */
	CHECK(value_of(out.s, "berth_uploads_in_progress") == 0);
	CHECK(value_of(out.s, "berth_upload_purge_runs_total") == 1);
	CHECK(value_of(out.s, "berth_upload_purge_reclaimed_bytes_total") == 100);
	/* Only this process holds a slot now: the child's is free. */
	CHECK(value_of(out.s, "berth_processes") == 1);
	CHECK(value_of(out.s, "process_start_time_seconds") > 0);
	/* A restarted process takes a free slot and goes on counting. */
	metrics_close();
	CHECK(metrics_open(dir.s, &e) == 0);
	metrics_request("GET", 200, 0.001);
	buf_reset(&out);
	CHECK(metrics_render(dir.s, &out, &e) == 0);
	CHECK(value_of(out.s, "berth_http_requests_total{method=\"GET\",code=\"200\"}") == 3);
	metrics_close();
	/* Without a slot nothing is counted and nothing fails. */
	metrics_request("GET", 200, 0.001);
	CHECK(metrics_open("", &e) < 0);
	buf_reset(&out);
	CHECK(metrics_render("/nonexistent/metrics", &out, &e) < 0);
	buf_free(&dir);
	buf_free(&out);
}

static void test_health(void)
{
	struct store st;
	struct err e = ERR_INIT;
	struct health h;
	struct buf p = BUF_INIT;

	CHECK(store_open(&st, t_tmpdir(), &e) == 0);
	health_check(&st, 0, &h);
	CHECK(h.state == HEALTH_OK);
	health_check(&st, 1, &h);
	CHECK(h.state == HEALTH_READONLY);
	CHECK(!strcmp(health_state_name(h.state), "read-only"));
	/* A file where the probe's directory should be: broken, said so. */
	CHECK(store_berth_path(&st, "health", &p, &e) == 0);
	{
		struct buf cmd = BUF_INIT;

		buf_addf(&cmd, "rm -rf '%s' && touch '%s'", p.s, p.s);
		CHECK(system(cmd.s) == 0);
		buf_free(&cmd);
	}
	health_check(&st, 0, &h);
	CHECK(h.state == HEALTH_BROKEN);
	CHECK(h.reason[0] && !strstr(h.reason, "/")); /* no path for clients */
	CHECK(strstr(h.detail, "health") != NULL);    /* the path for the log */
	unlink(p.s);
	health_check(&st, 0, &h);
	CHECK(h.state == HEALTH_OK);
	buf_free(&p);
	store_close(&st);
}

void test_service(void)
{
	test_metrics();
	test_health();
}
