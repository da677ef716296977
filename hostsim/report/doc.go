// Package report turns the filter's call records (docs/CALL-RECORD.md) into a usage report:
// totals, percentiles and time series per tenant, model and provider, trend findings in words,
// a terminal summary, JSON, and a self-contained HTML page with charts.
//
// Input is streamed: Scan reads JSON lines or log lines that carry a record (Envoy's wasm log,
// the dev gateway's log), plain or gzip, one line at a time, and an Aggregator keeps only bounded
// state — quantile sketches with a fixed number of bins, at most maxBuckets time buckets (the
// bucket width grows from a minute to a week as the span grows), and capped tables of values —
// so hundreds of megabytes of records take the same memory as a few.
//
// It is not a log store: the records themselves are not kept.
package report
