/*
 * cli: the commands of `berth` that live in their own files. Each takes
 * the config path (NULL: the defaults) and its own argv (argv[0] is the
 * command), prints what it did, and returns the exit status (0 done, 1
 * failed, 2 usage).
 */
#ifndef BERTH_CLI_H
#define BERTH_CLI_H

struct config;
struct store;

int cmd_user(const char *cfgpath, int argc, char **argv);
int cmd_events(const char *cfgpath, int argc, char **argv);
/* Loads the config (cli_config_path) and, unless st is NULL, opens its
 * store, as the store's owner when run as root: 0, -1 after saying why. */
int cli_load(const char *path, struct config *cfg, struct store *st);
/* The config file a command reads: path, else the first readable of
 * /etc/berth/config.yml and /etc/docker/registry/config.yml, else NULL
 * (the defaults). */
const char *cli_config_path(const char *path);

#endif
