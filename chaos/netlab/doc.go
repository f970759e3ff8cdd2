// Package netlab builds test hosts on one machine: each host a Linux
// network namespace with its own IP, joined by veth pairs to one bridge
// in the test's namespace, so processes on different hosts talk across
// a real (virtual) network that a test can cut, partition and degrade
// (nftables inside a host's namespace), and a TCP relay that delays a
// host's streams.
//
// Every namespace and link it makes carries the lab's prefix; a new lab
// first removes what a killed test left behind under that prefix, and
// t.Cleanup removes what it made. It needs root, iproute2 and nftables:
// without them Check says so (tests skip; under CI=true they fail). It
// is test support only: nothing in ringcast's binary imports it.
package netlab
