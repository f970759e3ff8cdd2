// Package apps delivers events to Slack apps: it serves Socket Mode
// connections (/apps/socket/<ticket>, from apps.connections.open) and
// posts to Events API request URLs, on the node that hosts each app
// (cluster.AppHosts: one node per app, so that each event goes to one of
// the app's connections).
//
// An app's events come from the durable logs of the channels its bot
// user is a member of: one dispatcher goroutine per hosted app reads
// each channel's log from the app's position (kept in the store, per
// channel), turns entries into events, hands each to one connection and
// redelivers what is not acknowledged in time. The position moves past
// an entry once its events are acknowledged (or given up after the
// retries), so an app that was away receives what it missed, in order.
//
// It must not import another role; the admin role issues the tickets
// (rtm.Ticket, with the app's id as the user) it checks.
package apps
