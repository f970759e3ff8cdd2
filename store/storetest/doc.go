// Package storetest is the conformance suite for store.Store
// implementations, the one definition of their behaviour: every
// implementation's tests call Run (the Store contract, fencing between
// two handles on one database included) and RunSchema (migrations).
package storetest
