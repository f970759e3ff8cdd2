package admin

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/ringcast/ringcast/metrics"
)

// calls counts the Web API's calls by method and error
// (ringcast_api_calls_total). A name that is no method is counted as
// "unknown", so that a caller cannot make up label values.
type calls struct {
	vec     *prometheus.CounterVec
	methods map[string]method
}

func newCalls(r prometheus.Registerer, methods map[string]method) *calls {
	c := &calls{methods: methods, vec: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: metrics.Name("api", "calls_total"),
		Help: "Web API calls, by method and Slack error (\"\" for ok:true).",
	}, []string{"method", "error"})}
	r.MustRegister(c.vec)
	return c
}

// count counts one call of method name that ended with error code ("":
// ok).
func (c *calls) count(name, code string) {
	if c == nil {
		return
	}
	if _, ok := c.methods[name]; !ok {
		name = "unknown"
	}
	c.vec.WithLabelValues(name, code).Inc()
}
