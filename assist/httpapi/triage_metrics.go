package httpapi

import (
	"sync"

	"amtsassist/assist"
	"amtsassist/assist/triage"

	"github.com/prometheus/client_golang/prometheus"
)

// maxDeskLabels bounds the desk label's values: desks come from requests,
// and an unbounded label would let clients grow the metrics without limit.
// Desks past the bound are counted as "other".
const maxDeskLabels = 200

// triageMetrics counts suggestions and feedback. The share of accepted
// suggestions is exported twice: as verdicts in the feedback counter, for
// rates over any window in PromQL, and as a ratio gauge since the start of
// the process, for dashboards without PromQL.
type triageMetrics struct {
	suggestions *prometheus.CounterVec
	feedback    *prometheus.CounterVec
	acceptance  *prometheus.GaugeVec

	mu     sync.Mutex
	desks  map[string]bool
	counts map[[2]string]*[2]int // (desk, field) → accepted, total
}

func newTriageMetrics(reg prometheus.Registerer) (*triageMetrics, error) {
	m := &triageMetrics{
		suggestions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Subsystem: "triage", Name: "suggestions_total",
			Help: "Triage suggestions returned, per service desk.",
		}, []string{"desk"}),
		feedback: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Subsystem: "triage", Name: "feedback_total",
			Help: `Agents' verdicts on suggestions: field category or priority with verdict accepted or corrected; field answer with verdict used, edited or rejected.`,
		}, []string{"desk", "field", "verdict"}),
		acceptance: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: metricsNamespace, Subsystem: "triage", Name: "acceptance_ratio",
			Help: "Share of suggestions agents accepted (category, priority) or used as is (answer) since the process started, per desk and field.",
		}, []string{"desk", "field"}),
		desks:  map[string]bool{},
		counts: map[[2]string]*[2]int{},
	}
	for _, c := range []prometheus.Collector{m.suggestions, m.feedback, m.acceptance} {
		if err := reg.Register(c); err != nil {
			return nil, assist.E(assist.Conflict, "register triage metrics", err)
		}
	}
	return m, nil
}

// desk returns the label value for d, "other" once the bound is reached.
func (m *triageMetrics) desk(d string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.desks[d] {
		return d
	}
	if len(m.desks) >= maxDeskLabels {
		return "other"
	}
	m.desks[d] = true
	return d
}

func (m *triageMetrics) suggested(desk string) {
	m.suggestions.WithLabelValues(m.desk(desk)).Inc()
}

// fedBack counts the verdicts a feedback record holds. A label field
// counts when the agent named a label or accepted the suggestion; the
// answer when a verdict was given.
func (m *triageMetrics) fedBack(fb triage.Feedback) {
	desk := m.desk(fb.Desk)
	label := func(field, value string, accepted bool) {
		if value == "" && !accepted {
			return
		}
		verdict := "corrected"
		if accepted {
			verdict = "accepted"
		}
		m.count(desk, field, verdict, accepted)
	}
	label("category", fb.Category, fb.CategoryAccepted)
	label("priority", fb.Priority, fb.PriorityAccepted)
	if fb.Answer != "" {
		m.count(desk, "answer", fb.Answer, fb.Answer == "used")
	}
}

func (m *triageMetrics) count(desk, field, verdict string, accepted bool) {
	m.feedback.WithLabelValues(desk, field, verdict).Inc()
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.counts[[2]string{desk, field}]
	if c == nil {
		c = &[2]int{}
		m.counts[[2]string{desk, field}] = c
	}
	if accepted {
		c[0]++
	}
	c[1]++
	m.acceptance.WithLabelValues(desk, field).Set(float64(c[0]) / float64(c[1]))
}
