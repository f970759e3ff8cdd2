// Package bench is ringcast's load tool (`ringcast bench`, in the manner
// of `nats bench`). It drives any running cluster through its public
// interfaces only: the Web API over HTTP for provisioning and
// chat.postMessage, and RTM websockets (through package client) for
// sessions and RTM publishes. It never imports a role, the store or the
// node.
//
// It owns: provisioning of reusable bench users and run-unique channels
// and their clean-up (provision.go); sessions with bounded, retried
// connection and resume after a drop (session.go); open- and closed-loop
// publishers (publish.go); the exact account of every delivery — lost,
// duplicated, out of order (account.go); a log-linear latency histogram
// (histogram.go); the hand-written frame reader that keeps per-delivery
// work small (frame.go); /proc sampling of the server and of itself
// (proc.go); and the report (report.go).
//
// A message's text carries its channel index, its publish index and its
// intended send time, so a receiver computes one-way latency and finds
// the publish's record without decoding the frame. Delivery latency
// counts from the intended time, so an open-loop run that falls behind
// shows it (in closed loop the intended time is when the send could
// start); ack latency counts from the actual send, being the server's
// answer time.
//
// It must not: share anything between runs but the users, keep anything
// it provisioned after a run (websockets are closed, users leave the
// run's channels), or stall a reader (the server disconnects a session
// with 4096 queued frames).
package bench
