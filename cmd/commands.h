/* commands.h - the subcommands, one file each (cmd/<name>.c). */
#ifndef LS_COMMANDS_H
#define LS_COMMANDS_H

#include <stdint.h>

#include "../parsers/error.h"

int cmd_parse(int argc, char **argv);
int cmd_patterns(int argc, char **argv);
int cmd_tail(int argc, char **argv);
int cmd_ship(int argc, char **argv);
void cmd_ship_help(void);
int cmd_status(int argc, char **argv);
void cmd_status_help(void);
void cmd_tail_help(void);
void cmd_parse_help(void);
void cmd_patterns_help(void);
int cmd_completion(int argc, char **argv);
void cmd_completion_help(void);

/* Each command's option table (NULL-terminated, static), for
 * `logship completion`. */
struct ls_opt;
const struct ls_opt *cmd_parse_options(void);
const struct ls_opt *cmd_tail_options(void);
const struct ls_opt *cmd_ship_options(void);
const struct ls_opt *cmd_status_options(void);
const struct ls_opt *cmd_patterns_options(void);

/* A subcommand as `logship --help` lists it (hidden ones are not). */
struct ls_subcommand_info {
	const char *name;
	const char *summary;
	const struct ls_opt *options; /* static table */
};

/* Fills *info with the i-th listed subcommand (from 0) and returns 0, or
 * returns -1 past the last. */
int ls_subcommand_at(int i, struct ls_subcommand_info *info);

/* "now" for the run: LOGSHIP_NOW (RFC 3339) or the clock, in ms. Returns
 * -1 with a message when LOGSHIP_NOW is set but unreadable. */
int ls_now_ms(int64_t *now);

/* Prints a catalog warning ("logship: warning: ...") to stderr. */
void ls_warn_cb(void *ctx, const char *msg);

#endif
