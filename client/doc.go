// Package client is a small Go client for ringcast's public interfaces:
// the Slack-shaped Web API and the RTM websocket. The load tool and the
// multi-node tests drive clusters through it, exactly as an application
// would, never through internals.
package client
