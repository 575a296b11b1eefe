/*
 * name: hand-written matchers for the spec's name and tag grammars. They
 * are small enough that a regex engine would add more risk than it saves,
 * and each is fuzzed (tests/fuzz/) against the spec's regex.
 */
#include "name.h"

#include <string.h>

#include "banned.h"

static int lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* One path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* over [p, end). */
static int component_valid(const char *p, const char *end)
{
	if (p == end || !lower_alnum(*p))
		return 0;
	while (p < end) {
		while (p < end && lower_alnum(*p))
			p++;
		if (p == end)
			return 1;
		if (*p == '.') {
			p++;
		} else if (*p == '_') {
			p++;
			if (p < end && *p == '_')
				p++;
		} else if (*p == '-') {
			while (p < end && *p == '-')
				p++;
		} else {
			return 0;
		}
		if (p == end || !lower_alnum(*p))
			return 0;
	}
	return 1;
}

int name_repo_valid(const char *s, size_t len, struct err *e)
{
	const char *p = s, *end = s + len, *slash;

	if (len == 0)
		return err_set(e, ERR_NAME_INVALID, "repository name is empty");
	if (len > NAME_MAX_LEN)
		return err_set(e, ERR_NAME_INVALID,
			       "repository name is longer than %d characters",
			       NAME_MAX_LEN);
	if (memchr(s, 0, len))
		return err_set(e, ERR_NAME_INVALID,
			       "invalid repository name");
	while (p <= end) {
		slash = memchr(p, '/', (size_t)(end - p));
		if (!slash)
			slash = end;
		if (!component_valid(p, slash))
			return err_set(e, ERR_NAME_INVALID,
				       "invalid repository name");
		p = slash + 1;
	}
	return 0;
}

static int tag_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

int name_tag_valid(const char *s, struct err *e)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > TAG_MAX_LEN || s[0] == '.' || s[0] == '-')
		return err_set(e, ERR_TAG_INVALID, "invalid tag");
	for (i = 0; i < n; i++)
		if (!tag_char(s[i]))
			return err_set(e, ERR_TAG_INVALID, "invalid tag");
	return 0;
}

int name_upload_id_valid(const char *s, struct err *e)
{
	size_t i;

	if (strlen(s) != UPLOAD_ID_LEN)
		goto bad;
	for (i = 0; i < UPLOAD_ID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				goto bad;
		} else if (!((s[i] >= '0' && s[i] <= '9') ||
			     (s[i] >= 'a' && s[i] <= 'f'))) {
			goto bad;
		}
	}
	return 0;
bad:
	return err_set(e, ERR_BLOB_UPLOAD_UNKNOWN, "blob upload unknown");
}
