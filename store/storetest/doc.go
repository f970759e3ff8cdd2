// Package storetest is the conformance suite for store.Store
// implementations: every implementation's tests call Run.
package storetest
