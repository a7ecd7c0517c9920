/*
 * arango_fake.h — an in-memory stand-in for the part of ArangoDB's HTTP API
 * the store uses, so the store contract suite can run against the ArangoDB
 * backend.  It is NOT ArangoDB: it answers as ArangoDB's documentation
 * describes (status codes, errorNum, "new", _rev, If-Match, cursor
 * batches) and refuses anything else — an unknown path, collection, AQL
 * text or a missing Authorization header — with 400/401/404, so a changed
 * call shows up as a failed test.
 */
#pragma once

#include <uv.h>

typedef struct arango_fake arango_fake;

/* Listens on 127.0.0.1 (free port) for database `db`; `auth` is the
 * Authorization value every request must carry.  Cursors answer at most
 * `batch_cap` documents per round trip (ArangoDB may send fewer than
 * batchSize), so paging is exercised. */
int arango_fake_new(arango_fake **out, uv_loop_t *loop, const char *db,
                    const char *auth, unsigned batch_cap);
int arango_fake_port(const arango_fake *f);
/* Shuts the server down (runs the loop until closed) and frees. */
void arango_fake_free(arango_fake *f);
