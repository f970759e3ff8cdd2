package admin

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/ringcast/ringcast/metrics"
)

// calls counts the Web API's calls by method and error
// (ringcast_api_calls_total; a name that is no method is counted as
// "unknown", so that a caller cannot make up label values) and the calls
// each limit refused (ringcast_api_refused_total).
type calls struct {
	vec     *prometheus.CounterVec
	methods map[string]method
	refused map[string]prometheus.Counter // by limit, resolved once
}

// The limits a Web API call is refused by (the limit label of
// ringcast_api_refused_total): the rate tiers, rtm.connect, messages
// posted, channels created (each per user), apps.connections.open (per
// app; all of these answer ratelimited), a request body
// over maxBody (request_too_large), a response over --max-response
// (response_too_large).
const (
	limitTier2           = "tier2"
	limitTier3           = "tier3"
	limitTier4           = "tier4"
	limitRTMConnect      = "rtm_connect"
	limitMessages        = "messages"
	limitChannelsCreated = "channels_created"
	limitAppsConnect     = "apps_connect"
	limitRequestBody     = "request_body"
	limitResponse        = "response_size"
)

// tierLimits names each rate tier's limit.
var tierLimits = [tier4 + 1]string{tier2: limitTier2, tier3: limitTier3, tier4: limitTier4}

func newCalls(r prometheus.Registerer, methods map[string]method) *calls {
	c := &calls{methods: methods, vec: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: metrics.Name("api", "calls_total"),
		Help: "Web API calls, by method and Slack error (\"\" for ok:true).",
	}, []string{"method", "error"}), refused: map[string]prometheus.Counter{}}
	refused := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: metrics.Name("api", "refused_total"),
		Help: "Web API calls refused by a limit: rate tiers, rtm.connect, messages, channels created, apps.connections.open (ratelimited), request body (request_too_large), response size (response_too_large).",
	}, []string{"limit"})
	for _, l := range []string{limitTier2, limitTier3, limitTier4, limitRTMConnect, limitMessages,
		limitChannelsCreated, limitAppsConnect, limitRequestBody, limitResponse} {
		c.refused[l] = refused.WithLabelValues(l)
	}
	r.MustRegister(c.vec, refused)
	return c
}

// refuse counts a call refused by limit l.
func (c *calls) refuse(l string) {
	if c != nil {
		c.refused[l].Inc()
	}
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
