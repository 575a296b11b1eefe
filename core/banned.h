/*
 * banned: libc calls that Berth must not use, turned into compile errors
 * (after git's banned.h). Each has a bounded or buf-based replacement:
 * buf_add*() or snprintf() for building strings, strtoul/strtoull with an
 * end pointer for numbers. Every .c file includes it after all other
 * headers (the system headers declare these names, which the macros would
 * break); `make check-banned` fails when a .c file forgets it.
 */
#ifndef BERTH_BANNED_H
#define BERTH_BANNED_H

#define BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) BANNED(strncat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef gets
#define gets(x) BANNED(gets)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef atoi
#define atoi(x) BANNED(atoi)
#undef atol
#define atol(x) BANNED(atol)

#endif
