// Package limit holds the rate limits that keep one user (or one
// connection) from taking a node for themselves: per-key token buckets,
// the limit classes of users (a person's, a bot's, unlimited), and the
// Config of every limit with its safe default.
//
// It knows nothing of HTTP, websockets or the store: the Web API and the
// gateway ask a Limiter and answer with their own protocol's error
// (HTTP 429 with Retry-After, RTM error ack -1). Limits are per node: a
// user who spreads calls over N admin nodes gets up to N times a limit.
package limit
