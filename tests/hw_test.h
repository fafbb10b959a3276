/* hw_test.h: the one check macro the C tests share; a failed check is counted, not fatal. */
#ifndef HASHWATCH_HW_TEST_H
#define HASHWATCH_HW_TEST_H

#include <stdint.h>
#include <stdio.h>

/* Failed checks in this test program; atomic, since some tests check from several threads. */
static _Atomic int failures;

/*
 * CHECK(cond) or CHECK(cond, fmt, ...): when cond is false, print the file, line, condition
 * and the optional printf-style detail, and count the failure. The test's main() returns
 * non-zero when failures > 0.
 */
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            fprintf(stderr, "%s:%d: FAIL %s:", __FILE__, __LINE__, #cond);                         \
            fprintf(stderr, " " __VA_ARGS__);                                                      \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

/* Marsaglia's 32-bit xorshift: the tests' reproducible pseudo-random numbers. */
static inline uint32_t t_xorshift32(uint32_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;
    return *state;
}

#endif
