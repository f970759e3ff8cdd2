package deploy

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ringcast/ringcast/node/nodetest"
	"go.yaml.in/yaml/v3"
)

// alertRules is the shape of a Prometheus rule file, as far as the test
// reads it.
type alertRules struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// dashboard is the shape of the Grafana dashboard, as far as the test
// reads it.
type dashboard struct {
	Title  string `json:"title"`
	Panels []struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

// metricName finds the metric names in a PromQL expression (ringcast's
// and the Go and process collectors').
var metricName = regexp.MustCompile(`\b(?:ringcast|go|process)_[a-zA-Z0-9_]+`)

// TestMonitoringUsesRealMetrics: the alert rules and the dashboard parse,
// and every metric they use is one a running node exports (after a
// session and a few calls, so that labelled counters have children).
func TestMonitoringUsesRealMetrics(t *testing.T) {
	var rules alertRules
	b, err := os.ReadFile("prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&rules); err != nil {
		t.Fatalf("alerts.yml: %v", err)
	}
	exprs := map[string]string{} // where -> expression
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" || r.Expr == "" || r.Labels["severity"] == "" {
				t.Errorf("alerts.yml: rule %+v lacks an alert name, an expression or a severity", r)
			}
			exprs["alert "+r.Alert] = r.Expr
		}
	}
	var dash dashboard
	b, err = os.ReadFile("grafana/ringcast.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("ringcast.json: %v", err)
	}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			exprs["panel "+p.Title] += " " + tg.Expr
		}
	}
	if len(exprs) < 20 {
		t.Fatalf("only %d alerts and panels", len(exprs))
	}
	for where, e := range exprs {
		if strings.Count(e, "(") != strings.Count(e, ")") || strings.Count(e, "{") != strings.Count(e, "}") {
			t.Errorf("%s: unbalanced expression %q", where, e)
		}
	}

	have := exported(t)
	for where, e := range exprs {
		for _, name := range metricName.FindAllString(e, -1) {
			if !have[name] {
				t.Errorf("%s uses %s, which no node exports", where, name)
			}
		}
	}
}

// exported starts a node with every role, makes some traffic and returns
// the names of the samples its /metrics has.
func exported(t *testing.T) map[string]bool {
	c := nodetest.Start(t, nodetest.Spec{Name: "mon", Host: "127.0.50.31"})
	n := c.First()
	api, _ := c.User("watcher")
	var ch struct {
		Channel struct {
			ID string `json:"id"`
		} `json:"channel"`
	}
	nodetest.Call(t, api, "conversations.create", url.Values{"name": {"watched"}}, &ch)
	r := nodetest.Connect(t, api, "", nil)
	nodetest.Call(t, api, "chat.postMessage", url.Values{"channel": {ch.Channel.ID}, "text": {"hi"}}, nil)
	api.Call(context.Background(), "chat.postMessage", url.Values{"channel": {"CNONE"}, "text": {"x"}}, nil)
	r.Close()
	have := map[string]bool{}
	nodetest.WaitFor(t, 10*time.Second, "a disconnect counted", func() bool {
		have = map[string]bool{}
		for sample := range nodetest.Scrape(t, n) {
			have[sample[:strings.IndexAny(sample+"{", "{")]] = true
		}
		return have["ringcast_gateway_disconnects_total"]
	})
	return have
}
