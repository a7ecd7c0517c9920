/*
 * s6_errors.h — the one error-code family of S6.
 *
 * Every S6 function that can fail returns 0 or one negative code from here;
 * the detail (which field, which key, what the peer said) travels in the
 * caller's err buffer or the log, never in the code.  s6_strerror() names
 * every code, and also any -errno value a system call or libuv handed up.
 *
 * The codes for conditions errno already names have errno's value (Linux),
 * so `return -EINVAL;` and `return S6_EINVAL;` are the same code; errors.c
 * checks each pairing at compile time.  Conditions errno has no word for
 * sit below -1000, far from any errno value.  The block between the markers
 * is copied into lua/s6/cdef.lua, so it holds literals only.
 */
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

/* S6_FFI_BEGIN */
enum {
    S6_OK = 0,
    /* errno's own values */
    S6_EINVAL = -22,      /* an argument or input is invalid; err names it */
    S6_ENOMEM = -12,      /* out of memory */
    S6_ERANGE = -34,      /* a result or value does not fit (buffer, exponent) */
    S6_EBUSY = -16,       /* busy: a move in flight, a database locked */
    S6_ENOTFOUND = -2,    /* the record or object does not exist */
    S6_EIO = -5,          /* I/O, network or protocol failure */
    S6_ETIMEDOUT = -110,  /* the request passed its deadline */
    S6_ECANCELED = -125,  /* closed with the request in flight */
    /* S6's own */
    S6_ESHORT = -1001,        /* a series is too short for the period */
    S6_ENOTREADY = -1002,     /* an incremental indicator has not warmed up */
    S6_ECLOSED = -1003,       /* the object is closed or closing */
    S6_EURL = -1004,          /* a URL is malformed */
    S6_ECONNECT = -1005,      /* the connection failed or timed out */
    S6_EDISCONNECTED = -1006, /* the connection dropped with the request in flight */
    S6_EDOWN = -1007,         /* not connected; waiting to reconnect */
    S6_EREPLY = -1008,        /* Redis answered with an error reply */
    S6_EREDIS = -1009,        /* the Redis client refused or failed the command */
    S6_ECONFLICT = -1010,     /* a finished record cannot change */
    S6_ECONSTRAINT = -1011,   /* the store refused a constraint */
    S6_EFULL = -1012,         /* disk or quota full */
    S6_ECORRUPT = -1013       /* the file is not a store / unknown schema */
};

/* A message for every code above and for -errno values; "unknown error"
 * for anything else.  Never NULL; the string is static. */
const char *s6_strerror(int code);
/* S6_FFI_END */

#ifdef __cplusplus
}
#endif
