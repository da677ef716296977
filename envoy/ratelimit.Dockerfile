# envoyproxy/ratelimit for fleet mode, built from source at a pinned module version: the project
# publishes images only under commit tags, and a Go module version can be checked against the module
# proxy (`go list -m github.com/envoyproxy/ratelimit@VERSION`). Bump RATELIMIT_VERSION to upgrade.
ARG RATELIMIT_VERSION=v1.4.1-0.20260122083618-3fb702589d36

FROM golang:1.26.8 AS build
ARG RATELIMIT_VERSION
RUN CGO_ENABLED=0 go install -trimpath github.com/envoyproxy/ratelimit/src/service_cmd@${RATELIMIT_VERSION}
# The health check: distroless has no shell or curl (docker-compose.yml runs it).
COPY envoy/probe/main.go /src/probe/main.go
RUN cd /src/probe && CGO_ENABLED=0 go build -trimpath -o /go/bin/probe main.go

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /go/bin/service_cmd /usr/local/bin/ratelimit
COPY --from=build /go/bin/probe /usr/local/bin/probe
# 8080 HTTP (/json, /healthcheck), 8081 gRPC (Envoy's rate limit service), 6070 debug, 9090 metrics.
EXPOSE 8080 8081 6070 9090
ENTRYPOINT ["/usr/local/bin/ratelimit"]
