/* completion.c - `logship completion bash|zsh|fish`: prints a shell
 * completion script generated from the subcommand table (main.c) and each
 * command's option table, so the completions offer exactly the options
 * --help lists. Hidden from `logship --help`; `make completions` writes its
 * output to completions/. Format and pattern names are asked of the binary
 * at completion time (`logship patterns list --names`). */
#include "commands.h"
#include "opts.h"

#include "../parsers/patfile.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* What an option argument or an operand completes to. */
enum arg_kind {
	ARG_TEXT,         /* free text: nothing to offer */
	ARG_FILE,
	ARG_DIR,
	ARG_WORDS,        /* a fixed list */
	ARG_FORMAT,       /* auto and the format names */
	ARG_PATTERN,      /* format, rule and threshold names */
	ARG_PATTERN_FILE  /* a pattern name or a file */
};

struct arg_spec {
	enum arg_kind kind;
	const char *words; /* ARG_WORDS: space-separated */
};

/* Options whose argument is one of a few words, by long name. */
static const struct {
	const char *option;
	const char *words;
} option_words[] = {
	{"output", "json logfmt tsv pretty"},
	{"color", "auto always never"},
	{"compress", "none gzip zstd"},
	{"start-at", "beginning end"},
	{"summary", "md"},
	{"kind", "format rule threshold"},
};

/* The operands after a subcommand's options; subcommands not listed take
 * none worth completing. */
struct verb_operand {
	const char *verb;
	enum arg_kind kind;
};

