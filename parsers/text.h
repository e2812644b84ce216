/* text.h - small text helpers shared by the layers. */
#ifndef LS_TEXT_H
#define LS_TEXT_H

/* Levenshtein distance between a and b; INT_MAX when either is longer
 * than 62 bytes (names, not texts). For "did you mean" suggestions. */
int ls_edit_distance(const char *a, const char *b);

#endif
