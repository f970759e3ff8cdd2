// Package admin is the admin role: the stateless, Slack-shaped Web API
// under /api/. It parses Slack's argument conventions (form, JSON or
// query; bearer header or token field), answers with Slack's envelopes
// and error strings (HTTP 200 for API errors), reads directly from the
// store, and routes every write that touches a channel's sequence or
// member set to the channel's owner through cluster.Channels.
//
// It keeps no state beyond a short-lived token cache.
package admin
