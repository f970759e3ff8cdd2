// Package appevent is the wire of Slack apps: the event_callback payload
// an app receives, the Socket Mode frames around it (hello, events_api
// envelopes, acks, disconnect), and the Events API's request signing and
// url_verification. It encodes and checks; it holds no state and knows
// no store or role.
package appevent
