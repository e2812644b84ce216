/* config.h - config files for ship: one `key: value` per line, where each
 * key is the long name of a command-line option (so every option has a
 * config key and the two cannot drift) and `path: GLOB` adds an input.
 * '#' starts a comment; a key may repeat where the option may. */
#ifndef LS_CONFIG_H
#define LS_CONFIG_H

#include <stddef.h>

#include "opts.h"

#define LS_CONFIG_MAX_PATHS 256

/* The key handed to the handler for `auth: SECRET`, a setting only config
 * files have (credentials never go on the command line). */
#define LS_CONFIG_KEY_AUTH 1000

/* What a config file leaves behind: its inputs and the values the option
 * handler keeps pointers to (they live until ls_config_release()). */
struct ls_config {
	char *paths[LS_CONFIG_MAX_PATHS];
	int npaths;
	char **values;
	size_t nvalues, cap;
};

/* Reads path and calls handle(ctx, key, value) for each setting, as the
 * option parser would (values are copies owned by cfg). Flags (options
 * without an argument) take yes/no, true/false or on/off. `path:` lines go
 * to cfg->paths. A bad line is reported as "logship SUB: FILE:LINE: ..." (an
 * unknown key with the closest one) and -2 is returned. cfg must be zeroed
 * first; free with ls_config_release() either way. */
int ls_config_load(const char *sub, const char *path, const struct ls_opt *table,
		   int (*handle)(void *ctx, int key, const char *arg), void *ctx,
		   struct ls_config *cfg);
void ls_config_release(struct ls_config *cfg);

#endif