static const struct operand_spec {
	const char *sub;
	enum arg_kind every;    /* of every operand, when verbs is NULL */
	const char *verbs;      /* the first operand: one of these words */
	struct verb_operand second[2]; /* the second operand, by verb */
} operand_specs[] = {
	{"parse", ARG_FILE, NULL, {{NULL, ARG_TEXT}, {NULL, ARG_TEXT}}},
	{"tail", ARG_FILE, NULL, {{NULL, ARG_TEXT}, {NULL, ARG_TEXT}}},
	{"ship", ARG_FILE, NULL, {{NULL, ARG_TEXT}, {NULL, ARG_TEXT}}},
	{"patterns", ARG_TEXT, "list show test",
	 {{"show", ARG_PATTERN}, {"test", ARG_PATTERN_FILE}}},
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* "informational low medium high critical", from the level table. */
static const char *level_words(void)
{
	static char words[128];

	if (!words[0])
		/* the names ls_level_from_name() takes back, from level 1 up */
		for (int level = 1; ls_level_from_name(ls_level_name(level)) == level; level++) {
			size_t used = strlen(words);
			snprintf(words + used, sizeof(words) - used, "%s%s", used ? " " : "",
				 ls_level_name(level));
		}
	return words;
}

/* How the argument of option o completes: a fixed word list, format names,
 * or files and directories when its argument is named FILE, PATH or DIR. */
static struct arg_spec option_arg(const struct ls_opt *o)
{
	struct arg_spec spec = {ARG_TEXT, NULL};
	size_t len = o->arg ? strlen(o->arg) : 0;

	for (size_t i = 0; i < NELEM(option_words); i++)
		if (strcmp(o->name, option_words[i].option) == 0)
			return (struct arg_spec){ARG_WORDS, option_words[i].words};
	if (strcmp(o->name, "fail-on") == 0)
		spec = (struct arg_spec){ARG_WORDS, level_words()};
	else if (strcmp(o->name, "format") == 0)
		spec.kind = ARG_FORMAT;
	else if (len >= 3 && strcmp(o->arg + len - 3, "DIR") == 0)
		spec.kind = ARG_DIR;
	else if ((len >= 4 && strcmp(o->arg + len - 4, "FILE") == 0) ||
		 (len >= 4 && strcmp(o->arg + len - 4, "PATH") == 0))
		spec.kind = ARG_FILE;
	return spec;
}

static const struct operand_spec *operands_of(const char *sub)
{
	for (size_t i = 0; i < NELEM(operand_specs); i++)
		if (strcmp(operand_specs[i].sub, sub) == 0)
			return &operand_specs[i];
	return NULL;
}

/* s with each ' written as '\'' (inside single quotes, bash and zsh). */
static void put_sq(const char *s)
{
	for (; *s; s++)
		if (*s == '\'')
			fputs("'\\''", stdout);
		else
			putchar(*s);
}

/* s for a zsh _arguments description or message, inside single quotes:
 * brackets, colons and backslashes escaped. */
static void put_zsh_text(const char *s)
{
	for (; *s; s++) {
		if (*s == '[' || *s == ']' || *s == ':' || *s == '\\')
			putchar('\\');
		if (*s == '\'')
			fputs("'\\''", stdout);
		else
			putchar(*s);
	}
}

/* s inside fish single quotes. */
static void put_fish_sq(const char *s)
{
	for (; *s; s++) {
		if (*s == '\'' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
}

/* An option the help text calls repeatable may be given again. */
static int repeatable(const struct ls_opt *o)
{
	return strstr(o->help, "repeatable") != NULL;
}

static int has_short(const struct ls_opt *o)
{
	return o->key > 0 && o->key < 256;
}

/* ---- bash ------------------------------------------------------------- */

static const char *bash_kind(enum arg_kind kind)
{
	switch (kind) {
	case ARG_FILE: return "file";
	case ARG_DIR: return "dir";
	case ARG_FORMAT: return "format";
	case ARG_PATTERN: return "pattern";
	case ARG_PATTERN_FILE: return "pattern-file";
	default: return "text";
	}
}

/* _logship_kind=WORD for an argument spec. */
static void bash_set_kind(struct arg_spec spec)
{
	if (spec.kind == ARG_WORDS)
		printf("_logship_kind='words:%s'", spec.words);
	else
		printf("_logship_kind=%s", bash_kind(spec.kind));
}

static void bash_arg_cases(const struct ls_opt *table)
{
	for (const struct ls_opt *o = table; o->name; o++) {
		if (!o->has_arg)
			continue;
		printf("\t\t");
		if (has_short(o))
			printf("-%c|", o->key);
		printf("--%s) ", o->name);
		bash_set_kind(option_arg(o));
		printf(" ;;\n");
	}
}

static void gen_bash(void)
{
	struct ls_subcommand_info sc;

	printf("# bash completion for logship                              -*- shell-script -*-\n"
	       "# Generated by `logship completion bash` from the option tables in cmd/;\n"
	       "# run `make completions` rather than editing it. Needs bash 4 (compgen,\n"
	       "# compopt, mapfile), not the bash-completion package.\n\n");

	printf("# _logship_arg SUB OPTION: sets _logship_kind to how OPTION's argument\n"
	       "# completes; fails when OPTION takes none.\n"
	       "_logship_arg()\n{\n\tcase $1 in\n");
	for (int i = 0; ls_subcommand_at(i, &sc) == 0; i++) {
		printf("\t%s)\n\t\tcase $2 in\n", sc.name);
		bash_arg_cases(sc.options);
		printf("\t\t*) return 1 ;;\n\t\tesac ;;\n");
	}
	printf("\t*) return 1 ;;\n\tesac\n}\n\n");

	printf("# _logship_options SUB: sets _logship_kind to SUB's long options.\n"
	       "_logship_options()\n{\n\t_logship_kind=\n\tcase $1 in\n");
	for (int i = 0; ls_subcommand_at(i, &sc) == 0; i++) {
		printf("\t%s) _logship_kind='", sc.name);
		for (const struct ls_opt *o = sc.options; o->name; o++)
			printf("%s--%s", o == sc.options ? "" : " ", o->name);
		printf("' ;;\n");
	}
	printf("\tesac\n}\n\n");

	printf("# _logship_operand SUB N FIRST: sets _logship_kind to how operand N (from 0)\n"
	       "# of SUB completes, FIRST being operand 0.\n"
	       "_logship_operand()\n{\n\t_logship_kind=text\n\tcase $1 in\n"
	       "\thelp) [ \"$2\" != 0 ] || _logship_kind='words:");
	for (int i = 0; ls_subcommand_at(i, &sc) == 0; i++)
		printf("%s%s", i ? " " : "", sc.name);
	printf("' ;;\n");
	for (size_t i = 0; i < NELEM(operand_specs); i++) {
		const struct operand_spec *os = &operand_specs[i];
		printf("\t%s)\n", os->sub);
		if (!os->verbs) {
			printf("\t\t");
			bash_set_kind((struct arg_spec){os->every, NULL});
			printf(" ;;\n");
			continue;
		}
		printf("\t\tcase $2:$3 in\n\t\t0:*) _logship_kind='words:%s' ;;\n", os->verbs);
		for (size_t v = 0; v < NELEM(os->second) && os->second[v].verb; v++) {
			printf("\t\t1:%s) ", os->second[v].verb);
			bash_set_kind((struct arg_spec){os->second[v].kind, NULL});
			printf(" ;;\n");
		}
		printf("\t\tesac ;;\n");
	}
	printf("\tesac\n}\n\n");

	printf("%s",
"# _logship_names [KIND]: the names `logship patterns list --names` prints\n"
"# (KIND: format, rule or threshold), with the command line's --patterns DIR.\n"
"_logship_names()\n"
"{\n"
"\tlocal i dir=\n"
"\tfor ((i = 2; i < COMP_CWORD; i++)); do\n"
"\t\tcase ${COMP_WORDS[i]} in\n"
"\t\t--patterns)\n"
"\t\t\tdir=${COMP_WORDS[i + 1]-}\n"
"\t\t\t[ \"$dir\" != = ] || dir=${COMP_WORDS[i + 2]-} ;;\n"
"\t\t--patterns=*) dir=${COMP_WORDS[i]#--patterns=} ;;\n"
"\t\tesac\n"
"\tdone\n"
"\t[ \"${dir:0:2}\" != \"~/\" ] || dir=$HOME/${dir:2}\n"
"\t\"${COMP_WORDS[0]}\" patterns list --names ${1:+--kind \"$1\"} \\\n"
"\t\t${dir:+--patterns \"$dir\"} 2>/dev/null\n"
"}\n\n"
"# _logship_reply KIND CUR: fills COMPREPLY with the candidates of KIND\n"
"# (as _logship_kind says) that start with CUR.\n"
"_logship_reply()\n"
"{\n"
"\tlocal cur=$2\n"
"\tCOMPREPLY=()\n"
"\tcase $1 in\n"
"\tfile|pattern-file)\n"
"\t\tcompopt -o filenames 2>/dev/null\n"
"\t\tmapfile -t COMPREPLY < <(compgen -f -- \"$cur\") ;;\n"
"\tdir)\n"
"\t\tcompopt -o filenames 2>/dev/null\n"
"\t\tmapfile -t COMPREPLY < <(compgen -d -- \"$cur\") ;;\n"
"\tformat) mapfile -t COMPREPLY < <(compgen -W \"auto $(_logship_names format)\" -- \"$cur\") ;;\n"
"\twords:*) mapfile -t COMPREPLY < <(compgen -W \"${1#words:}\" -- \"$cur\") ;;\n"
"\tesac\n"
"\tcase $1 in\n"
"\tpattern|pattern-file)\n"
"\t\tmapfile -t -O \"${#COMPREPLY[@]}\" COMPREPLY < <(compgen -W \"$(_logship_names)\" -- \"$cur\") ;;\n"
"\tesac\n"
"}\n\n"
"_logship()\n"
"{\n"
"\tlocal cur=${COMP_WORDS[COMP_CWORD]} sub= first= opt= w i n=0 operands_only=\n"
"\tlocal _logship_kind\n"
"\tCOMPREPLY=()\n"
"\t# with '=' in COMP_WORDBREAKS, --format=ng arrives as --format, =, ng\n"
"\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
"\t\tw=${COMP_WORDS[i]}\n"
"\t\tif [ -z \"$sub\" ]; then\n"
"\t\t\tcase $w in -*) ;; *) sub=$w ;; esac\n"
"\t\t\tcontinue\n"
"\t\tfi\n"
"\t\tif [ -z \"$operands_only\" ]; then\n"
"\t\t\tcase $w in\n"
"\t\t\t--) operands_only=1; continue ;;\n"
"\t\t\t--*=*) continue ;;\n"
"\t\t\t-?*)\n"
"\t\t\t\tif _logship_arg \"$sub\" \"$w\"; then\n"
"\t\t\t\t\t[ \"${COMP_WORDS[i + 1]-}\" != = ] || i=$((i + 1))\n"
"\t\t\t\t\t[ $((i + 1)) -lt \"$COMP_CWORD\" ] || opt=$w\n"
"\t\t\t\t\ti=$((i + 1))\n"
"\t\t\t\tfi\n"
"\t\t\t\tcontinue ;;\n"
"\t\t\tesac\n"
"\t\tfi\n"
"\t\t[ \"$n\" != 0 ] || first=$w\n"
"\t\tn=$((n + 1))\n"
"\tdone\n"
"\tif [ -z \"$sub\" ]; then\n"
"\t\tcase $cur in\n"
"\t\t-*) _logship_reply 'words:--help --version' \"$cur\" ;;\n"
"\t\t*) _logship_operand help 0; _logship_reply \"$_logship_kind help\" \"$cur\" ;;\n"
"\t\tesac\n"
"\t\treturn 0\n"
"\tfi\n"
"\tif [ -n \"$opt\" ]; then\n"
"\t\t[ \"$cur\" != = ] || cur=\n"
"\t\t_logship_arg \"$sub\" \"$opt\"\n"
"\t\t_logship_reply \"$_logship_kind\" \"$cur\"\n"
"\t\treturn 0\n"
"\tfi\n"
"\tif [ -z \"$operands_only\" ]; then\n"
"\t\tcase $cur in\n"
"\t\t--*=*)\n"
"\t\t\t# '=' is not a word break here: complete after it, keep the option\n"
"\t\t\t_logship_arg \"$sub\" \"${cur%%=*}\" || return 0\n"
"\t\t\t_logship_reply \"$_logship_kind\" \"${cur#*=}\"\n"
"\t\t\t[ ${#COMPREPLY[@]} = 0 ] || COMPREPLY=(\"${COMPREPLY[@]/#/${cur%%=*}=}\")\n"
"\t\t\treturn 0 ;;\n"
"\t\t-*)\n"
"\t\t\t_logship_options \"$sub\"\n"
"\t\t\t_logship_reply \"words:$_logship_kind\" \"$cur\"\n"
"\t\t\treturn 0 ;;\n"
"\t\tesac\n"
"\tfi\n"
"\t_logship_operand \"$sub\" \"$n\" \"$first\"\n"
"\t_logship_reply \"$_logship_kind\" \"$cur\"\n"
"}\n\n"
"complete -F _logship logship\n");
}

/* ---- zsh -------------------------------------------------------------- */

/* The _arguments action for a kind (after "MESSAGE:"). */
static void zsh_action(struct arg_spec spec)
{
	switch (spec.kind) {
	case ARG_FILE: printf("_files"); break;
	case ARG_DIR: printf("_files -/"); break;
	case ARG_WORDS: printf("(%s)", spec.words); break;
	case ARG_FORMAT: printf("_logship_formats"); break;
	case ARG_PATTERN: printf("_logship_patterns"); break;
	case ARG_PATTERN_FILE: printf("_logship_patterns_or_files"); break;
	default: printf(" "); break;
	}
}

/* One _arguments spec per option: "(-f --format)"{-f+,--format=}"[...]:NAME:action". */
static void zsh_option_spec(const struct ls_opt *o)
{
	const char *star = repeatable(o) ? "*" : "";

	printf("\t\t\t\t");
	if (has_short(o) && *star)
		printf("'*'{-%c%s,--%s%s}'", o->key, o->has_arg ? "+" : "", o->name,
		       o->has_arg ? "=" : "");
	else if (has_short(o))
		printf("'(-%c --%s)'{-%c%s,--%s%s}'", o->key, o->name, o->key,
		       o->has_arg ? "+" : "", o->name, o->has_arg ? "=" : "");
	else
		printf("'%s--%s%s", star, o->name, o->has_arg ? "=" : "");
	printf("[");
	put_zsh_text(o->help);
	printf("]");
	if (o->has_arg) {
		printf(":");
		put_zsh_text(o->arg ? o->arg : "ARG");
		printf(":");
		zsh_action(option_arg(o));
	}
	printf("' \\\n");
}

static void gen_zsh(void)
{
	struct ls_subcommand_info sc;

	printf("%s",
"#compdef logship\n"
"# zsh completion for logship, generated by `logship completion zsh` from the\n"
"# option tables in cmd/; run `make completions` rather than editing it.\n\n"
"# The names `logship patterns list --names` prints ($1: format, rule or\n"
"# threshold; none: every kind), with the command line's --patterns DIR.\n"
"_logship_names() {\n"
"\tlocal dir=${(Q)opt_args[--patterns]}\n"
"\t[[ $dir != '~/'* ]] || dir=$HOME/${dir#\\~/}\n"
"\t_call_program names ${_logship_cmd:-logship} patterns list --names \\\n"
"\t\t${1:+--kind $1} ${dir:+--patterns ${(q)dir}} 2>/dev/null\n"
"}\n\n"
"_logship_formats() {\n"
"\tlocal -a names expl\n"
"\tnames=(auto ${(f)\"$(_logship_names format)\"})\n"
"\t_wanted formats expl 'log format' compadd -a names\n"
"}\n\n"
"_logship_patterns() {\n"
"\tlocal -a names expl\n"
"\tnames=(${(f)\"$(_logship_names)\"})\n"
"\t_wanted patterns expl 'pattern' compadd -a names\n"
"}\n\n"
"_logship_patterns_or_files() {\n"
"\t_alternative 'patterns:pattern:_logship_patterns' 'files:file:_files'\n"
"}\n\n");

	/* the second operand of a command with verbs: by the verb ($line[1]) */
	for (size_t i = 0; i < NELEM(operand_specs); i++) {
		const struct operand_spec *os = &operand_specs[i];
		if (!os->verbs)
			continue;
		printf("_logship_%s_operand() {\n\tcase $line[1] in\n", os->sub);
		for (size_t v = 0; v < NELEM(os->second) && os->second[v].verb; v++) {
			printf("\t%s) ", os->second[v].verb);
			zsh_action((struct arg_spec){os->second[v].kind, NULL});
			printf(" ;;\n");
		}
		printf("\tesac\n}\n\n");
	}

	printf("_logship() {\n"
	       "\tlocal curcontext=$curcontext state state_descr line ret=1\n"
	       "\tlocal _logship_cmd=${(Q)words[1]}\n"
	       "\ttypeset -A opt_args\n"
	       "\tlocal -a subcommands with_help\n"
	       "\tsubcommands=(\n");
	for (int i = 0; ls_subcommand_at(i, &sc) == 0; i++) {
		printf("\t\t'%s:", sc.name);
		put_sq(sc.summary);
		printf("'\n");
	}
	printf("\t)\n\twith_help=($subcommands 'help:show a command'\\''s options')\n"
	       "\t[[ $_logship_cmd != '~/'* ]] || _logship_cmd=$HOME/${_logship_cmd#\\~/}\n\n"
	       "\t_arguments -C \\\n"
	       "\t\t'(- *)'{-h,--help}'[list the commands]' \\\n"
	       "\t\t'(- *)'{-V,--version}'[print the version]' \\\n"
	       "\t\t'1:command:->command' \\\n"
	       "\t\t'*::argument:->argument' && ret=0\n\n"
	       "\tcase $state in\n"
	       "\tcommand)\n"
	       "\t\t_describe -t commands 'logship command' with_help && ret=0 ;;\n"
	       "\targument)\n"
	       "\t\tcurcontext=${curcontext%%:*:*}:logship-$words[1]:\n"
	       "\t\tcase $words[1] in\n"
	       "\t\thelp)\n"
	       "\t\t\t(( CURRENT != 2 )) || _describe -t commands 'logship command' subcommands && ret=0 ;;\n");
	for (int i = 0; ls_subcommand_at(i, &sc) == 0; i++) {
		const struct operand_spec *os = operands_of(sc.name);
		printf("\t\t%s)\n\t\t\t_arguments -s -S \\\n", sc.name);
		for (const struct ls_opt *o = sc.options; o->name; o++)
			zsh_option_spec(o);
		if (os && os->verbs)
			printf("\t\t\t\t'1:verb:(%s)' \\\n\t\t\t\t'2:name:_logship_%s_operand' \\\n",
			       os->verbs, os->sub);
		else if (os && os->every != ARG_TEXT) {
			printf("\t\t\t\t'*:%s:", os->every == ARG_DIR ? "directory" : "file");
			zsh_action((struct arg_spec){os->every, NULL});
			printf("' \\\n");
		}
		printf("\t\t\t\t&& ret=0 ;;\n");
	}
	printf("\t\tesac ;;\n\tesac\n\treturn ret\n}\n\n"
	       "if [[ $zsh_eval_context[-1] == loadautofunc ]]; then\n"
	       "\t_logship \"$@\"\n"
	       "else\n"
	       "\tcompdef _logship logship\n"
	       "fi\n");
}

/* ---- fish ------------------------------------------------------------- */

static void fish_option(const char *sub, const struct ls_opt *o)
{
	struct arg_spec spec;

	printf("complete -c logship -n '__logship_sub_is %s'", sub);
	if (has_short(o))
		printf(" -s %c", o->key);
	printf(" -l %s", o->name);
	if (o->has_arg) {
		spec = option_arg(o);
		switch (spec.kind) {
		case ARG_FILE: printf(" -r -F"); break;
		case ARG_DIR: printf(" -x -a '(__fish_complete_directories (commandline -ct) \"\")'"); break;
		case ARG_WORDS: printf(" -x -a '%s'", spec.words); break;
		case ARG_FORMAT: printf(" -x -a '(__logship_formats)'"); break;
		case ARG_PATTERN: printf(" -x -a '(__logship_names)'"); break;
		case ARG_PATTERN_FILE: printf(" -r -F -a '(__logship_names)'"); break;
		default: printf(" -x"); break;
		}
	}
	printf(" -d '");
	put_fish_sq(o->help);
	printf("'\n");
}

/* Completions of operands: kind for a condition already written. */
static void fish_operand(const char *cond, enum arg_kind kind)
{
	switch (kind) {
	case ARG_FILE: printf("complete -c logship -n '%s' -F\n", cond); break;
	case ARG_DIR:
		printf("complete -c logship -n '%s' -a '(__fish_complete_directories (commandline -ct) \"\")'\n", cond);
		break;
	case ARG_FORMAT: printf("complete -c logship -n '%s' -a '(__logship_formats)'\n", cond); break;
	case ARG_PATTERN: printf("complete -c logship -n '%s' -a '(__logship_names)'\n", cond); break;
	case ARG_PATTERN_FILE:
		printf("complete -c logship -n '%s' -F -a '(__logship_names)'\n", cond);
		break;
	default: break;
	}
}

static void gen_fish(void)
{
	struct ls_subcommand_info sc;
	char cond[128];

	printf("%s",
"# fish completion for logship, generated by `logship completion fish` from\n"
"# the option tables in cmd/; run `make completions` rather than editing it.\n\n"
"# The subcommand on the command line: the first word not an option.\n"
"function __logship_sub\n"
"\tset -l words (commandline -opc)\n"
"\tset -e words[1]\n"
"\tfor w in $words\n"
"\t\tif not string match -q -- '-*' $w\n"
"\t\t\techo $w\n"
"\t\t\treturn 0\n"
"\t\tend\n"
"\tend\n"
"\treturn 1\n"
"end\n\n"
"function __logship_sub_is\n"
"\tset -l sub (__logship_sub)\n"
"\ttest \"$sub\" = \"$argv[1]\"\n"
"end\n\n"
"# Succeeds when option $argv[2] of subcommand $argv[1] takes an argument.\n"
"function __logship_takes_arg\n"
"\tswitch $argv[1]\n");
	for (int i = 0; ls_subcommand_at(i, &sc) == 0; i++) {
		printf("\t\tcase %s\n\t\t\tcontains -- $argv[2]", sc.name);
		for (const struct ls_opt *o = sc.options; o->name; o++) {
			if (!o->has_arg)
				continue;
			if (has_short(o))
				printf(" -%c", o->key);
			printf(" --%s", o->name);
		}
		printf("\n");
	}
	printf("%s",
"\t\tcase '*'\n"
"\t\t\treturn 1\n"
"\tend\n"
"end\n\n"
"# The operands after the subcommand, its options and their arguments left out.\n"
"function __logship_operands\n"
"\tset -l words (commandline -opc)\n"
"\tset -e words[1]\n"
"\tset -l sub\n"
"\tset -l skip 0\n"
"\tset -l operands_only 0\n"
"\tfor w in $words\n"
"\t\tif test -z \"$sub\"\n"
"\t\t\tstring match -q -- '-*' $w; or set sub $w\n"
"\t\telse if test $skip = 1\n"
"\t\t\tset skip 0\n"
"\t\telse if test $operands_only = 0; and test \"$w\" = --\n"
"\t\t\tset operands_only 1\n"
"\t\telse if test $operands_only = 0; and string match -q -- '-?*' $w\n"
"\t\t\t__logship_takes_arg $sub $w; and set skip 1\n"
"\t\telse\n"
"\t\t\techo $w\n"
"\t\tend\n"
"\tend\n"
"end\n\n"
"# Succeeds when the operands so far are exactly $argv.\n"
"function __logship_operands_are\n"
"\tset -l operands (__logship_operands)\n"
"\ttest \"$operands\" = \"$argv\"\n"
"end\n\n"
"# The names `logship patterns list --names` prints ($argv[1]: format, rule\n"
"# or threshold; none: every kind), with the command line's --patterns DIR.\n"
"function __logship_names\n"
"\tset -l words (commandline -opc)\n"
"\tset -l args patterns list --names\n"
"\tset -q argv[1]; and set -a args --kind $argv[1]\n"
"\tset -l i (contains -i -- --patterns $words)\n"
"\tand set -q words[(math $i + 1)]\n"
"\tand set -a args --patterns $words[(math $i + 1)]\n"
"\tfor w in (string replace -f -r -- '^--patterns=' '' $words)\n"
"\t\tset -a args --patterns $w\n"
"\tend\n"
"\t$words[1] $args 2>/dev/null\n"
"end\n\n"
"function __logship_formats\n"
"\techo auto\n"
"\t__logship_names format\n"
"end\n\n"
"# files only where a file is expected\n"
"complete -c logship -f\n"
"complete -c logship -n 'not __logship_sub' -s h -l help -d 'list the commands'\n"
"complete -c logship -n 'not __logship_sub' -s V -l version -d 'print the version'\n");
	for (int i = 0; ls_subcommand_at(i, &sc) == 0; i++) {
		printf("complete -c logship -n 'not __logship_sub' -a %s -d '", sc.name);
		put_fish_sq(sc.summary);
		printf("'\n");
	}
	printf("complete -c logship -n 'not __logship_sub' -a help -d 'show a command\\'s options'\n");
	printf("complete -c logship -n '__logship_sub_is help; and __logship_operands_are' -a '");
	for (int i = 0; ls_subcommand_at(i, &sc) == 0; i++)
		printf("%s%s", i ? " " : "", sc.name);
	printf("'\n");
	for (int i = 0; ls_subcommand_at(i, &sc) == 0; i++) {
		const struct operand_spec *os = operands_of(sc.name);
		printf("\n# %s\n", sc.name);
		for (const struct ls_opt *o = sc.options; o->name; o++)
			fish_option(sc.name, o);
		if (!os)
			continue;
		if (!os->verbs) {
			snprintf(cond, sizeof(cond), "__logship_sub_is %s", sc.name);
			fish_operand(cond, os->every);
			continue;
		}
		printf("complete -c logship -n '__logship_sub_is %s; and __logship_operands_are' -a '%s'\n",
		       sc.name, os->verbs);
		for (size_t v = 0; v < NELEM(os->second) && os->second[v].verb; v++) {
			snprintf(cond, sizeof(cond), "__logship_sub_is %s; and __logship_operands_are %s",
				 sc.name, os->second[v].verb);
			fish_operand(cond, os->second[v].kind);
		}
	}
}

/* ---- the command ------------------------------------------------------ */

static const struct ls_opt completion_opts[] = {
	{"help", 'h', 0, NULL, "show this help"},
	{NULL, 0, 0, NULL, NULL}
};

static int handle_opt(void *ctx, int key, const char *arg)
{
	(void)arg;
	if (key != 'h')
		return -2;
	*(int *)ctx = 1;
	return 0;
}

void cmd_completion_help(void)
{
	ls_opts_help("logship completion bash|zsh|fish",
		     "Prints the completion script for the shell, made from the commands'\n"
		     "option tables (`make completions` writes them to completions/).",
		     completion_opts);
}

int cmd_completion(int argc, char **argv)
{
	int help = 0, first;
	const char *shell;

	if (ls_opts_parse("completion", completion_opts, argc, argv, handle_opt, &help, &first) < 0)
		return 2;
	if (help) {
		cmd_completion_help();
		return 0;
	}
	if (first + 1 != argc) {
		ls_die_msg("completion", "expected one shell: bash, zsh or fish");
		return 2;
	}
	shell = argv[first];
	if (strcmp(shell, "bash") == 0)
		gen_bash();
	else if (strcmp(shell, "zsh") == 0)
		gen_zsh();
	else if (strcmp(shell, "fish") == 0)
		gen_fish();
	else {
		ls_die_msg("completion", "unknown shell '%s' (bash, zsh, fish)", shell);
		return 2;
	}
	/* main() checks that the script reached stdout */
	return 0;
}
