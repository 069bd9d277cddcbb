"""Database backend of the read replica aliases (`ENGINE = "wemaster.core.replica_backend"`).

PostgreSQL's backend plus what a replica needs to fail fast (docs/ARCHITECTURE.md, Read replicas):
- every wait for the server (a query, a fetch, a commit) is bounded on the client side by
  `DATABASE_REPLICA_TIMEOUT`: a frozen server (port open, no answer) cannot stall a read,
  which no server-side `statement_timeout` can promise;
- a read the replica cannot answer (no connection within the timeout, a connection lost, a
  statement cancelled) is run again on the primary within the same call, so the caller gets
  its rows; a replica whose connection failed is marked down until the background probe sees
  it answer again (`wemaster.core.replica_monitor`).
"""
