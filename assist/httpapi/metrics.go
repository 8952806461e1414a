package httpapi

import (
	"context"
	"log/slog"
	"time"

	"amtsassist/assist"
	"amtsassist/ingest"
	"amtsassist/rag"

	"github.com/prometheus/client_golang/prometheus"
)

const metricsNamespace = "amtsassist"

// statsTimeout bounds the Index.Stats call a scrape makes, so that a stuck
// index cannot hang the scraper.
const statsTimeout = 5 * time.Second

// latencyBuckets reach minutes because ingest requests embed whole documents.
var latencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}

type metrics struct {
	requestDuration *prometheus.HistogramVec
	ingestDocuments *prometheus.CounterVec
	ingestChunks    *prometheus.CounterVec
	ingestFailed    *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, index rag.Index, log *slog.Logger) (*metrics, error) {
	m := &metrics{
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: metricsNamespace, Subsystem: "http", Name: "request_duration_seconds",
			Help:    "Latency of HTTP requests by route, method and status.",
			Buckets: latencyBuckets,
		}, []string{"route", "method", "status"}),
		ingestDocuments: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Subsystem: "ingest", Name: "documents_total",
			Help: "Documents processed by ingest requests (new, changed and unchanged).",
		}, []string{"endpoint"}),
		ingestChunks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Subsystem: "ingest", Name: "chunks_total",
			Help: "Chunks written by ingest requests.",
		}, []string{"endpoint"}),
		ingestFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Subsystem: "ingest", Name: "failed_total",
			Help: "Sources (files, bodies) whose ingest failed.",
		}, []string{"endpoint"}),
	}
	for _, c := range []prometheus.Collector{m.requestDuration, m.ingestDocuments, m.ingestChunks, m.ingestFailed, newIndexCollector(index, log)} {
		if err := reg.Register(c); err != nil {
			return nil, assist.E(assist.Conflict, "register metrics", err)
		}
	}
	return m, nil
}

// observeIngest counts a finished ingest request. When the ingester failed
// without attributing the failure to a source (an unreachable model, say),
// every input counts as failed: none of them was indexed.
func (m *metrics) observeIngest(endpoint string, inputs int, rep ingest.Report, err error) {
	failed := rep.Failed
	if err != nil && failed == 0 {
		failed = inputs
	}
	m.ingestDocuments.WithLabelValues(endpoint).Add(float64(rep.Documents))
	m.ingestChunks.WithLabelValues(endpoint).Add(float64(rep.Chunks))
	m.ingestFailed.WithLabelValues(endpoint).Add(float64(failed))
}

// indexCollector reads Index.Stats at scrape time, so the gauges are never
// stale and nothing has to keep them up to date.
type indexCollector struct {
	index                                 rag.Index
	log                                   *slog.Logger
	up, documents, chunks, vectors, bytes *prometheus.Desc
	byCorpus                              *prometheus.Desc
}

func newIndexCollector(index rag.Index, log *slog.Logger) *indexCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(metricsNamespace, "index", name), help, labels, nil)
	}
	return &indexCollector{
		index:     index,
		log:       log,
		up:        d("up", "1 when Index.Stats succeeded during this scrape, else 0."),
		documents: d("documents", "Documents in the index."),
		chunks:    d("chunks", "Chunks in the index."),
		vectors:   d("vectors", "Chunks stored with an embedding vector."),
		bytes:     d("bytes", "On-disk size of the index in bytes (0 when unknown)."),
		byCorpus:  d("corpus_chunks", "Chunks in the index per corpus.", "corpus"),
	}
}

func (ic *indexCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{ic.up, ic.documents, ic.chunks, ic.vectors, ic.bytes, ic.byCorpus} {
		ch <- d
	}
}

func (ic *indexCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), statsTimeout)
	defer cancel()
	st, err := ic.index.Stats(ctx)
	if err != nil {
		ic.log.Warn("index stats for metrics failed", "err", err)
		ch <- prometheus.MustNewConstMetric(ic.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(ic.up, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(ic.documents, prometheus.GaugeValue, float64(st.Documents))
	ch <- prometheus.MustNewConstMetric(ic.chunks, prometheus.GaugeValue, float64(st.Chunks))
	ch <- prometheus.MustNewConstMetric(ic.vectors, prometheus.GaugeValue, float64(st.Vectors))
	ch <- prometheus.MustNewConstMetric(ic.bytes, prometheus.GaugeValue, float64(st.Bytes))
	// Every corpus is reported, zero included, so dashboards see a series
	// for an empty corpus instead of a gap.
	for _, c := range assist.Corpora {
		ch <- prometheus.MustNewConstMetric(ic.byCorpus, prometheus.GaugeValue, float64(st.ByCorpus[c]), string(c))
	}
}
