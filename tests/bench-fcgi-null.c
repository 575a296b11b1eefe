/*
 * bench-fcgi-null: the least a FastCGI application behind nginx can do
 * per request, for make bench: libfcgi's accept loop answering every
 * request with a fixed 200 (headers like a blob HEAD; for GET a body the
 * size of a small manifest), reading nothing from any disk. Run in the
 * same pool shape as Berth (spawn-fcgi, N processes on the same socket),
 * its rate is the ceiling of any FastCGI registry on this machine: what
 * nginx's per-request FastCGI work (a new unix-socket connection, the
 * params, the response parsing) and libfcgi leave.
 *
 * Usage: spawn-fcgi -s SOCK -- bench-fcgi-null N   (N processes)
 */
#include <fcgiapp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char HEAD[] =
	"Status: 200 OK\r\n"
	"Content-Type: application/vnd.oci.image.manifest.v1+json\r\n"
	"Content-Length: 512\r\n"
	"Docker-Content-Digest: sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n"
	"\r\n";

int main(int argc, char **argv)
{
	int n = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 1, i;
	char body[512];
	FCGX_Request r;

	memset(body, 'x', sizeof(body));
	for (i = 1; i < n; i++)
		if (fork() == 0)
			break;
	FCGX_Init();
	FCGX_InitRequest(&r, 0, 0);
	while (FCGX_Accept_r(&r) >= 0) {
		const char *m = FCGX_GetParam("REQUEST_METHOD", r.envp);

		FCGX_PutStr(HEAD, (int)sizeof(HEAD) - 1, r.out);
		if (m && strcmp(m, "HEAD"))
			FCGX_PutStr(body, (int)sizeof(body), r.out);
		FCGX_Finish_r(&r);
	}
	while (wait(NULL) > 0)
		;
	return 0;
}
