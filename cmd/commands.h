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

/* "now" for the run: LOGSHIP_NOW (RFC 3339) or the clock, in ms. Returns
 * -1 with a message when LOGSHIP_NOW is set but unreadable. */
int ls_now_ms(int64_t *now);

/* Prints a catalog warning ("logship: warning: ...") to stderr. */
void ls_warn_cb(void *ctx, const char *msg);

#endif
