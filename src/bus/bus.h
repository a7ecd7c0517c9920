/*
 * bus.h — what the Redis bus modules share: their error codes.
 *
 * The bus connects the engine to Redis (docs/contracts/order-results.md,
 * market-data.md, redis-state.md).  Every module delivers to callbacks the
 * caller gives it, so the bus never links the engine itself: the service
 * wires the callbacks to s6_engine_on_result / on_market / on_signal.
 */
#pragma once

enum {
    S6_BUS_EINVAL = -1,   /* bad input; err names the stream and the field */
    S6_BUS_ENOMEM = -2,
    S6_BUS_EREDIS = -3,   /* the Redis client refused or failed the command */
    S6_BUS_ECLOSED = -4,  /* the object is closing */
    S6_BUS_ERANGE = -5    /* a key or value does not fit its buffer */
};
