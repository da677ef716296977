# The mock providers of `make up` (OpenAI, Azure OpenAI, Anthropic, Gemini, Ollama emulations from
# hostsim/devgateway/mockprovider), built from this repository. Build context: the repository root.
FROM golang:1.26.8 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/mockprovider ./e2e/cmd/mockprovider

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/mockprovider /usr/local/bin/mockprovider
EXPOSE 8081
ENTRYPOINT ["/usr/local/bin/mockprovider"]
