/*
 * uuid: random (version 4) UUIDs, the form registry:2 gives upload
 * sessions and notification events, from OpenSSL's RAND_bytes.
 *
 * Contract: uuid_new() writes 36 characters and a NUL into out, or, when
 * the random number generator fails, answers ERR_INTERNAL and leaves out
 * unset. Nothing else is kept between calls.
 */
#ifndef BERTH_UUID_H
#define BERTH_UUID_H

#include "err.h"

#define UUID_LEN 36

int uuid_new(char out[UUID_LEN + 1], struct err *e);

#endif
