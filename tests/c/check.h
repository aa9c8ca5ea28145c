/* Checks shared by the C hosts: stop at the first failure, saying where. */
#ifndef AMIO_TEST_CHECK_H
#define AMIO_TEST_CHECK_H

#include <amio.h>
#include <stdio.h>
#include <stdlib.h>

/* The call must return AMIO_OK. */
#define CHECK(call)                                                              \
    do {                                                                         \
        amio_status s_ = (call);                                                 \
        if (s_ != AMIO_OK) {                                                     \
            fprintf(stderr, "%s:%d: %s -> %s: %s\n", __FILE__, __LINE__, #call,   \
                    amio_status_name(s_), amio_last_error());                    \
            exit(1);                                                             \
        }                                                                        \
    } while (0)

/* The condition must hold. */
#define EXPECT(cond)                                                             \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond);   \
            exit(1);                                                             \
        }                                                                        \
    } while (0)

#endif
