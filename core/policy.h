/*
 * policy: the rules of config.yml's `policy` section that go beyond
 * registry:2, read once at start-up like `access`.
 *
 *   policy:
 *     immutable:
 *       - repositories: "prod/ **"       # one pattern or a list of them
 *                                        # (no space: a comment cannot hold it)
 *         tags: ["v*", "release-*"]      # tag globs
 *     retention:
 *       interval: 24h                  # the supervisor applies it (else by hand)
 *       rules:                         # the first whose repositories fit decides
 *         - repositories: "ci/ **"
 *           keepnewest: 10             # the newest tags by push time
 *           keeptags: ["latest", "v*"] # never by this rule
 *           olderthan: 720h            # of the rest, only older ones go
 *           untaggedolderthan: 168h    # manifests no tag names
 *     quota:                           # the first whose repositories fit decides
 *       - repositories: "team-a/ **"
 *         limit: 10GiB                 # bytes of the blobs they link
 *
 * A repository pattern follows access.h's glob (one star within a path
 * component, two stars any number of components); a tag glob has single
 * stars only, as tags have no slash. registry:2's own `policy.repository`
 * (repository classes, a schema1-era setting) is accepted and ignored
 * with a warning, so a registry:2 config still loads.
 *
 * Immutable tags: once a tag that a rule covers exists, it is never moved
 * to another manifest nor removed, by any request (manifest.h enforces it,
 * with the rule's description in the error).
 *
 * Retention (gc.h applies it, `berth gc --retention`): in a repository a
 * rule covers, a tag goes when it is none of immutable, kept by keeptags,
 * among the keepnewest newest (push time: when its current link was last
 * written), and, with olderthan, it is older than that; untagged manifests
 * older than untaggedolderthan go too. A rule must remove something: it
 * has keepnewest, olderthan or untaggedolderthan.
 *
 * Contract: policy_parse() accepts exactly that form and fails naming the
 * file and line for anything else (an unknown key, a pattern that can fit
 * no repository or tag). Without a policy section (a NULL struct policy)
 * there are no rules.
 */
#ifndef BERTH_POLICY_H
#define BERTH_POLICY_H

#include <stddef.h>
#include <yaml.h>
#include "buf.h"
#include "err.h"

struct policy;

/* node: the value of the `policy` key in doc; warnings gets a line for
 * each key that is accepted but not acted on. */
int policy_parse(yaml_document_t *doc, yaml_node_t *node, const char *file,
		 struct buf *warnings, struct policy **out, struct err *e);
void policy_free(struct policy *p);
/* The first immutable rule that covers tag in repository repo, as a
 * description fit for a client's error message ("policy.immutable rule 1
 * (repositories prod/STARSTAR, tags v*, release-*)" where STARSTAR is two
 * stars), or NULL when none does. */
const char *policy_immutable(const struct policy *p, const char *repo,
			     const char *tag);
/* Number of immutable rules, for `config check`. */
size_t policy_immutable_count(const struct policy *p);

struct policy_retention {
	long keep_newest;            /* -1: no limit by count */
	double older_than;           /* seconds; < 0: tags of any age */
	double untagged_older_than;  /* seconds; < 0: untagged manifests stay */
	size_t num;                  /* the rule's number, from 1 */
};
/* The retention rule that covers repo (the first that fits), or NULL. */
const struct policy_retention *policy_retention(const struct policy *p,
						const char *repo);
/* Whether rule r's keeptags covers tag. */
int policy_retention_keeps(const struct policy *p,
			   const struct policy_retention *r, const char *tag);
size_t policy_retention_count(const struct policy *p);
/* policy.retention.interval in seconds; 0 when unset. */
double policy_retention_interval(const struct policy *p);

struct policy_quota {
	long long limit;             /* bytes */
	size_t num;                  /* the rule's number, from 1 */
	char key[17];                /* a name for its accounting (quota.h):
				      * from its patterns, not its place */
	const char *desc;            /* "policy.quota rule 1 (repositories ...)" */
};
/* The quota rule that covers repo (the first that fits), or NULL. */
const struct policy_quota *policy_quota(const struct policy *p, const char *repo);
size_t policy_quota_count(const struct policy *p);
const struct policy_quota *policy_quota_at(const struct policy *p, size_t i);

#endif
